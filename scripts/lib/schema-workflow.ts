// The steps behind `pnpm db:*`. The desired state is schema/ built into a scratch database (the
// stand-ins, the HCL through Atlas, then schema/sql/), compared with a live database in three
// parts: Atlas diffs the tables (columns, indexes, foreign keys); check-constraints.ts the CHECK
// expressions Atlas v0.13.1 does not compare; pg-delta every other object (functions, triggers,
// policies, grants, RLS, publication membership); unmodeled-facts.ts what neither of them reads.
// db:apply runs the whole plan in one transaction on the target, db:diff writes it as one
// migration, and db:drift reports every difference at once.
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import pg from "pg";
import { requireDeployPath } from "../../src/local-stack/deploy-ledgers.ts";
import { projectRoot, runAtlas } from "./atlas-cli.ts";
import { type CheckReplacements, planCheckReplacements } from "./check-constraints.ts";
import { compareObjects, planSafety, planStatements } from "./database-objects.ts";
import { databaseName, dropDatabase, recreateDatabase, redactUrl, runSqlScript, withClient, withDatabaseName } from "./postgres.ts";
import { listMigrations, migrationsDir, readDatabaseObjectsSql, readStandInsSql, supabaseDefaultPrivilegesSql } from "./schema-sources.ts";
import { compareUnmodeledFacts } from "./unmodeled-facts.ts";

export class SchemaCommandError extends Error {
  override name = "SchemaCommandError";
}

/** How long a deploy waits for a lock before giving up, rather than queueing every query behind it. */
const lockTimeout = "5s";

/** Object plans are re-planned after they run; more passes than this means pg-delta and the database disagree. */
const maxPlanPasses = 3;

/** Scratch databases for one command: Atlas's dev database, schema/ built, and (db:diff) the migrations built. */
export interface ScratchDatabases {
  dev: string;
  desired: string;
  current: string;
}

