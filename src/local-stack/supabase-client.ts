// A supabase-js client that runs on Node 20 and keeps no session: what the tests, the demo
// and the benchmarks talk to the local stack (or a real project) with.
import { createClient, type SupabaseClient, type SupabaseClientOptions } from "@supabase/supabase-js";
import WebSocket from "ws";
import type { Database } from "../../generated/database.types.ts";

type WebSocketTransport = NonNullable<NonNullable<SupabaseClientOptions<"public">["realtime"]>["transport"]>;

export interface NodeSupabaseClientOptions {
  /** Used for every HTTP request the client makes (REST, auth, ...). */
  fetch?: typeof globalThis.fetch;
  /**
   * supabase-js's retries of GET/HEAD requests (up to 3, after 1, 2 and 4 s) when fetch fails
   * or PostgREST answers 503/520. supabase-js's default (true) when omitted.
   */
  retry?: boolean;
}

/**
 * `createClient<Database>` with no session handling and, on Node 20 (no global WebSocket),
 * the `ws` transport supabase-js's realtime client needs there.
 * @example
 * const supabase = createNodeSupabaseClient(process.env.SUPABASE_URL!, process.env.SUPABASE_SERVICE_ROLE_KEY!);
 */
export function createNodeSupabaseClient(url: string, key: string, options: NodeSupabaseClientOptions = {}): SupabaseClient<Database> {
  return createClient<Database>(url, key, {
    auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
    // Node 20 has no global WebSocket, and there createClient throws ("Node.js detected but native WebSocket not found.") unless given one.
    ...(globalThis.WebSocket === undefined ? { realtime: { transport: WebSocket as WebSocketTransport } } : {}),
    ...(options.fetch ? { global: { fetch: options.fetch } } : {}),
    ...(options.retry === undefined ? {} : { db: { retry: options.retry } }),
  });
}
