// An embedded PostgreSQL (PGlite, in process) built from supabase/migrations/: the database
// `pnpm codegen` reads when no server is given. Building one (initdb in WASM, then the replay)
// takes 2.5 s, so a built data directory is kept in .tools/, keyed by a hash of the migration
// files and PGlite's version; a warm run opens a copy of it instead. Loading PGlite and opening
// that copy take 1.5 s more, so the answers the database gave codegen's queries are kept with
// it: a run that asks only those questions is answered from them without PGlite.
import type { PGlite } from "@electric-sql/pglite";
import { createHash, randomBytes } from "node:crypto";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, realpathSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { applyMigrations, defaultMigrationsDir, listMigrationFiles } from "../../src/local-stack/migrations.ts";
import { projectRoot } from "./atlas-cli.ts";
import type { Queryable } from "./catalog.ts";

/** Opens PGlite (in memory, or in `dataDir`) and applies the migrations it has not applied yet. */
export async function openEmbeddedDatabase(options: { dataDir?: string; onApplied?: (file: string) => void } = {}): Promise<PGlite> {
  const { PGlite } = await import("@electric-sql/pglite");
  const db = await PGlite.create(options.dataDir ? { dataDir: options.dataDir } : {});
  try {
    await applyMigrations(db, options.onApplied ? { onApplied: options.onApplied } : {});
  } catch (error) {
    await db.close().catch(() => undefined);
    throw error;
  }
  return db;
}

const cacheRoot = path.join(projectRoot, ".tools");
const cachePrefix = "pglite-migrated-";
// Project copies in the tests share .tools/ and each has its own migrations: keep a few.
const cachesKept = 3;

function pgliteVersion(): string {
  for (let dir = path.dirname(realpathSync(createRequire(import.meta.url).resolve("@electric-sql/pglite"))); dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const manifest = path.join(dir, "package.json");
    if (!existsSync(manifest)) continue;
    const parsed = JSON.parse(readFileSync(manifest, "utf8")) as { name?: string; version?: string };
    if (parsed.name === "@electric-sql/pglite") return parsed.version ?? "unknown";
  }
  return "unknown";
}

/** Changes when a migration file, its name, or PGlite changes. */
function cacheKey(): string {
  const hash = createHash("sha256").update(`pglite ${pgliteVersion()}\n`);
  for (const file of listMigrationFiles()) hash.update(`${file}\n`).update(readFileSync(path.join(defaultMigrationsDir, file)));
  return hash.digest("hex").slice(0, 16);
}

async function buildCache(cacheDir: string): Promise<void> {
  mkdirSync(cacheRoot, { recursive: true });
  // Built beside it and renamed into place, so a concurrent run never sees half a directory.
  const building = `${cacheDir}.building-${randomBytes(4).toString("hex")}`;
  try {
    const db = await openEmbeddedDatabase({ dataDir: building });
    await db.close();
    try {
      renameSync(building, cacheDir);
    } catch {
      // Another run put the same one there first.
    }
  } finally {
    rmSync(building, { recursive: true, force: true });
  }
  const caches = readdirSync(cacheRoot)
    .filter((name) => name.startsWith(cachePrefix) && !name.includes(".building-"))
    .map((name) => ({ dir: path.join(cacheRoot, name), used: statSync(path.join(cacheRoot, name)).mtimeMs }))
    .sort((a, b) => b.used - a.used);
  for (const stale of caches.slice(cachesKept)) rmSync(stale.dir, { recursive: true, force: true });
}

export interface MigratedDatabase {
  db: PGlite;
  /** Closes it and removes its copy. */
  close(): Promise<void>;
}

/** A PGlite with every migration applied, opened from a copy of the cached build (built first when missing). */
export async function openMigratedDatabase(cacheDir = currentCacheDir()): Promise<MigratedDatabase> {
  if (!existsSync(cacheDir)) await buildCache(cacheDir);
  // In memory where Linux offers it: writing 39 MB to this machine's disk took 0.7 s, to tmpfs 0.06 s.
  const copy = mkdtempSync(path.join(existsSync("/dev/shm") ? "/dev/shm" : tmpdir(), "story-tasks-codegen-"));
  const remove = () => rmSync(copy, { recursive: true, force: true });
  try {
    try {
      cpSync(cacheDir, copy, { recursive: true });
    } catch {
      // Pruned by a concurrent run that built newer ones: build it again.
      await buildCache(cacheDir);
      cpSync(cacheDir, copy, { recursive: true });
    }
    touch(cacheDir);
    // Applies nothing when the cache is what its key says; the migrations stay the source.
    const db = await openEmbeddedDatabase({ dataDir: copy });
    return {
      db,
      close: async () => {
        await db.close();
        remove();
      },
    };
  } catch (error) {
    remove();
    throw error;
  }
}

/** Marks a cache as used: the least recently used are pruned. */
function touch(cacheDir: string): void {
  const now = new Date();
  try {
    utimesSync(cacheDir, now, now);
  } catch {
    // pruned meanwhile by a concurrent run
  }
}

function currentCacheDir(): string {
  return path.join(cacheRoot, `${cachePrefix}${cacheKey()}`);
}

/** Each query (its SQL and parameters) and the rows the migrated database answered. */
type Answers = Record<string, unknown[]>;

const answersFileName = "codegen-answers.json";
const questionOf = (sql: string, params?: unknown[]) => JSON.stringify([sql, params ?? []]);

function readAnswers(file: string): Answers | undefined {
  try {
    return JSON.parse(readFileSync(file, "utf8")) as Answers;
  } catch {
    return undefined;
  }
}

/**
 * Runs `use` on the database supabase/migrations/ builds: from the answers that database gave
 * the same queries before, when it gave them all; otherwise on the database itself, keeping its
 * answers for next time. Either way `use` sees the rows as JSON carries them, so both give the
 * same result.
 */
export async function withMigratedDatabase<T>(use: (db: Queryable) => Promise<T>): Promise<T> {
  const cacheDir = currentCacheDir();
  const answersFile = path.join(cacheDir, answersFileName);
  const recorded = readAnswers(answersFile);
  if (recorded) {
    let unanswered = false;
    const result = await use({
      query: async <Row>(sql: string, params?: unknown[]) => {
        const rows = recorded[questionOf(sql, params)];
        if (rows === undefined) {
          unanswered = true;
          throw new Error(`no recorded answer to: ${sql}`);
        }
        return { rows: rows as Row[] };
      },
    }).catch((error: unknown) => {
      if (!unanswered) throw error;
    });
    if (!unanswered) {
      touch(cacheDir);
      return result as T;
    }
  }
  const migrated = await openMigratedDatabase(cacheDir);
  try {
    const answers: Answers = {};
    const result = await use({
      query: async <Row>(sql: string, params?: unknown[]) => {
        const { rows } = await migrated.db.query<Row>(sql, params);
        const carried = JSON.parse(JSON.stringify(rows)) as Row[];
        answers[questionOf(sql, params)] = carried;
        return { rows: carried };
      },
    });
    // Written beside and renamed into place: a concurrent run reads all of it or none. Only a
    // shortcut: a cache pruned meanwhile by a concurrent run just goes without.
    const writing = `${answersFile}.${randomBytes(4).toString("hex")}`;
    try {
      writeFileSync(writing, JSON.stringify(answers));
      renameSync(writing, answersFile);
    } catch {
      rmSync(writing, { force: true });
    }
    return result;
  } finally {
    await migrated.close();
  }
}
