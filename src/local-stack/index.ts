// A local Supabase for tests, the demo and benchmarks: a database built from
// supabase/migrations/ (a PostgreSQL server's, or an embedded PGlite), the real PostgREST 12
// in front of it, and supabase-js clients for the API roles, signed with a per-run JWT secret.
import { PGlite } from "@electric-sql/pglite";
import { PGLiteSocketServer } from "@electric-sql/pglite-socket";
import type { SupabaseClient } from "@supabase/supabase-js";
import pg from "pg";
import type { Database } from "../../generated/database.types.ts";
import { startGateway } from "./gateway.ts";
import { randomJwtSecret, signJwt } from "./jwt.ts";
import { applyMigrations } from "./migrations.ts";
import { freePort, type PostgrestServer, startPostgrest } from "./postgrest.ts";
import { createNodeSupabaseClient } from "./supabase-client.ts";

export { applyMigrations } from "./migrations.ts";
export { signJwt } from "./jwt.ts";
export { createNodeSupabaseClient } from "./supabase-client.ts";

export interface LocalStackOptions {
  /** A PostgreSQL server database (already created, may be empty). Without it: an embedded PGlite. */
  databaseUrl?: string;
  /** With the embedded PGlite: keep the database in this directory (in memory without it). */
  dataDir?: string;
}

export interface LocalStack {
  kind: "postgres" | "pglite";
  /** The base URL supabase-js takes (PostgREST's origin; the clients map `/rest/v1/` onto it). */
  url: string;
  serviceRoleKey: string;
  anonKey: string;
  /** The secret the keys are signed with, for tokens with other claims (see signJwt). */
  jwtSecret: string;
  /**
   * A Supabase-shaped URL (`<apiUrl>/rest/v1/...`) in front of PostgREST, for clients that are
   * not given `fetch`: another process, or a plain `createClient(apiUrl, key)`.
   */
  apiUrl: string;
  /** The fetch the clients use: rewrites `<url>/rest/v1/...` to PostgREST's `/...`. */
  fetch: typeof globalThis.fetch;
  /** service_role: bypasses RLS. */
  service: SupabaseClient<Database>;
  anon: SupabaseClient<Database>;
  /** authenticated, with JWT `sub` = userId (what auth.uid() returns). */
  asUser(userId: string): SupabaseClient<Database>;
  /**
   * A client for any key (a JWT signed with jwtSecret), through the same fetch. `retry: false`
   * turns off supabase-js's retries of failed GETs (which take 7 s when PostgREST is down).
   */
  client(key: string, options?: { retry?: boolean }): SupabaseClient<Database>;
  /**
   * Direct SQL as the superuser, for tests (counts, checksums, fault injection), through pg on
   * both stacks. Without params the text may hold several statements (the last one's rows are
   * returned). On PGlite each call runs in its own transaction block, so not VACUUM and the like.
   */
  query<Row>(sql: string, params?: unknown[]): Promise<{ rows: Row[] }>;
  /** Stops PostgREST (requests then fail fast with a connection error). */
  stopPostgrest(): Promise<void>;
  /** Starts PostgREST again on the same port; a no-op while it runs. */
  startPostgrest(): Promise<void>;
  /** Stops everything it started. Idempotent. */
  stop(): Promise<void>;
}

/**
 * supabase-js calls `<url>/rest/v1/<table>` (Supabase's gateway prefix) and bare PostgREST
 * serves `/<table>`: this fetch strips the prefix for requests to PostgREST's origin.
 */
export function postgrestFetch(origin: string): typeof globalThis.fetch {
  const prefix = "/rest/v1";
  return (input, init) => {
    const url = new URL(input instanceof Request ? input.url : input);
    if (url.origin !== origin || (url.pathname !== prefix && !url.pathname.startsWith(`${prefix}/`))) return fetch(input, init);
    url.pathname = url.pathname.slice(prefix.length) || "/";
    return input instanceof Request ? fetch(new Request(url, input), init) : fetch(url, init);
  };
}

type Cleanup = () => Promise<void>;

export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  // What has been started, undone in reverse order by stop() or when start-up fails half way.
  const cleanups: Cleanup[] = [];
  const runCleanups = async () => {
    const errors: unknown[] = [];
    for (const cleanup of cleanups.splice(0).reverse()) {
      try {
        await cleanup();
      } catch (error) {
        errors.push(error);
      }
    }
    if (errors.length > 0) throw new AggregateError(errors, "stopping the local stack failed");
  };

  try {
    const backend = options.databaseUrl ? await startServerBackend(options.databaseUrl, cleanups) : await startEmbeddedBackend(options.dataDir, cleanups);

    const jwtSecret = randomJwtSecret();
    const postgrestOptions = {
      dbUri: backend.postgrestDbUri,
      jwtSecret,
      logLevel: "error" as const,
      ...backend.postgrestSettings,
    };
    let postgrest: PostgrestServer | undefined = await startPostgrest(postgrestOptions);
    const port = postgrest.port;
    cleanups.push(async () => {
      await postgrest?.stop();
      postgrest = undefined;
    });

    const gateway = await startGateway(port);
    cleanups.push(() => gateway.stop());

    const url = `http://127.0.0.1:${port}`;
    const fetch = postgrestFetch(url);
    const client = (key: string, clientOptions: { retry?: boolean } = {}) => createNodeSupabaseClient(url, key, { ...clientOptions, fetch });
    const serviceRoleKey = signJwt({ role: "service_role" }, jwtSecret);
    const anonKey = signJwt({ role: "anon" }, jwtSecret);
    const userClients = new Map<string, SupabaseClient<Database>>();

    let starting: Promise<void> | undefined;
    let stopped: Promise<void> | undefined;
    return {
      kind: backend.kind,
      url,
      apiUrl: gateway.url,
      serviceRoleKey,
      anonKey,
      jwtSecret,
      fetch,
      service: client(serviceRoleKey),
      anon: client(anonKey),
      asUser(userId) {
        let userClient = userClients.get(userId);
        if (!userClient) {
          userClient = client(signJwt({ role: "authenticated", sub: userId }, jwtSecret));
          userClients.set(userId, userClient);
        }
        return userClient;
      },
      client,
      query: backend.query,
      async stopPostgrest() {
        await starting?.catch(() => undefined);
        const running = postgrest;
        postgrest = undefined;
        await running?.stop();
        await backend.afterPostgrestStopped?.();
      },
      async startPostgrest() {
        if (stopped) throw new Error("the local stack is stopped");
        starting ??= (async () => {
          if (!postgrest) postgrest = await startPostgrest({ ...postgrestOptions, port });
        })().finally(() => (starting = undefined));
        await starting;
      },
      stop() {
        stopped ??= (async () => {
          await starting?.catch(() => undefined);
          await runCleanups();
        })();
        return stopped;
      },
    };
  } catch (error) {
    await runCleanups().catch(() => undefined);
    throw error;
  }
}

