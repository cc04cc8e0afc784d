// Where the schema lives on disk: the HCL and idempotent SQL in schema/, the migrations in
// supabase/migrations/.
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { listMigrationFiles } from "../../src/local-stack/migrations.ts";
import { projectRoot } from "./atlas-cli.ts";

export const schemaDir = path.join(projectRoot, "schema");
export const databaseObjectsDir = path.join(schemaDir, "sql");
export const migrationsDir = path.join(projectRoot, "supabase", "migrations");

/** The migration that creates guarded stand-ins for what Supabase and the host provide. */
export const standInsMigration = "20261129000000_supabase_stand_ins.sql";

/** Migrations that carry schema/sql/ end with this; the newest one is the folder's current copy. */
export const databaseObjectsMigrationSuffix = "_database_objects.sql";

export function readStandInsSql(): string {
  return readFileSync(path.join(migrationsDir, standInsMigration), "utf8");
}

/**
 * The objects the open-source Atlas does not manage (functions, triggers, RLS, policies,
 * grants, publication membership), as one idempotent script in file-name order.
 */
export function readDatabaseObjectsSql(): string {
  const files = readdirSync(databaseObjectsDir)
    .filter((name) => name.endsWith(".sql"))
    .sort();
  const header = "-- Objects the open-source Atlas does not manage, from schema/sql/. Idempotent: safe to run again.\n";
  return header + files.map((name) => `\n-- schema/sql/${name}\n${readFileSync(path.join(databaseObjectsDir, name), "utf8")}`).join("");
}

/** Migration file names in the order Atlas applies them. */
export function listMigrations(): string[] {
  return listMigrationFiles(migrationsDir);
}
