// A fresh database per test file, on the PostgreSQL server the tests run against.
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import pg from "pg";
import { projectRoot } from "../../scripts/lib/atlas-cli.ts";
import { dropDatabase, recreateDatabase, withDatabaseName } from "../../scripts/lib/postgres.ts";
import { type SupabaseProject, createSupabaseProject, supabaseEnv } from "./supabase-project.ts";

/** The server the tests use: TEST_DATABASE_URL, else the local one (any database name on it). */
export const serverUrl = process.env.TEST_DATABASE_URL || "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable";

export interface CommandResult {
  status: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs a package script (`pnpm -s <script> ...args`) the way a user would, against `databaseUrl`
 * (DATABASE_URL), or against a Supabase-shaped project with `env: supabaseEnv(project)` and
 * `--env supabase` in `args`.
 */
export function runScript(script: string, args: string[], databaseUrl: string, cwd = projectRoot, env: NodeJS.ProcessEnv = {}): CommandResult {
  const result = spawnSync("pnpm", ["-s", script, ...args], {
    cwd,
    encoding: "utf8",
    env: { ...process.env, DATABASE_URL: databaseUrl, ...env },
  });
  return { status: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

/** Like runScript, and throws with the command's output when it fails. */
export function runScriptOrThrow(script: string, args: string[], databaseUrl: string, cwd = projectRoot, env: NodeJS.ProcessEnv = {}): CommandResult {
  const result = runScript(script, args, databaseUrl, cwd, env);
  if (result.status !== 0) throw new Error(`pnpm ${script} ${args.join(" ")} exited ${result.status}:\n${result.stdout}\n${result.stderr}`);
  return result;
}

export interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

/** An empty database with a unique name; `drop()` removes it. */
export async function createEmptyDatabase(label: string): Promise<TestDatabase> {
  const url = withDatabaseName(serverUrl, `story_tasks_test_${label}_${randomBytes(4).toString("hex")}`);
  await recreateDatabase(url);
  return { url, drop: () => dropDatabase(url) };
}

/** A Supabase-shaped project deployed with `pnpm db:apply --env supabase`, as its deploy role. */
export async function createSchemaDatabase(label: string): Promise<SupabaseProject> {
  const project = await createSupabaseProject(label);
  try {
    runScriptOrThrow("db:apply", ["--env", "supabase"], project.url, projectRoot, supabaseEnv(project));
  } catch (error) {
    await project.drop();
    throw error;
  }
  return project;
}

export async function connect(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  return client;
}

export type ApiRole = "anon" | "authenticated" | "service_role";

/**
 * Runs `use` as PostgREST would for a request with a JWT of `role` (and `sub`): in a
 * transaction with that role and those claims, rolled back afterwards.
 */
export async function asApiRole<T>(client: pg.Client, role: ApiRole, sub: string | null, use: () => Promise<T>): Promise<T> {
  await client.query("BEGIN");
  try {
    await client.query(`SET LOCAL ROLE ${role}`);
    await client.query("SELECT set_config('request.jwt.claims', $1, true)", [JSON.stringify({ role, sub })]);
    return await use();
  } finally {
    await client.query("ROLLBACK");
  }
}
