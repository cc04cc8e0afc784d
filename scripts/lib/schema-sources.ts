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

export function readStandInsSql(): string {
  return readFileSync(path.join(migrationsDir, standInsMigration), "utf8");
}

/**
 * The objects the open-source Atlas does not manage (functions, triggers, RLS, policies, grants,
 * publication membership) as declared in schema/sql/, one script in file-name order, to run on a
 * database that has the tables and nothing else of ours.
 */
export function readDatabaseObjectsSql(): string {
  const files = readdirSync(databaseObjectsDir)
    .filter((name) => name.endsWith(".sql"))
    .sort();
  return files.map((name) => `-- schema/sql/${name}\n${readFileSync(path.join(databaseObjectsDir, name), "utf8")}`).join("\n");
}

/**
 * Supabase's default privileges in public, for objects the connected role creates: ALL on every
 * new table, sequence and function to the three API roles. Migrations are planned against a
 * database with them, so that they take away what a Supabase project would otherwise grant.
 */
export const supabaseDefaultPrivilegesSql = ["TABLES", "SEQUENCES", "FUNCTIONS"]
  .map((objects) => `ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON ${objects} TO anon, authenticated, service_role;`)
  .join("\n");

/** Migration file names in the order Atlas applies them. */
export function listMigrations(): string[] {
  return listMigrationFiles(migrationsDir);
}
