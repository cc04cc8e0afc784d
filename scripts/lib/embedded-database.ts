// An embedded PostgreSQL (PGlite, in process) built from supabase/migrations/: the database
// `pnpm demo` and `pnpm codegen` use when no server is given.
import { PGlite } from "@electric-sql/pglite";
import { applyMigrations } from "../../src/local-stack/migrations.ts";

/** Opens PGlite (in memory, or in `dataDir`) and applies the migrations it has not applied yet. */
export async function openEmbeddedDatabase(options: { dataDir?: string; onApplied?: (file: string) => void } = {}): Promise<PGlite> {
  const db = await PGlite.create(options.dataDir ? { dataDir: options.dataDir } : {});
  try {
    await applyMigrations(db, options.onApplied ? { onApplied: options.onApplied } : {});
  } catch (error) {
    await db.close().catch(() => undefined);
    throw error;
  }
  return db;
}
