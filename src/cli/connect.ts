// How the demo and the `story-tasks` CLI reach the story tasks: a Supabase project
// (SUPABASE_URL + SUPABASE_SERVICE_ROLE_KEY), a PostgreSQL server (DATABASE_URL) or an embedded
// PGlite (a data directory, or memory) — the last two behind a local PostgREST.
import type { SupabaseClient } from "@supabase/supabase-js";
import type { Database } from "../../generated/database.types.ts";
import { type LocalStack, startLocalStack } from "../local-stack/index.ts";
import { createNodeSupabaseClient } from "../local-stack/supabase-client.ts";
import { type StoryTasksRepository, createStoryTasksRepository } from "../repository/index.ts";
import { redactUrl } from "./format.ts";

export interface Connection {
  /** Which store this is, in words, for the user. */
  description: string;
  client: SupabaseClient<Database>;
  repo: StoryTasksRepository;
  stack: LocalStack | undefined;
  close(): Promise<void>;
}

export class ConnectionUsageError extends Error {
  override name = "ConnectionUsageError";
}

/** A malformed URL is the user's to fix (a usage error), not a database that cannot be reached. */
function requireUrl(variable: string, value: string, protocols: string[], example: string): void {
  const url = URL.canParse(value) ? new URL(value) : undefined;
  if (!url || !protocols.includes(url.protocol)) {
    throw new ConnectionUsageError(`${variable} must be a URL starting with ${protocols.map((protocol) => `${protocol}//`).join(" or ")}, such as ${example}`);
  }
}

export interface ConnectOptions {
  dataDir?: string | undefined;
  /** Whether memory will do (the demo) or the caller must say where the tasks are (the CLI). */
  inMemoryAllowed: boolean;
  /** With DATABASE_URL: apply the migrations it lacks (`--migrate`); never by default. */
  migrate?: boolean | undefined;
}

export async function connect(options: ConnectOptions): Promise<Connection> {
  const { SUPABASE_URL, SUPABASE_SERVICE_ROLE_KEY, DATABASE_URL } = process.env;
  if (SUPABASE_URL || SUPABASE_SERVICE_ROLE_KEY) {
    if (!SUPABASE_URL || !SUPABASE_SERVICE_ROLE_KEY) throw new ConnectionUsageError("set both SUPABASE_URL and SUPABASE_SERVICE_ROLE_KEY");
    requireUrl("SUPABASE_URL", SUPABASE_URL, ["http:", "https:"], "https://<project>.supabase.co");
    const client = createNodeSupabaseClient(SUPABASE_URL, SUPABASE_SERVICE_ROLE_KEY);
    return { description: `Supabase at ${SUPABASE_URL}`, client, repo: createStoryTasksRepository(client), stack: undefined, close: async () => undefined };
  }
  if (!DATABASE_URL && !options.dataDir && !options.inMemoryAllowed) {
    throw new ConnectionUsageError("say where the tasks are: --data-dir DIR, DATABASE_URL, or SUPABASE_URL with SUPABASE_SERVICE_ROLE_KEY");
  }
  if (DATABASE_URL) requireUrl("DATABASE_URL", DATABASE_URL, ["postgres:", "postgresql:"], "postgres://user@host:5432/database");
  const stack = await startLocalStack(DATABASE_URL ? { databaseUrl: DATABASE_URL, migrate: options.migrate } : { dataDir: options.dataDir });
  const where = DATABASE_URL
    ? `PostgreSQL at ${redactUrl(DATABASE_URL)}`
    : `embedded PGlite ${options.dataDir ? `in ${options.dataDir}` : "in memory"}`;
  return {
    description: `${where}, through PostgREST at ${stack.url}`,
    client: stack.service,
    repo: createStoryTasksRepository(stack.service),
    stack,
    close: () => stack.stop(),
  };
}
