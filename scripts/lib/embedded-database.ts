// An embedded PostgreSQL (PGlite, in process) built from supabase/migrations/: the database
// `pnpm demo` and `pnpm codegen` use when no server is given.
import { readFileSync } from "node:fs";
import path from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { listMigrations, migrationsDir } from "./schema-sources.ts";

/** Opens PGlite (in memory, or in `dataDir`) and applies the migrations it has not applied yet. */
export async function openEmbeddedDatabase(options: { dataDir?: string; onApplied?: (file: string) => void } = {}): Promise<PGlite> {
  const db = await PGlite.create(options.dataDir ? { dataDir: options.dataDir } : {});
  // Atlas records applied versions in atlas_schema_revisions; the embedded database keeps its own record.
  await db.exec("CREATE SCHEMA IF NOT EXISTS embedded; CREATE TABLE IF NOT EXISTS embedded.applied_migrations (version text PRIMARY KEY)");
  const applied = new Set((await db.query<{ version: string }>("SELECT version FROM embedded.applied_migrations")).rows.map((row) => row.version));
  for (const file of listMigrations()) {
    if (applied.has(file)) continue;
    await db.transaction(async (tx) => {
      await tx.exec(readFileSync(path.join(migrationsDir, file), "utf8"));
      await tx.query("INSERT INTO embedded.applied_migrations (version) VALUES ($1)", [file]);
    });
    options.onApplied?.(file);
  }
  return db;
}
