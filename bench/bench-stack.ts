// The stack a bench run measures (embedded PGlite, or a fresh database on a PostgreSQL server),
// the direct-SQL baseline next to it, and a supabase-js client whose HTTP requests are counted.
import { randomBytes } from "node:crypto";
import type { SupabaseClient } from "@supabase/supabase-js";
import pg from "pg";
import type { Database } from "../generated/database.types.ts";
import { dropDatabase, recreateDatabase, redactUrl, withDatabaseName } from "../scripts/lib/postgres.ts";
import { type LocalStack, createNodeSupabaseClient, startLocalStack } from "../src/local-stack/index.ts";

export const defaultServerUrl = "postgres://postgres@127.0.0.1:5432/postgres";

/** Counts every request a supabase-js client sends: the proof of "one round trip". */
export interface RequestCounter {
  readonly count: number;
  fetch: typeof globalThis.fetch;
}

export function countRequests(inner: typeof globalThis.fetch): RequestCounter {
  let count = 0;
  return {
    get count() {
      return count;
    },
    fetch: (input, init) => {
      count += 1;
      return inner(input, init);
    },
  };
}

/** The same SQL the API runs, sent straight to the database: the floor the API is compared with. */
export interface SqlBaseline {
  /** What the baseline is, printed with the results. */
  description: string;
  /** Protocol round trips per statement it runs. */
  roundTripsPerCall: number;
  query<Row>(sql: string, params: unknown[]): Promise<Row[]>;
}

export interface BenchStack {
  stack: LocalStack;
  kind: LocalStack["kind"];
  /** The server database of this run (server mode only), redacted for printing. */
  database: string | undefined;
  sql: SqlBaseline;
  requests: RequestCounter;
  /** service_role client over the counting fetch; supabase-js's GET retries off so nothing is sent twice unseen. */
  client: SupabaseClient<Database>;
  /** A fresh service_role client (own fetch, uncounted), e.g. one per concurrent writer. */
  newClient(): SupabaseClient<Database>;
  stop(): Promise<void>;
}

/** Whether a PostgreSQL server answers at `url` within a few seconds. */
export async function serverAnswers(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3_000 });
  client.on("error", () => undefined);
  try {
    await client.connect();
    await client.query("SELECT 1");
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

export async function startBenchStack(serverUrl: string | undefined): Promise<BenchStack> {
  let databaseUrl: string | undefined;
  const cleanups: (() => Promise<void>)[] = [];
  const cleanUp = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch((error: unknown) => console.error(`cleanup failed: ${String(error)}`));
  };
  try {
    if (serverUrl) {
      databaseUrl = withDatabaseName(serverUrl, `story_tasks_bench_${randomBytes(4).toString("hex")}`);
      const created = databaseUrl;
      await recreateDatabase(created);
      cleanups.push(() => dropDatabase(created));
    }
    const stack = await startLocalStack(databaseUrl ? { databaseUrl, migrate: true } : {});
    cleanups.push(() => stack.stop());

    let sql: SqlBaseline;
    if (databaseUrl) {
      // One connection, like one PostgREST request at a time; the superuser, as stack.query is on PGlite.
      const client = new pg.Client({ connectionString: databaseUrl });
      client.on("error", () => undefined);
      await client.connect();
      cleanups.push(() => client.end());
      sql = {
        description: "pg.Client (node-postgres) on its own connection to the server, as postgres; one extended-protocol round trip per statement",
        roundTripsPerCall: 1,
        query: async <Row>(text: string, params: unknown[]) => (await client.query(text, params)).rows as Row[],
      };
    } else {
      // The stack serves PGlite over a socket whose address it does not expose; its `query` is a
      // pg client of that socket, each call wrapped in BEGIN ... COMMIT (so the socket server
      // keeps PostgREST's messages out): three round trips where the server baseline has one.
      sql = {
        description: "stack.query: node-postgres on the PGlite socket server, each statement in its own BEGIN ... COMMIT (3 round trips; the stack does not expose the socket for a plain pg.Client)",
        roundTripsPerCall: 3,
        query: async <Row>(text: string, params: unknown[]) => (await stack.query<Row>(text, params)).rows,
      };
    }

    let stopping: Promise<void> | undefined;
    const requests = countRequests(stack.fetch);
    const client = createNodeSupabaseClient(stack.url, stack.serviceRoleKey, { fetch: requests.fetch, retry: false });
    return {
      stack,
      kind: stack.kind,
      database: databaseUrl ? redactUrl(databaseUrl) : undefined,
      sql,
      requests,
      client,
      newClient: () => stack.client(stack.serviceRoleKey, { retry: false }),
      // Once only, however often it is called (Ctrl-C and the normal end may both ask).
      stop: () => (stopping ??= cleanUp()),
    };
  } catch (error) {
    await cleanUp();
    throw error;
  }
}

/** A fresh story (public.stories is the host's table; the stand-in has id and display_name). */
export async function insertStory(bench: BenchStack, name: string): Promise<string> {
  const rows = await bench.stack.query<{ id: string }>("INSERT INTO public.stories (display_name) VALUES ($1) RETURNING id", [name]);
  return rows.rows[0]!.id;
}

/** `count` tasks in one statement (the setup of a section, not what it measures). */
export async function insertTasks(bench: BenchStack, options: { count: number; status: "queued" | "running"; storyId?: string | null }): Promise<string[]> {
  const rows = await bench.stack.query<{ id: string }>(
    `INSERT INTO public.story_tasks (story_id, operation, status, payload, created_at)
     SELECT $1::uuid, 'CREATE_SHOT_IMAGES', $2, '{}'::jsonb, now() - (($3::int - g) * interval '1 millisecond')
     FROM generate_series(1, $3::int) AS g
     RETURNING id`,
    [options.storyId ?? null, options.status, options.count],
  );
  return rows.rows.map((row) => row.id);
}
