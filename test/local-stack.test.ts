// The local Supabase stack (src/local-stack/): a PostgreSQL server's database and the embedded
// PGlite, each behind the real PostgREST 12 and the stack's one HTTP front, reached through
// supabase-js on Node 20.
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { createClient } from "@supabase/supabase-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { projectRoot } from "../scripts/lib/atlas-cli.ts";
import { type LocalStack, MissingSchemaError, maxRequestBodyBytes, maxRequestNesting, startLocalStack } from "../src/local-stack/index.ts";
import { signJwt } from "../src/local-stack/jwt.ts";
import { applyMigrations, listMigrationFiles } from "../src/local-stack/migrations.ts";
import { startPostgrest } from "../src/local-stack/postgrest.ts";
import { createNodeSupabaseClient } from "../src/local-stack/supabase-client.ts";
import { connect, createEmptyDatabase, type TestDatabase } from "./support/databases.ts";
import { waitForCondition } from "./support/wait.ts";

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

/** The TCP ports the given processes listen on, from /proc (IPv4 and IPv6). */
function listeningPorts(pids: number[]): number[] {
  const inodes = new Set<string>();
  for (const pid of pids) {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      const target = (() => {
        try {
          return readlinkSync(`/proc/${pid}/fd/${fd}`);
        } catch {
          return "";
        }
      })();
      const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
      if (inode) inodes.add(inode);
    }
  }
  const ports = new Set<number>();
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    for (const line of readFileSync(table, "utf8").split("\n").slice(1)) {
      const fields = line.trim().split(/\s+/);
      // local_address is HEX_IP:HEX_PORT; state 0A is LISTEN; field 9 is the inode.
      if (fields[3] === "0A" && inodes.has(fields[9] ?? "")) ports.add(Number.parseInt(fields[1]!.split(":")[1]!, 16));
    }
  }
  return [...ports].sort((a, b) => a - b);
}

/** Whether a process is gone (a zombie counts as gone: it runs nothing and holds no port). */
function gone(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.startsWith("Z") ?? true;
  } catch {
    return true;
  }
}

/** Counts the requests a client sends: what "no retry" means, without a clock. */
function countingFetch(): { fetch: typeof globalThis.fetch; readonly count: number } {
  let count = 0;
  return {
    fetch: (input, init) => {
      count += 1;
      return globalThis.fetch(input, init);
    },
    get count() {
      return count;
    },
  };
}

const nested = (depth: number) => "[".repeat(depth) + "]".repeat(depth);

async function insertUser(stack: LocalStack): Promise<string> {
  const result = await stack.query<{ id: string }>("INSERT INTO auth.users (id) VALUES (gen_random_uuid()) RETURNING id");
  return result.rows[0]!.id;
}

it("createNodeSupabaseClient works on Node 20, where supabase-js alone has no WebSocket, and on Node 22", () => {
  const nodeMajor = Number(process.versions.node.split(".")[0]);
  if (nodeMajor < 22) expect(() => createClient("http://127.0.0.1:9", "key")).toThrow("Node.js detected but native WebSocket not found.");
  else expect(globalThis.WebSocket).toBeTypeOf("function");
  expect(() => createNodeSupabaseClient("http://127.0.0.1:9", "key")).not.toThrow();
});

it("fails with PostgREST's own output when it cannot get ready, and leaves no process", async () => {
  const socketDir = mkdtempSync(path.join(tmpdir(), "story-tasks-postgrest-"));
  try {
    const start = startPostgrest({
      dbUri: "postgres://authenticator@127.0.0.1:9/nowhere?sslmode=disable",
      jwtSecret: "x".repeat(32),
      socketPath: path.join(socketDir, "postgrest.sock"),
      readyTimeoutMs: 1_500,
    });
    await expect(start).rejects.toThrow(/not ready within 1500 ms[\s\S]*Starting PostgREST 12\.0\.2/);
    expect(postgrestChildren()).toEqual([]);
  } finally {
    rmSync(socketDir, { recursive: true, force: true });
  }
});

