// Databases shaped like a hosted Supabase project's, for the schema, RLS and deploy tests: a
// deploy role that is not a superuser, Supabase's default privileges, auth owned by another role,
// auth.uid(), the API roles' statement timeouts, an empty supabase_realtime publication, and the
// host's own tables. Written from Supabase's documented behaviour (supabase/*.sql here).
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { encodeId, extract } from "@supabase/pg-delta";
import pg from "pg";
import { describeObjects } from "../../scripts/lib/database-objects.ts";
import { deployLedgers } from "../../src/local-stack/deploy-ledgers.ts";
import { dropDatabase, runSqlScript, withClient, withDatabaseName } from "../../scripts/lib/postgres.ts";
import { serverUrl } from "./databases.ts";

const sqlDir = path.join(path.dirname(fileURLToPath(import.meta.url)), "supabase");
const sql = (file: string) => readFileSync(path.join(sqlDir, file), "utf8");

/** Stands in for Supabase's `postgres`, the role migrations and `supabase db push` run as. */
export const deployRole = "stand_in_postgres";

/** The server's roles a Supabase-shaped database needs (test/support/supabase/roles.sql). */
export const supabaseRoles = ["anon", "authenticated", "service_role", "authenticator", "supabase_auth_admin", deployRole];

/** `url` with the deploy role as its user: what the deploy paths connect as. */
export function asDeployRole(url: string): string {
  const next = new URL(url);
  next.username = deployRole;
  next.password = "";
  return next.toString();
}

/** Creates the roles that are missing (under a lock, so test files may race); returns the names it created. */
export async function ensureSupabaseRoles(): Promise<string[]> {
  const existing = async () =>
    withClient(serverUrl, async (client) => (await client.query<{ rolname: string }>("SELECT rolname FROM pg_roles WHERE rolname = ANY ($1)", [supabaseRoles])).rows.map((row) => row.rolname));
  const before = new Set(await existing());
  await withClient(serverUrl, async (client) => {
    await client.query("BEGIN");
    await client.query(sql("roles.sql"));
    await client.query("COMMIT");
  });
  return supabaseRoles.filter((role) => !before.has(role));
}

export interface SupabaseProject {
  /** The project's database, connected as the deploy role (what SUPABASE_DB_URL would be). */
  url: string;
  /** The same database as the server's superuser (Supabase's supabase_admin), for set-up and checks. */
  adminUrl: string;
  /** Where the deploy commands may create scratch databases, as the deploy role (ATLAS_DEV_URL). */
  scratchServerUrl: string;
  drop(): Promise<void>;
}

/** A new database shaped like a fresh Supabase project with the host's tables in it. */
export async function createSupabaseProject(label: string): Promise<SupabaseProject> {
  const adminUrl = withDatabaseName(serverUrl, `story_tasks_supabase_${label}_${randomBytes(4).toString("hex")}`);
  const name = new URL(adminUrl).pathname.slice(1);
  await withClient(withDatabaseName(serverUrl, "postgres"), (admin) => admin.query(`CREATE DATABASE "${name}" OWNER ${deployRole}`));
  const project: SupabaseProject = {
    url: asDeployRole(adminUrl),
    adminUrl,
    scratchServerUrl: asDeployRole(withDatabaseName(serverUrl, "postgres")),
    drop: () => dropDatabase(adminUrl),
  };
  try {
    await runSqlScript(adminUrl, sql("platform.sql"));
    await runSqlScript(project.url, sql("host-schema.sql"));
  } catch (error) {
    await project.drop();
    throw error;
  }
  return project;
}

/** The environment the deploy commands take for `project` (`--env supabase`). */
export function supabaseEnv(project: SupabaseProject): NodeJS.ProcessEnv {
  return { SUPABASE_DB_URL: project.url, ATLAS_DEV_URL: project.scratchServerUrl };
}

/**
 * A schema dump of everything in the database that is not this library's (auth, the host's
 * tables, functions and triggers, default privileges, the publication itself), as pg-delta reads
 * it: one sorted line per object and per ownership. Left out: the server's roles, which are
 * shared, and the deploy paths' own ledgers.
 */
export async function dumpHostSchema(url: string): Promise<string[]> {
  const pool = new pg.Pool({ connectionString: url, max: 1 });
  try {
    const { factBase } = await extract(pool);
    const ledgerSchemas = Object.values(deployLedgers).map((ledger) => ledger.table.split(".")[0]!);
    const host = (id: string) =>
      !id.includes("story_task") && !/^(role|membership):/.test(id) && !ledgerSchemas.some((schema) => id.includes(`schema:${schema}`) || id.includes(`:${schema}.`));
    return [
      ...factBase.facts().map((fact) => `${encodeId(fact.id)} ${JSON.stringify(fact.payload)}`),
      ...factBase.edges.filter((edge) => edge.kind === "owner").map((edge) => `${encodeId(edge.from)} owned by ${encodeId(edge.to)}`),
    ]
      .filter((line) => host(line.split(" ")[0]!))
      .sort();
  } finally {
    await pool.end();
  }
}

/** This library's objects in the database, as pg-delta reads them: equal dumps, equal objects. */
export async function dumpLibraryObjects(url: string): Promise<string[]> {
  const pool = new pg.Pool({ connectionString: url, max: 1 });
  try {
    return await describeObjects({ pool });
  } finally {
    await pool.end();
  }
}
