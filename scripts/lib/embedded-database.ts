// An embedded PostgreSQL (PGlite, in process) built from supabase/migrations/: the database
// `pnpm codegen` reads when no server is given. Building one (initdb in WASM, then the replay)
// takes 2.5 s, so a built data directory is kept in .tools/, keyed by a hash of the migration
// files and PGlite's version; a warm run opens a copy of it instead.
import { createHash, randomBytes } from "node:crypto";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, realpathSync, renameSync, rmSync, statSync, utimesSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { applyMigrations, defaultMigrationsDir, listMigrationFiles } from "../../src/local-stack/migrations.ts";
import { projectRoot } from "./atlas-cli.ts";

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
export async function openMigratedDatabase(): Promise<MigratedDatabase> {
  const cacheDir = path.join(cacheRoot, `${cachePrefix}${cacheKey()}`);
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
    const now = new Date();
    utimesSync(cacheDir, now, now);
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
