// Connections, scratch databases and SQL files for the developer commands and the tests.
import pg from "pg";
import { redactUrl } from "../../src/cli/format.ts";

export const defaultDatabaseUrl = "postgres://postgres@127.0.0.1:5432/story_tasks?sslmode=disable";

/** DATABASE_URL, or the local database named story_tasks. */
export function targetDatabaseUrl(): string {
  return process.env.DATABASE_URL || defaultDatabaseUrl;
}

export function databaseName(url: string): string {
  const name = decodeURIComponent(new URL(url).pathname.replace(/^\//, ""));
  if (!name) throw new Error(`the database URL names no database: ${redactUrl(url)}`);
  return name;
}

/** The same server and credentials as `url`, another database. */
export function withDatabaseName(url: string, name: string): string {
  const next = new URL(url);
  next.pathname = `/${encodeURIComponent(name)}`;
  return next.toString();
}

export { redactUrl } from "../../src/cli/format.ts";

export async function withClient<T>(url: string, use: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.end();
  }
}

function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** Drops and creates `url`'s database, leaving it as CREATE DATABASE makes it (an empty public). */
export async function recreateDatabase(url: string): Promise<void> {
  const name = quoteIdentifier(databaseName(url));
  await withClient(withDatabaseName(url, "postgres"), async (admin) => {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${name}`);
  });
}

export async function dropDatabase(url: string): Promise<void> {
  await withClient(withDatabaseName(url, "postgres"), (admin) =>
    admin.query(`DROP DATABASE IF EXISTS ${quoteIdentifier(databaseName(url))} WITH (FORCE)`),
  );
}

/** Creates `url`'s database unless it exists. */
export async function ensureDatabase(url: string): Promise<void> {
  const name = databaseName(url);
  await withClient(withDatabaseName(url, "postgres"), async (admin) => {
    const found = await admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [name]);
    if (found.rowCount === 0) await admin.query(`CREATE DATABASE ${quoteIdentifier(name)}`);
  });
}

/** Runs a script of SQL statements in one round trip; returns the notices the server raised. */
export async function runSqlScript(url: string, sql: string): Promise<string[]> {
  return withClient(url, async (client) => {
    const notices: string[] = [];
    client.on("notice", (notice) => {
      if (notice.severity === "NOTICE") notices.push(notice.message ?? "");
    });
    await client.query(sql);
    return notices;
  });
}
