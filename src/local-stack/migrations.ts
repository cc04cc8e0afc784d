// Applies supabase/migrations/ to an embedded PGlite or to a PostgreSQL database, each file
// once. The first migration creates guarded stand-ins for what Supabase provides (API roles,
// auth.users, auth.uid(), public.stories, the supabase_realtime publication), so this is all
// the set-up a database needs. Atlas keeps its own record (atlas_schema_revisions) when it
// migrates; this one is kept in embedded.applied_migrations.
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { PGlite } from "@electric-sql/pglite";
import { requireDeployPath } from "./deploy-ledgers.ts";
import { loadOptionalPackages } from "./optional-packages.ts";

/** supabase/migrations/, found from this file so that it does not depend on the working directory. */
export const defaultMigrationsDir = fileURLToPath(new URL("../../supabase/migrations/", import.meta.url));

export interface ApplyMigrationsOptions {
  /** Called after each file is applied and recorded, with its name. */
  onApplied?: (file: string) => void;
  /** Where the `*.sql` files are; supabase/migrations/ by default. */
  migrationsDir?: string;
}

const createRecordSql =
  "CREATE SCHEMA IF NOT EXISTS embedded; CREATE TABLE IF NOT EXISTS embedded.applied_migrations (version text PRIMARY KEY)";
const selectAppliedSql = "SELECT version FROM embedded.applied_migrations";
const recordAppliedSql = "INSERT INTO embedded.applied_migrations (version) VALUES ($1)";
// Held for the whole run on a server, so that two processes migrating one database take turns.
const lockKey = "embedded.applied_migrations";

/** A migration file that failed to apply (its transaction rolled back); `cause` is the database's error. */
export class MigrationError extends Error {
  override name = "MigrationError";
  constructor(
    readonly file: string,
    cause: unknown,
  ) {
    super(`migration ${file} failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

/** The migration files, in the order they apply (by name: they start with a timestamp). */
export function listMigrationFiles(migrationsDir = defaultMigrationsDir): string[] {
  return readdirSync(migrationsDir)
    .filter((name) => name.endsWith(".sql"))
    .sort();
}

/**
 * Applies the migrations `db` has not applied yet, each in its own transaction together with
 * its record. `db` is a PGlite instance or a PostgreSQL connection URL. Returns the files applied.
 * @example
 * const applied = await applyMigrations("postgres://postgres@127.0.0.1:5432/story_tasks_dev");
 */
export async function applyMigrations(db: PGlite | string, options: ApplyMigrationsOptions = {}): Promise<string[]> {
  if (typeof db !== "string") {
    await db.exec(createRecordSql);
    const done = (await db.query<{ version: string }>(selectAppliedSql)).rows.map((row) => row.version);
    return applyPending(done, options, (file, sql) =>
      db.transaction(async (tx) => {
        await tx.exec(sql);
        await tx.query(recordAppliedSql, [file]);
      }),
    );
  }

  const { pg } = await loadOptionalPackages("Migrating a PostgreSQL database", { pg: () => import("pg") });
  const client = new pg.default.Client({ connectionString: db });
  await client.connect();
  try {
    await client.query("SELECT pg_advisory_lock(hashtext($1))", [lockKey]);
    await requireDeployPath(client, "local-stack", "the local stack's `--migrate`");
    await client.query(createRecordSql);
    const done = (await client.query<{ version: string }>(selectAppliedSql)).rows.map((row) => row.version);
    return await applyPending(done, options, async (file, sql) => {
      await client.query("BEGIN");
      try {
        // Without parameters, pg sends the file as one simple-protocol query: every statement in it runs.
        await client.query(sql);
        await client.query(recordAppliedSql, [file]);
        await client.query("COMMIT");
      } catch (error) {
        await client.query("ROLLBACK").catch(() => undefined);
        throw error;
      }
    });
  } finally {
    // Ending the session releases the advisory lock.
    await client.end();
  }
}

async function applyPending(
  done: string[],
  options: ApplyMigrationsOptions,
  apply: (file: string, sql: string) => Promise<void>,
): Promise<string[]> {
  const dir = options.migrationsDir ?? defaultMigrationsDir;
  const skip = new Set(done);
  const applied: string[] = [];
  for (const file of listMigrationFiles(dir)) {
    if (skip.has(file)) continue;
    try {
      await apply(file, readFileSync(path.join(dir, file), "utf8"));
    } catch (error) {
      throw new MigrationError(file, error);
    }
    applied.push(file);
    options.onApplied?.(file);
  }
  return applied;
}