/** Scratch databases live on ATLAS_DEV_URL's server when set, else on the target's own server. */
export function scratchDatabasesFor(targetUrl: string): ScratchDatabases {
  const server = process.env.ATLAS_DEV_URL || targetUrl;
  const base = databaseName(targetUrl);
  return {
    dev: withDatabaseName(server, `${base}_atlas_dev`),
    desired: withDatabaseName(server, `${base}_atlas_desired`),
    current: withDatabaseName(server, `${base}_atlas_current`),
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

/** What schema/ refers to but does not create: Supabase's (or the stand-ins') tables, roles and publication. */
async function requireHostObjects(targetUrl: string): Promise<void> {
  const missing = await withClient(targetUrl, async (client) => {
    const result = await client.query<{ name: string }>(
      `SELECT name FROM unnest(ARRAY['table auth.users', 'table public.stories', 'publication supabase_realtime', 'role anon', 'role authenticated', 'role service_role']) AS name
       WHERE CASE split_part(name, ' ', 1)
         WHEN 'table' THEN to_regclass(split_part(name, ' ', 2)) IS NULL
         WHEN 'publication' THEN NOT EXISTS (SELECT 1 FROM pg_publication WHERE pubname = split_part(name, ' ', 2))
         ELSE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = split_part(name, ' ', 2))
       END`,
    );
    return result.rows.map((row) => row.name);
  });
  if (missing.length > 0) {
    throw new SchemaCommandError(`${redactUrl(targetUrl)} has no ${missing.join(", ")}: on a plain PostgreSQL run \`pnpm db:stand-ins\` first.`);
  }
}

/** Runs `use` with fresh scratch databases for `targetUrl`, and drops them afterwards. */
async function withScratchDatabases<T>(targetUrl: string, use: (scratch: ScratchDatabases) => Promise<T>): Promise<T> {
  const scratch = scratchDatabasesFor(targetUrl);
  await recreateDatabase(scratch.dev);
  try {
    return await use(scratch);
  } finally {
    for (const url of [scratch.dev, scratch.desired, scratch.current]) await dropDatabase(url);
  }
}

/** Builds schema/ (the stand-ins, the HCL, then schema/sql/) into the scratch desired database. */
async function materialiseDesiredState(scratch: ScratchDatabases): Promise<void> {
  await recreateDatabase(scratch.desired);
  await runSqlScript(scratch.desired, readStandInsSql());
  atlas(["schema", "apply", ...envArgs("schema", { url: scratch.desired, dev: scratch.dev }), "--auto-approve"]);
  await runSqlScript(scratch.desired, readDatabaseObjectsSql());
}

/** The statements that bring a database to schema/, part by part, as they were planned and run. */
export interface PlannedChanges {
  /** Atlas: tables, columns, indexes, foreign keys (one script, as Atlas prints it). */
  tables: string;
  checks: CheckReplacements;
  /** pg-delta: functions, triggers, policies, grants, RLS, publication membership. */
  objects: string[];
  /** What neither Atlas nor pg-delta compares: identity-sequence privileges, column statistics targets. */
  unmodeled: string[];
  /** What the object statements lock and whether they lose data. */
  safety: string[];
}

export function hasChanges(changes: PlannedChanges): boolean {
  return Boolean(changes.tables) || changes.checks.replace.length + changes.checks.validate.length + changes.objects.length + changes.unmodeled.length > 0;
}

/**
 * Plans and runs, inside `client`'s open transaction on the database at `current`, the changes
 * that bring it to the scratch desired database: each part is planned against what the parts
 * before it did, so the object plan sees the tables Atlas has just created.
 */
async function planAndRun(client: pg.Client, current: Target, scratch: ScratchDatabases): Promise<PlannedChanges> {
  const tables = atlas(["schema", "diff", ...envArgs(current.env, { url: current.url, dev: scratch.dev, desired: scratch.desired }), "--from", current.url, "--to", scratch.desired]);
  const tableScript = /schemas are synced/i.test(tables) ? "" : tables;
  return withClient(scratch.desired, async (desired) => {
    const checks = await planCheckReplacements(client, desired);
    await client.query(`SET LOCAL lock_timeout = '${lockTimeout}'`);
    if (tableScript) await client.query(tableScript);
    if (checks.replace.length > 0) await client.query(checks.replace.join("\n"));
    const desiredPool = new pg.Pool({ connectionString: scratch.desired, max: 1 });
    try {
      const objects: string[] = [];
      const safety: string[] = [];
      // Planned again after each run until nothing is left: what the database does by itself
      // (Supabase's default privileges on a function the plan creates) shows up in the next pass.
      for (let pass = 1; ; pass++) {
        const comparison = await compareObjects({ transaction: client }, { pool: desiredPool }, "objects");
        const statements = planStatements(comparison.plan);
        if (statements.length === 0) break;
        if (pass > maxPlanPasses) throw new SchemaCommandError(`pg-delta's plan did not converge in ${maxPlanPasses} passes; it still plans:\n${statements.join("\n")}`);
        // pg-delta writes function bodies that may name objects created later in the plan.
        await client.query(["SET LOCAL check_function_bodies = off;", ...statements].join("\n"));
        objects.push(...statements);
        safety.push(...planSafety(comparison.plan));
      }
      const unmodeled = (await compareUnmodeledFacts(client, desired)).statements;
      if (unmodeled.length > 0) await client.query(unmodeled.join("\n"));
      return { tables: tableScript, checks, objects, unmodeled, safety };
    } finally {
      await desiredPool.end();
    }
  });
}

/** Runs `use` in a transaction on `client`, committed unless `commit` is false or it throws. */
async function transaction<T>(client: pg.Client, commit: boolean, use: () => Promise<T>): Promise<T> {
  await client.query("BEGIN");
  try {
    const result = await use();
    await client.query(commit ? "COMMIT" : "ROLLBACK");
    return result;
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  }
}

/** `pnpm db:stand-ins`: the guarded stand-ins, run on their own. */
export async function createStandIns(targetUrl: string): Promise<string[]> {
  return runSqlScript(targetUrl, readStandInsSql());
}

/**
 * `pnpm db:apply`: brings the target to schema/ in one transaction (tables, changed CHECKs added
 * NOT VALID, every other object), then validates the changed CHECKs. With `dryRun` the same plan
 * runs in a transaction that is rolled back. A database that a migration ledger tracks is refused.
 */
export async function applySchema(target: Target, options: { dryRun?: boolean } = {}): Promise<PlannedChanges> {
  await withClient(target.url, (client) => requireDeployPath(client, null, "`pnpm db:apply`"));
  await requireHostObjects(target.url);
  return withScratchDatabases(target.url, async (scratch) => {
    await materialiseDesiredState(scratch);
    const changes = await withClient(target.url, (client) => transaction(client, !options.dryRun, () => planAndRun(client, target, scratch)));
    if (!options.dryRun) {
      // Each in its own transaction, after the one that replaced the checks.
      for (const statement of changes.checks.validate) await runSqlScript(target.url, statement);
    }
    return changes;
  });
}

/** `pnpm db:drift`: every difference between the target's objects and schema/'s ("-" only in the target, "+" only in schema/). */
export async function detectDrift(target: Target): Promise<string[]> {
  return withScratchDatabases(target.url, async (scratch) => {
    await materialiseDesiredState(scratch);
    const [targetPool, desiredPool] = [target.url, scratch.desired].map((url) => new pg.Pool({ connectionString: url, max: 1 })) as [pg.Pool, pg.Pool];
    try {
      const objects = await compareObjects({ pool: targetPool }, { pool: desiredPool }, "everything");
      const unmodeled = await compareUnmodeledFacts(targetPool, desiredPool);
      return [...objects.differences, ...unmodeled.differences];
    } finally {
      await Promise.all([targetPool.end(), desiredPool.end()]);
    }
  });
}

function migrationVersion(date: Date): string {
  return date.toISOString().replace(/\D/g, "").slice(0, 14);
}

/** A version after every file in the folder: migrations apply in name order. */
function nextMigrationVersion(): string {
  const latest = listMigrations().at(-1)?.slice(0, 14) ?? "0";
  const now = migrationVersion(new Date());
  return now > latest ? now : String(BigInt(latest) + 1n);
}

function section(title: string, statements: string[]): string {
  return statements.length > 0 ? `\n-- ${title}\n${statements.join("\n")}\n` : "";
}

/** The migration that takes a database built from supabase/migrations/ to schema/: one file, one transaction. */
function renderMigration(name: string, changes: PlannedChanges): string {
  return [
    `-- ${name}: written by \`pnpm db:diff ${name}\` from schema/. Deploy tools run it in one transaction:`,
    "-- no table exists, even for a moment, without its RLS, policies and grants.",
    `SET LOCAL lock_timeout = '${lockTimeout}';`,
    section("Tables, columns, indexes, foreign keys (Atlas)", changes.tables ? [changes.tables.trim()] : []),
    section(`CHECK constraints whose expression changed, added NOT VALID (the ${name}_validate migration validates them)`, changes.checks.replace),
    section(
      "Functions, triggers, policies, grants, RLS and publication membership (pg-delta)",
      changes.objects.length > 0 ? ["SET LOCAL check_function_bodies = off;", ...changes.objects] : [],
    ),
    section("Identity-sequence privileges and column statistics targets (neither Atlas nor pg-delta compares them)", changes.unmodeled),
  ].join("\n");
}

export interface DiffReport {
  changes: PlannedChanges;
  written: string[];
}

/**
 * `pnpm db:diff <name>`: builds supabase/migrations/ and schema/ into scratch databases, plans the
 * difference as db:apply does, and writes it as `<version>_<name>.sql` (plus
 * `<version>_<name>_validate.sql` when CHECKs changed), then `atlas migrate hash`.
 */
export async function diffMigrations(name: string, scratchServerUrl: string): Promise<DiffReport> {
  if (!/^[a-z0-9_]+$/.test(name)) throw new SchemaCommandError(`migration name "${name}": use lowercase letters, digits and _`);
  const changes = await withScratchDatabases(scratchServerUrl, async (scratch) => {
    await materialiseDesiredState(scratch);
    // The migrations so far, on a database that grants what a new Supabase project grants.
    await recreateDatabase(scratch.current);
    const [standIns, ...migrations] = listMigrations();
    await runSqlScript(scratch.current, readFileSync(path.join(migrationsDir, standIns!), "utf8"));
    await runSqlScript(scratch.current, supabaseDefaultPrivilegesSql);
    for (const file of migrations) await runSqlScript(scratch.current, readFileSync(path.join(migrationsDir, file), "utf8"));
    return withClient(scratch.current, (client) => transaction(client, false, () => planAndRun(client, { env: "local", url: scratch.current }, scratch)));
  });
  const written: string[] = [];
  if (changes.tables || changes.checks.replace.length + changes.objects.length + changes.unmodeled.length > 0) {
    const file = `${nextMigrationVersion()}_${name}.sql`;
    writeFileSync(path.join(migrationsDir, file), renderMigration(name, changes));
    written.push(file);
  }
  if (changes.checks.validate.length > 0) {
    const file = `${nextMigrationVersion()}_${name}_validate.sql`;
    writeFileSync(
      path.join(migrationsDir, file),
      `-- ${name}_validate: written by \`pnpm db:diff ${name}\`. Scans the rows under a lock that lets reads and writes go on.\n${changes.checks.validate.join("\n")}\n`,
    );
    written.push(file);
  }
  if (written.length > 0) atlas(["migrate", "hash", ...envArgs("schema", {})]);
  return { changes, written };
}

/** `pnpm db:migrate`: Atlas applies supabase/migrations/ in order, recording each version in its own ledger. */
export async function migrateWithAtlas(target: Target): Promise<string> {
  await withClient(target.url, (client) => requireDeployPath(client, "atlas", "`pnpm db:migrate`"));
  // The host's database is never empty (auth, public.stories): start on it as it is.
  return atlas(["migrate", "apply", ...envArgs(target.env, { url: target.url }), "--allow-dirty"]);
}

/** `pnpm db:push`: the Supabase CLI's `supabase db push`, which records each version in supabase_migrations. */
export async function pushWithSupabaseCli(target: Target): Promise<string> {
  await withClient(target.url, (client) => requireDeployPath(client, "supabase", "`pnpm db:push`"));
  const cli = path.join(projectRoot, "node_modules", ".bin", "supabase");
  const result = spawnSync(cli, ["db", "push", "--db-url", target.url, "--yes"], { cwd: projectRoot, encoding: "utf8" });
  if (result.error) throw result.error;
  const output = `${result.stdout}${result.stderr}`.trim();
  if (result.status !== 0) throw new SchemaCommandError(`supabase db push failed:\n${output}`);
  return output;
}
