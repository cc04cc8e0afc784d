// The local Supabase stack (src/local-stack/): a PostgreSQL server's database and the embedded
// PGlite, each behind the real PostgREST 12, reached through supabase-js on Node 20.
import { execFileSync } from "node:child_process";
import net from "node:net";
import { createClient } from "@supabase/supabase-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalStack, startLocalStack } from "../src/local-stack/index.ts";
import { signJwt } from "../src/local-stack/jwt.ts";
import { applyMigrations, listMigrationFiles } from "../src/local-stack/migrations.ts";
import { startPostgrest } from "../src/local-stack/postgrest.ts";
import { createNodeSupabaseClient } from "../src/local-stack/supabase-client.ts";
import { createEmptyDatabase, type TestDatabase } from "./support/databases.ts";

/** PostgREST processes this test process started that are still running. */
function postgrestChildren(): number[] {
  return execFileSync("ps", ["-eo", "pid=,ppid=,comm="], { encoding: "utf8" })
    .split("\n")
    .map((line) => line.trim().split(/\s+/))
    .filter(([, ppid, command]) => Number(ppid) === process.pid && command === "postgrest")
    .map(([pid]) => Number(pid));
}

/** Resolves with the connection error, or "connected". */
function tryConnect(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve("connected");
    });
    socket.once("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

async function insertUser(stack: LocalStack): Promise<string> {
  const result = await stack.query<{ id: string }>("INSERT INTO auth.users (id) VALUES (gen_random_uuid()) RETURNING id");
  return result.rows[0]!.id;
}

it.skipIf(globalThis.WebSocket !== undefined)("supabase-js needs a WebSocket implementation on Node 20, which createNodeSupabaseClient gives it", () => {
  expect(() => createClient("http://127.0.0.1:9", "key")).toThrow("Node.js detected but native WebSocket not found.");
  expect(() => createNodeSupabaseClient("http://127.0.0.1:9", "key")).not.toThrow();
});

it("fails with PostgREST's own output when it cannot get ready, and leaves no process", async () => {
  const start = startPostgrest({
    dbUri: "postgres://authenticator@127.0.0.1:9/nowhere?sslmode=disable",
    jwtSecret: "x".repeat(32),
    readyTimeoutMs: 1_500,
  });
  await expect(start).rejects.toThrow(/not ready within 1500 ms[\s\S]*Starting PostgREST 12\.0\.2/);
  expect(postgrestChildren()).toEqual([]);
});

const kinds = [
  { name: "PostgreSQL server", kind: "postgres" },
  { name: "embedded PGlite", kind: "pglite" },
] as const;

describe.each(kinds)("local stack on $name", ({ kind }) => {
  let database: TestDatabase | undefined;
  let stack: LocalStack;

  beforeAll(async () => {
    if (kind === "postgres") database = await createEmptyDatabase("local_stack");
    stack = await startLocalStack(database ? { databaseUrl: database.url } : {});
  });

  afterAll(async () => {
    await stack?.stop();
    await database?.drop();
  });

  it("is built from every migration", async () => {
    expect(stack.kind).toBe(kind);
    const applied = await stack.query<{ version: string }>("SELECT version FROM embedded.applied_migrations ORDER BY version");
    expect(applied.rows.map((row) => row.version)).toEqual(listMigrationFiles());
    if (database) expect(await applyMigrations(database.url)).toEqual([]);
  });

  it("lets service_role write and read stories and tasks", async () => {
    const story = await stack.service.from("stories").insert({ display_name: "Local stack" }).select().single();
    expect(story.error).toBeNull();
    const task = await stack.service.from("story_tasks").insert({ story_id: story.data!.id, operation: "CREATE_SHOT_IMAGES" }).select("id").single();
    expect(task.error).toBeNull();

    const read = await stack.service.from("story_tasks").select("id, story_id, operation, status, progress").eq("id", task.data!.id).single();
    expect(read.error).toBeNull();
    expect(read.data).toEqual({ id: task.data!.id, story_id: story.data!.id, operation: "CREATE_SHOT_IMAGES", status: "queued", progress: 0 });
  });

  it("refuses anon: no privileges on story_tasks", async () => {
    const result = await stack.anon.from("story_tasks").select("id");
    expect(result.data).toBeNull();
    expect(result.status).toBe(401);
    expect(result.error).toMatchObject({ code: "42501", message: "permission denied for table story_tasks" });
  });

  it("shows an authenticated user only the tasks they requested", async () => {
    const [alice, bob] = [await insertUser(stack), await insertUser(stack)];
    const inserted = await stack.service
      .from("story_tasks")
      .insert([
        { operation: "CREATE_SHOT_IMAGES", requested_by: alice },
        { operation: "CREATE_CONSTITUTION", requested_by: alice },
        { operation: "CREATE_SHOT_IMAGES", requested_by: bob },
        { operation: "CREATE_SHOT_IMAGES" },
      ])
      .select("id, requested_by");
    expect(inserted.error).toBeNull();
    const ofAlice = inserted.data!.filter((row) => row.requested_by === alice).map((row) => row.id).sort();

    const seen = await stack.asUser(alice).from("story_tasks").select("id, requested_by").order("id");
    expect(seen.error).toBeNull();
    expect(seen.data!.map((row) => row.id)).toEqual(ofAlice);

    const write = await stack.asUser(alice).from("story_tasks").insert({ operation: "CREATE_SHOT_IMAGES", requested_by: alice });
    expect(write.error).toMatchObject({ code: "42501" });
  });

  it("refuses tokens that are expired or signed with another secret", async () => {
    const now = Math.floor(Date.now() / 1000);
    const expired = await stack.client(signJwt({ role: "service_role", iat: now - 120, exp: now - 60 }, stack.jwtSecret)).from("stories").select("id");
    expect(expired.status).toBe(401);
    expect(expired.error).toMatchObject({ code: "PGRST301" });
    const forged = await stack.client(signJwt({ role: "service_role" }, "another secret, at least 32 characters long")).from("stories").select("id");
    expect(forged.status).toBe(401);
  });

  it("serves 50 concurrent inserts and selects, and direct queries never run inside PostgREST's transactions", async () => {
    const story = await stack.service.from("stories").insert({ display_name: "Concurrency" }).select("id").single();
    const storyId = story.data!.id;

    // Direct queries while the requests run: as the superuser, outside any request's transaction.
    const seenByQuery = new Set<string>();
    let loading = true;
    const poller = (async () => {
      while (loading) {
        const row = (await stack.query<{ who: string; claims: string }>("SELECT current_user AS who, coalesce(current_setting('request.jwt.claims', true), '') AS claims")).rows[0]!;
        seenByQuery.add(`${row.who} claims=${row.claims}`);
      }
    })();

    const results = await Promise.all(
      Array.from({ length: 50 }, async (_, i) => {
        const insert = await stack.service.from("story_tasks").insert({ story_id: storyId, operation: "CREATE_SHOT_IMAGES", payload: { i } }).select("id").single();
        const select = await stack.service.from("story_tasks").select("id, payload").eq("story_id", storyId);
        return { insert, select };
      }),
    );
    loading = false;
    await poller;

    expect(results.map(({ insert }) => insert.error)).toEqual(Array(50).fill(null));
    expect(results.map(({ select }) => select.error)).toEqual(Array(50).fill(null));
    const ids = new Set(results.map(({ insert }) => insert.data!.id));
    expect(ids.size).toBe(50);
    // Each select sees at least its own insert.
    for (const { insert, select } of results) expect(select.data!.map((row) => row.id)).toContain(insert.data!.id);
    const count = await stack.query<{ n: number }>("SELECT count(*)::int AS n FROM public.story_tasks WHERE story_id = $1", [storyId]);
    expect(count.rows).toEqual([{ n: 50 }]);
    expect([...seenByQuery]).toEqual(["postgres claims="]);
  });

  it("stops and restarts PostgREST on the same port: requests fail fast in between", async () => {
    const port = Number(new URL(stack.url).port);
    const service = stack.client(stack.serviceRoleKey, { retry: false });
    await stack.stopPostgrest();
    expect(await tryConnect(port)).toBe("ECONNREFUSED");

    const started = performance.now();
    const down = await service.from("stories").select("id");
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(down.data).toBeNull();
    expect(down.error?.message).toMatch(/fetch failed/);
    expect(down.error?.details).toMatch(/ECONNREFUSED/);
    // Writes are never retried by supabase-js; they fail at once with the default client too.
    const write = await stack.service.from("stories").insert({ display_name: "While down" });
    expect(write.error?.message).toMatch(/fetch failed/);
    // The database is still there.
    expect((await stack.query<{ one: number }>("SELECT 1 AS one")).rows).toEqual([{ one: 1 }]);

    await stack.startPostgrest();
    expect(new URL(stack.url).port).toBe(String(port));
    const up = await service.from("stories").select("id").limit(1);
    expect(up.error).toBeNull();
    expect(up.data).toHaveLength(1);
  });

  it("stop() ends PostgREST and frees its port, and can be called again", async () => {
    const port = Number(new URL(stack.url).port);
    expect(postgrestChildren()).toHaveLength(1);
    await stack.stop();
    await stack.stop();
    expect(postgrestChildren()).toEqual([]);
    expect(await tryConnect(port)).toBe("ECONNREFUSED");
    await expect(stack.query("SELECT 1")).rejects.toThrow();
  });
});
