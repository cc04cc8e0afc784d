// The steps behind `pnpm db:*`. Atlas v0.13.1 filters `exclude` out of inspected databases
// but not out of HCL, so the desired state is first materialised in a scratch database
// (stand-ins + schema/), and Atlas then compares two databases with the host's tables excluded.
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { applyMigrations as applyMigrationFiles } from "../../src/local-stack/migrations.ts";
import { runAtlas } from "./atlas-cli.ts";
import { describeDatabaseObjects, diffLines } from "./catalog.ts";
import { planCheckReplacements } from "./check-constraints.ts";
import {
  databaseName,
  dropDatabase,
  recreateDatabase,
  redactUrl,
  runSqlScript,
  withClient,
  withDatabaseName,
} from "./postgres.ts";
import {
  databaseObjectsMigrationSuffix,
  listMigrations,
  migrationsDir,
  readDatabaseObjectsSql,
  readStandInsSql,
} from "./schema-sources.ts";

export class SchemaCommandError extends Error {
  override name = "SchemaCommandError";
}

/** Scratch databases for one target: Atlas's dev database and the materialised desired state. */
export interface ScratchDatabases {
  dev: string;
  desired: string;
}

/** Scratch databases live on ATLAS_DEV_URL's server when set, else on the target's own server. */
export function scratchDatabasesFor(targetUrl: string): ScratchDatabases {
  const server = process.env.ATLAS_DEV_URL || targetUrl;
  const base = databaseName(targetUrl);
  return {
    dev: withDatabaseName(server, `${base}_atlas_dev`),
    desired: withDatabaseName(server, `${base}_atlas_desired`),
  };
}

function atlas(args: string[]): string {
  const result = runAtlas(args);
  if (result.error) throw result.error;
  const output = `${result.stdout}${result.stderr}`.trim();
  if (result.status !== 0) throw new SchemaCommandError(`atlas ${args[0]} ${args[1]} failed:\n${output}`);
  return output;
}

/** An atlas.hcl environment and the database it points at. */
export interface Target {
  env: "local" | "supabase";
  url: string;
}

/** Atlas arguments for an environment of atlas.hcl with its URL variables filled. */
function envArgs(env: string, vars: { url?: string; dev?: string; desired?: string }): string[] {
  const args = ["--env", env];
  if (vars.url) args.push("--var", `url=${vars.url}`);
  if (vars.dev) args.push("--var", `dev_url=${vars.dev}`);
  if (vars.desired) args.push("--var", `desired_url=${vars.desired}`);
  return args;
}

async function requireHostTables(targetUrl: string): Promise<void> {
  const missing = await withClient(targetUrl, async (client) => {
    const result = await client.query<{ name: string }>(
      "SELECT name FROM unnest(ARRAY['auth.users', 'public.stories']) AS name WHERE to_regclass(name) IS NULL",
    );
    return result.rows.map((row) => row.name);
  });
  if (missing.length > 0) {
    throw new SchemaCommandError(
      `${redactUrl(targetUrl)} has no ${missing.join(" or ")}: on a plain PostgreSQL run \`pnpm db:stand-ins\` first.`,
    );
  }
}

/** Runs `use` with fresh scratch databases for `targetUrl`, and drops them afterwards. */
async function withScratchDatabases<T>(targetUrl: string, use: (scratch: ScratchDatabases) => Promise<T>): Promise<T> {
  const scratch = scratchDatabasesFor(targetUrl);
  await recreateDatabase(scratch.dev);
  try {
    return await use(scratch);
  } finally {
    await dropDatabase(scratch.dev);
    await dropDatabase(scratch.desired);
  }
}

/** Builds schema/ (HCL, and optionally the idempotent SQL) into the scratch desired database. */
export async function materialiseDesiredState(scratch: ScratchDatabases, options: { withDatabaseObjects: boolean }): Promise<void> {
  await recreateDatabase(scratch.desired);
  await runSqlScript(scratch.desired, readStandInsSql());
  atlas(["schema", "apply", ...envArgs("schema", { url: scratch.desired, dev: scratch.dev }), "--auto-approve"]);
  if (options.withDatabaseObjects) await runSqlScript(scratch.desired, readDatabaseObjectsSql());
}

/** `pnpm db:stand-ins`: the guarded stand-ins, run on their own. */
export async function createStandIns(targetUrl: string): Promise<string[]> {
  return runSqlScript(targetUrl, readStandInsSql());
}

export interface ApplyReport {
  atlas: string;
  tableChanges: boolean;
  objectChanges: string[];
  notices: string[];
}

/**
 * `pnpm db:apply`: Atlas brings the tables to schema/, changed CHECKs are replaced, then the
 * idempotent SQL runs. With `dryRun`, prints Atlas's plan and the CHECK replacements, runs nothing.
 */