describe("on a PostgreSQL database it did not create", () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createEmptyDatabase("local_stack_no_ddl");
  });
  afterAll(async () => {
    await database?.drop();
  });

  const tables = async () => {
    const client = await connect(database.url);
    try {
      return (await client.query<{ tables: string[] }>("SELECT array_agg(table_schema || '.' || table_name ORDER BY 1) AS tables FROM information_schema.tables WHERE table_schema IN ('public', 'embedded')")).rows[0]!.tables;
    } finally {
      await client.end();
    }
  };

  it("refuses an empty database without migrate, in one sentence, and runs no DDL", async () => {
    const refused = startLocalStack({ databaseUrl: database.url });
    await expect(refused).rejects.toBeInstanceOf(MissingSchemaError);
    await expect(refused).rejects.toThrow(
      /^The database "story_tasks_test_local_stack_no_ddl_\w+" at 127\.0\.0\.1:5432 has no story-task schema \(public\.story_tasks and public\.story_task_events missing\): deploy it .* or let the local stack apply supabase\/migrations\/ with --migrate \(`migrate: true`\)\.$/,
    );
    expect(await tables()).toBeNull();
    expect(postgrestChildren()).toEqual([]);
  });

  it("migrates with migrate: true, then serves it without; a migration it lacks is refused again", async () => {
    const migrated = await startLocalStack({ databaseUrl: database.url, migrate: true });
    await migrated.stop();
    expect(await tables()).toEqual(expect.arrayContaining(["embedded.applied_migrations", "public.story_task_events", "public.story_tasks"]));

    const again = await startLocalStack({ databaseUrl: database.url });
    expect((await again.service.from("story_tasks").select("id")).error).toBeNull();
    const last = listMigrationFiles().at(-1)!;
    await again.query("DELETE FROM embedded.applied_migrations WHERE version = $1", [last]);
    await again.stop();
    await expect(startLocalStack({ databaseUrl: database.url })).rejects.toThrow(`has not applied ${last}: deploy it`);
  });
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
    stack = await startLocalStack(database ? { databaseUrl: database.url, migrate: true } : {});
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
    const requests = countingFetch();
    const service = createNodeSupabaseClient(stack.url, stack.serviceRoleKey, { fetch: requests.fetch, retry: false });
    await stack.stopPostgrest();
    expect(await tryConnect(port)).toBe("ECONNREFUSED");

    const down = await service.from("stories").select("id");
    // Failed at the first attempt, not after retries.
    expect(requests.count).toBe(1);
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

  it("listens on one TCP port, the front: PostgREST and the database are on unix sockets", () => {
    const postgrest = postgrestChildren();
    expect(postgrest).toHaveLength(1);
    expect(listeningPorts([process.pid, ...postgrest])).toEqual([Number(new URL(stack.url).port)]);
  });

  it(`refuses a body nested ${8_000} arrays deep with PostgreSQL's 413 54001, unauthenticated, and keeps serving`, async () => {
    const body = JSON.stringify({ operation: "CREATE_STORY", payload: "PAYLOAD" }).replace('"PAYLOAD"', nested(8_000));
    expect(body.length).toBeLessThan(17_000);
    const refused = await fetch(`${stack.url}/rest/v1/story_tasks`, { method: "POST", headers: { "content-type": "application/json" }, body });
    expect(refused.status).toBe(413);
    expect(await refused.json()).toMatchObject({ code: "54001", message: "stack depth limit exceeded" });

    const deepFilter = await fetch(`${stack.url}/rest/v1/story_tasks?payload=eq.${nested(maxRequestNesting + 1)}`, { headers: { apikey: stack.serviceRoleKey, authorization: `Bearer ${stack.serviceRoleKey}` } });
    expect(deepFilter.status).toBe(413);
    expect(await deepFilter.json()).toMatchObject({ code: "54001" });

    // At the limit, the request reaches the database (here: anon has no rights).
    const atLimit = await fetch(`${stack.url}/rest/v1/story_tasks`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ operation: "CREATE_STORY", payload: "PAYLOAD" }).replace('"PAYLOAD"', nested(maxRequestNesting - 1)),
    });
    expect(await atLimit.json()).toMatchObject({ code: "42501" });
    const read = await stack.service.from("stories").select("id").limit(1);
    expect(read.error).toBeNull();
  });

  it(`refuses a body over ${maxRequestBodyBytes} bytes with 413 54000 before the database sees it, and keeps serving`, async () => {
    const before = (await stack.query<{ n: number }>("SELECT count(*)::int AS n FROM public.story_tasks")).rows[0]!.n;
    const refused = await stack.service.from("story_tasks").insert({ operation: "CREATE_STORY", payload: { text: "x".repeat(maxRequestBodyBytes) } });
    expect(refused.status).toBe(413);
    expect(refused.error).toMatchObject({ code: "54000", message: "program limit exceeded" });
    expect((await stack.query<{ n: number }>("SELECT count(*)::int AS n FROM public.story_tasks")).rows[0]!.n).toBe(before);
    const read = await stack.service.from("stories").select("id").limit(1);
    expect(read.error).toBeNull();
  });

  it.each(["SIGTERM", "SIGKILL"] as const)("a process that starts a stack and is killed with %s leaves no PostgREST behind", async (signal) => {
    const child = spawn(process.execPath, ["--import", "tsx", path.join(projectRoot, "test/support/stack-process.ts")], {
      cwd: projectRoot,
      env: { ...process.env, STACK_DATABASE_URL: database?.url ?? "" },
      stdio: ["ignore", "pipe", "inherit"],
    });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
    const exited = new Promise((resolve) => child.once("exit", resolve));
    try {
      await waitForCondition(() => output.includes("\n") || child.exitCode !== null, "the child's stack starting", 60_000);
      const { postgrest } = JSON.parse(output) as { postgrest: number[] };
      expect(postgrest).toHaveLength(1);
      expect(gone(postgrest[0]!)).toBe(false);
      child.kill(signal);
      await exited;
      await waitForCondition(() => gone(postgrest[0]!), `PostgREST ${postgrest[0]} ending after its parent's ${signal}`);
    } finally {
      child.kill("SIGKILL");
    }
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
