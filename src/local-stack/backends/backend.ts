// What the local stack needs from a database backend: a URI for PostgREST, superuser SQL for
// tests, and a way to stop. One module per backend implements it (postgres-server.ts, pglite.ts).
export interface Backend {
  kind: "postgres" | "pglite";
  /** The libpq connection URI PostgREST logs in with (as Supabase's `authenticator`). */
  postgrestDbUri: string;
  /** PostgREST settings this backend needs. */
  postgrestSettings: { pool?: number; preparedStatements?: boolean };
  /** Direct SQL as the superuser (see LocalStack.query). */
  query<Row>(sql: string, params?: unknown[]): Promise<{ rows: Row[] }>;
  /** Called once PostgREST has stopped, before stopPostgrest() resolves. */
  afterPostgrestStopped?(): Promise<void>;
  /** Releases what the backend opened. */
  stop(): Promise<void>;
}

/** A script of several statements (no parameters) gives one result per statement: keep the last's rows. */
export function resultRows<Row>(result: { rows: unknown[] } | { rows: unknown[] }[]): Row[] {
  const last = Array.isArray(result) ? result[result.length - 1] : result;
  return (last?.rows ?? []) as Row[];
}

/** Runs `cleanups` last to first, all of them, and throws what failed. */
export async function runCleanups(cleanups: (() => Promise<void>)[], what: string): Promise<void> {
  const errors: unknown[] = [];
  for (const cleanup of cleanups.splice(0).reverse()) {
    try {
      await cleanup();
    } catch (error) {
      errors.push(error);
    }
  }
  if (errors.length > 0) throw new AggregateError(errors, `stopping ${what} failed`);
}
