// A local Supabase for tests, the demo, the CLI and benchmarks: a database built from
// supabase/migrations/ (a PostgreSQL server's, or an embedded PGlite: backends/), the real
// PostgREST 12 on a unix socket, one HTTP front on 127.0.0.1 that serves it at `/rest/v1` and
// refuses what the database cannot take (gateway.ts), and supabase-js clients for the API roles,
// signed with a per-run JWT secret. Its packages are optional peer dependencies of the library.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { SupabaseClient } from "@supabase/supabase-js";
import type { Database } from "../../generated/database.types.ts";
import { type Backend, runCleanups } from "./backends/backend.ts";
import { type Gateway, startGateway } from "./gateway.ts";
import { randomJwtSecret, signJwt } from "./jwt.ts";
import { type PostgrestServer, startPostgrest } from "./postgrest.ts";
import { createNodeSupabaseClient } from "./supabase-client.ts";

export { MissingSchemaError } from "./backends/postgres-server.ts";
export { DeployLedgerConflictError } from "./deploy-ledgers.ts";
export { MigrationError, applyMigrations } from "./migrations.ts";
export { signJwt } from "./jwt.ts";
export { MissingOptionalPackageError } from "./optional-packages.ts";
export { maxRequestBodyBytes, maxRequestNesting } from "./request-limits.ts";
export { createNodeSupabaseClient } from "./supabase-client.ts";

export interface LocalStackOptions {
  /** A PostgreSQL server database (already created). Without it: an embedded PGlite. */
  databaseUrl?: string | undefined;
  /**
   * With databaseUrl: apply the migrations of supabase/migrations/ it lacks. Without it, a
   * database lacking the schema is refused with a MissingSchemaError; the stack never runs DDL
   * on a database it did not create unless asked. (The embedded PGlite always migrates.)
   */
  migrate?: boolean | undefined;
  /** With the embedded PGlite: keep the database in this directory (in memory without it). */
  dataDir?: string | undefined;
}

export interface LocalStack {
  kind: "postgres" | "pglite";
  /** The Supabase-shaped base URL (`<url>/rest/v1/...`) that supabase-js, in any process, takes. */
  url: string;
  serviceRoleKey: string;
  anonKey: string;
  /** The secret the keys are signed with, for tokens with other claims (see signJwt). */
  jwtSecret: string;
  /** The same as url: kept for clients that name it so. */
  apiUrl: string;
  /** The fetch the clients use (the global one: the front serves `/rest/v1` itself). */
  fetch: typeof globalThis.fetch;
  /** service_role: bypasses RLS. */
  service: SupabaseClient<Database>;
  anon: SupabaseClient<Database>;
  /**
   * authenticated, with JWT `sub` = userId (what auth.uid() returns).
   * @example
   * const { data } = await stack.asUser(userId).from("story_tasks").select("id"); // only their tasks
   */
  asUser(userId: string): SupabaseClient<Database>;
  /**
   * A client for any key (a JWT signed with jwtSecret), through the same fetch. `retry: false`
   * turns off supabase-js's retries of failed GETs (which take 7 s when PostgREST is down).
   * @example
   * const worker = stack.client(stack.serviceRoleKey, { retry: false });
   */
  client(key: string, options?: { retry?: boolean }): SupabaseClient<Database>;
  /**
   * Direct SQL as the superuser, for tests (counts, checksums, fault injection), through pg on
   * both stacks. Without params the text may hold several statements (the last one's rows are
   * returned). On PGlite each call runs in its own transaction block, so not VACUUM and the like.
   * @example
   * const { rows } = await stack.query<{ n: number }>("SELECT count(*)::int AS n FROM public.story_tasks WHERE status = $1", ["running"]);
   */
  query<Row>(sql: string, params?: unknown[]): Promise<{ rows: Row[] }>;
  /**
   * Stops PostgREST and closes the front's port: requests then fail fast with a connection error.
   * @example
   * await stack.stopPostgrest(); // a connection fault, for a test
   */
  stopPostgrest(): Promise<void>;
  /**
   * Starts PostgREST again behind the same port; a no-op while it runs.
   * @example
   * await stack.startPostgrest();
   */
  startPostgrest(): Promise<void>;
  /**
   * Stops everything it started. Idempotent.
   * @example
   * await stack.stop();
   */
  stop(): Promise<void>;
}