interface Backend {
  kind: LocalStack["kind"];
  postgrestDbUri: string;
  postgrestSettings: { pool?: number; preparedStatements?: boolean };
  query: LocalStack["query"];
  afterPostgrestStopped?: () => Promise<void>;
}

function resultRows<Row>(result: pg.QueryResult | pg.QueryResult[]): Row[] {
  // A script of several statements (no parameters) gives one result per statement: keep the last.
  const last = Array.isArray(result) ? result[result.length - 1] : result;
  return (last?.rows ?? []) as Row[];
}

/** A database that `pnpm db:apply`/`db:migrate` (Atlas) built has the tables but not this applier's record. */
async function builtByAtlas(databaseUrl: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const found = await client.query<{ atlas: boolean }>(
      "SELECT to_regclass('public.story_tasks') IS NOT NULL AND to_regclass('embedded.applied_migrations') IS NULL AS atlas",
    );
    return found.rows[0]?.atlas ?? false;
  } finally {
    await client.end();
  }
}

async function startServerBackend(databaseUrl: string, cleanups: Cleanup[]): Promise<Backend> {
  if (!(await builtByAtlas(databaseUrl))) await applyMigrations(databaseUrl);
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 4 });
  // An idle connection that breaks (the database dropped, the server restarted) must not crash the process.
  pool.on("error", () => undefined);
  cleanups.push(() => pool.end());

  // PostgREST logs in as Supabase's authenticator (LOGIN, no password: the server trusts loopback).
  const postgrestUrl = new URL(databaseUrl);
  postgrestUrl.username = "authenticator";
  postgrestUrl.password = "";
  return {
    kind: "postgres",
    postgrestDbUri: postgrestUrl.toString(),
    postgrestSettings: {},
    query: async <Row>(sql: string, params?: unknown[]) => ({ rows: resultRows<Row>(await pool.query(sql, params)) }),
  };
}

async function startEmbeddedBackend(dataDir: string | undefined, cleanups: Cleanup[]): Promise<Backend> {
  const db = await PGlite.create(dataDir ? { dataDir } : {});
  cleanups.push(async () => {
    if (!db.closed) await db.close();
  });
  await applyMigrations(db);

  // PGlite is one backend session. The socket server lets several connections share it: it runs
  // one protocol message at a time and, while the session is inside a transaction block, only
  // messages from the connection that opened it.
  const port = await freePort();
  const server = new PGLiteSocketServer({ db, host: "127.0.0.1", port, maxConnections: 16 });
  await server.start();
  // Handlers detach (rolling back a transaction their connection left open) on a later tick.
  const whenConnections = async (most: number) => {
    for (let waited = 0; server.getStats().activeConnections > most && waited < 2_000; waited += 10) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  };
  cleanups.push(async () => {
    await whenConnections(0);
    await server.stop();
  });

  // `query` must not run inside a PostgREST transaction on the shared session. Calling the
  // PGlite instance directly would: its lock is per statement, and its queries were seen to run
  // as service_role inside PostgREST's requests. So `query` is a client of the socket server
  // too (through pg, so rows come back typed as on the server stack), one call at a time, each in
  // its own BEGIN ... COMMIT. The server runs one protocol message at a time and holds back other
  // connections only inside a transaction block; without the BEGIN, a statement whose messages
  // arrive over several reads (large parameters) had PostgREST's messages run in between, which
  // replaced the session's unnamed statement ('portal "" does not exist').
  const client = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${port}/postgres?sslmode=disable` });
  client.on("error", () => undefined);
  await client.connect();
  cleanups.push(() => client.end());
  let queue: Promise<unknown> = Promise.resolve();
  const query = <Row>(sql: string, params?: unknown[]): Promise<{ rows: Row[] }> => {
    const run = async () => {
      await client.query("BEGIN");
      try {
        const result = await client.query(sql, params);
        await client.query("COMMIT");
        return { rows: resultRows<Row>(result) };
      } catch (error) {
        await client.query("ROLLBACK").catch(() => undefined);
        throw error;
      }
    };
    const next = queue.then(run, run);
    queue = next.catch(() => undefined);
    return next;
  };

  return {
    kind: "pglite",
    postgrestDbUri: `postgres://authenticator@127.0.0.1:${port}/postgres?sslmode=disable`,
    // One connection: more would only queue in the socket server. No named prepared statements:
    // every connection shares the one session, so their names would collide.
    postgrestSettings: { pool: 1, preparedStatements: false },
    query,
    // Only `query`'s own connection is left.
    afterPostgrestStopped: () => whenConnections(1),
  };
}