export async function applySchema(target: Target, options: { dryRun?: boolean } = {}): Promise<ApplyReport> {
  await requireHostTables(target.url);
  return withScratchDatabases(target.url, async (scratch) => {
    await materialiseDesiredState(scratch, { withDatabaseObjects: false });
    const atlasOutput = atlas([
      "schema",
      "apply",
      ...envArgs(target.env, { url: target.url, dev: scratch.dev, desired: scratch.desired }),
      options.dryRun ? "--dry-run" : "--auto-approve",
    ]);
    const checkReplacements = await withClient(target.url, (current) =>
      withClient(scratch.desired, (desired) => planCheckReplacements(current, desired)),
    );
    const tableChanges = !/no changes to be made/i.test(atlasOutput);
    if (options.dryRun) {
      return { atlas: [atlasOutput, ...checkReplacements].join("\n"), tableChanges, objectChanges: [], notices: [] };
    }
    const before = await withClient(target.url, describeDatabaseObjects);
    const notices = await runSqlScript(target.url, [...checkReplacements, readDatabaseObjectsSql()].join("\n"));
    const after = await withClient(target.url, describeDatabaseObjects);
    return { atlas: atlasOutput, tableChanges, objectChanges: diffLines(before, after), notices };
  });
}

export interface DriftReport {
  tables: string;
  objects: string[];
}

/** `pnpm db:drift`: what would change to bring the target to schema/ (empty when in sync). */
export async function detectDrift(target: Target): Promise<DriftReport> {
  return withScratchDatabases(target.url, async (scratch) => {
    await materialiseDesiredState(scratch, { withDatabaseObjects: true });
    const tables = atlas([
      "schema",
      "diff",
      ...envArgs(target.env, { url: target.url, dev: scratch.dev, desired: scratch.desired }),
      "--from",
      target.url,
      "--to",
      scratch.desired,
    ]);
    const actual = await withClient(target.url, describeDatabaseObjects);
    const desired = await withClient(scratch.desired, describeDatabaseObjects);
    return { tables: /schemas are synced/i.test(tables) ? "" : tables, objects: diffLines(actual, desired) };
  });
}

function migrationVersion(date: Date): string {
  return date.toISOString().replace(/\D/g, "").slice(0, 14);
}

/** A version after every file in the folder: Atlas applies files in name order. */
function nextMigrationVersion(): string {
  const latest = listMigrations().at(-1)?.slice(0, 14) ?? "0";
  const now = migrationVersion(new Date());
  return now > latest ? now : String(BigInt(latest) + 1n);
}

export interface DiffReport {
  atlas: string;
  written: string[];
}

function writeMigration(name: string, sql: string): void {
  writeFileSync(path.join(migrationsDir, `${nextMigrationVersion()}_${name}.sql`), sql);
}

/**
 * `pnpm db:diff <name>`: Atlas writes the table changes; CHECKs whose expression changed get a
 * migration that replaces them; when schema/sql/ changed since the newest
 * *_database_objects.sql, its whole idempotent script is written as a new migration.
 */
export async function diffMigrations(name: string, scratchServerUrl: string): Promise<DiffReport> {
  if (!/^[a-z0-9_]+$/.test(name)) throw new SchemaCommandError(`migration name "${name}": use lowercase letters, digits and _`);
  const before = new Set(listMigrations());
  const atlasOutput = await withScratchDatabases(scratchServerUrl, async (scratch) => {
    const output = atlas(["migrate", "diff", name, ...envArgs("schema", { dev: scratch.dev })]);
    await materialiseDesiredState(scratch, { withDatabaseObjects: false });
    await recreateDatabase(scratch.dev);
    await applyMigrationFiles(scratch.dev, { migrationsDir });
    const checkReplacements = await withClient(scratch.dev, (current) =>
      withClient(scratch.desired, (desired) => planCheckReplacements(current, desired)),
    );
    if (checkReplacements.length > 0) {
      writeMigration(`${name}_checks`, `-- CHECK constraints whose expression changed in schema/ (Atlas v0.13.1 does not compare them).\n${checkReplacements.join("\n")}\n`);
    }
    return output;
  });
  const objectsSql = readDatabaseObjectsSql();
  const latestObjects = listMigrations()
    .filter((file) => file.endsWith(databaseObjectsMigrationSuffix))
    .at(-1);
  if (!latestObjects || readFileSync(path.join(migrationsDir, latestObjects), "utf8") !== objectsSql) {
    writeMigration(`${name}${databaseObjectsMigrationSuffix.replace(/\.sql$/, "")}`, objectsSql);
  }
  atlas(["migrate", "hash", ...envArgs("schema", {})]);
  return { atlas: atlasOutput, written: listMigrations().filter((file) => !before.has(file)) };
}

/** `pnpm db:migrate`: Atlas applies supabase/migrations/ in order, recording each version. */
export function migrateWithAtlas(target: Target): string {
  // The host's database is never empty (auth, public.stories): start on it as it is.
  return atlas(["migrate", "apply", ...envArgs(target.env, { url: target.url }), "--allow-dirty"]);
}