async function startBackend(options: LocalStackOptions, socketDir: string): Promise<Backend> {
  if (options.databaseUrl) {
    const { startPostgresServerBackend } = await import("./backends/postgres-server.ts");
    return startPostgresServerBackend({ databaseUrl: options.databaseUrl, migrate: options.migrate ?? false });
  }
  const { startPgliteBackend } = await import("./backends/pglite.ts");
  return startPgliteBackend({ dataDir: options.dataDir, socketDir });
}

/**
 * Starts a local Supabase: an embedded PGlite (in memory, or `dataDir`), or a PostgreSQL
 * server's database (`databaseUrl`, migrated only with `migrate: true`), behind PostgREST.
 * @example
 * const stack = await startLocalStack({ dataDir: ".data" });
 * const repo = createStoryTasksRepository(stack.service);
 */
export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  // What has been started, undone in reverse order by stop() or when start-up fails half way.
  const cleanups: (() => Promise<void>)[] = [];
  try {
    // Sockets live in a directory only this user can enter (mkdtemp makes it 0700).
    const socketDir = mkdtempSync(path.join(tmpdir(), "story-tasks-stack-"));
    cleanups.push(async () => rmSync(socketDir, { recursive: true, force: true }));
    const backend = await startBackend(options, socketDir);
    cleanups.push(() => backend.stop());

    const jwtSecret = randomJwtSecret();
    const postgrestOptions = {
      dbUri: backend.postgrestDbUri,
      jwtSecret,
      socketPath: path.join(socketDir, "postgrest.sock"),
      logLevel: "error" as const,
      ...backend.postgrestSettings,
    };
    let postgrest: PostgrestServer | undefined;
    let gateway: Gateway | undefined;
    // Front first, so that nothing new reaches a PostgREST that is going away.
    const stopServing = async () => {
      const [front, api] = [gateway, postgrest];
      gateway = undefined;
      postgrest = undefined;
      await front?.stop();
      await api?.stop();
    };
    cleanups.push(stopServing);
    postgrest = await startPostgrest(postgrestOptions);
    gateway = await startGateway({ postgrestSocket: postgrestOptions.socketPath });
    const { port } = gateway;

    const url = `http://127.0.0.1:${port}`;
    const fetch: typeof globalThis.fetch = (input, init) => globalThis.fetch(input, init);
    const client = (key: string, clientOptions: { retry?: boolean } = {}) => createNodeSupabaseClient(url, key, { ...clientOptions, fetch });
    const serviceRoleKey = signJwt({ role: "service_role" }, jwtSecret);
    const anonKey = signJwt({ role: "anon" }, jwtSecret);
    const userClients = new Map<string, SupabaseClient<Database>>();

    let starting: Promise<void> | undefined;
    let stopped: Promise<void> | undefined;
    return {
      kind: backend.kind,
      url,
      apiUrl: url,
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
      query: (sql, params) => backend.query(sql, params),
      async stopPostgrest() {
        await starting?.catch(() => undefined);
        await stopServing();
        await backend.afterPostgrestStopped?.();
      },
      async startPostgrest() {
        if (stopped) throw new Error("the local stack is stopped");
        starting ??= (async () => {
          postgrest ??= await startPostgrest(postgrestOptions);
          gateway ??= await startGateway({ postgrestSocket: postgrestOptions.socketPath, port });
        })().finally(() => (starting = undefined));
        await starting;
      },
      stop() {
        stopped ??= (async () => {
          await starting?.catch(() => undefined);
          await runCleanups(cleanups, "the local stack");
        })();
        return stopped;
      },
    };
  } catch (error) {
    await runCleanups(cleanups, "the local stack").catch(() => undefined);
    throw error;
  }
}
