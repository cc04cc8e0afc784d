// The `story-tasks` CLI as a user runs it (`pnpm -s story-tasks ...`, a real process) against a
// PostgreSQL server behind PostgREST: tail following the log by seq, rescue, prune, and an exit
// code and one stderr line for each kind of failure.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StoryTaskEventRecord } from "../generated/records.ts";
import type { Output } from "../src/cli/commands.ts";
import type { Connection } from "../src/cli/connect.ts";
import { runStoryTasks } from "../src/cli/main.ts";
import { type LocalStack, signJwt, startLocalStack } from "../src/local-stack/index.ts";
import { type StoryTasksRepository, createStoryTasksRepository } from "../src/repository/index.ts";
import { type TestDatabase, connect, createEmptyDatabase } from "./support/databases.ts";
import { startGatedProxy } from "./support/gated-proxy.ts";
import { type ScriptResult, script, startScript, stderrLines } from "./support/scripts.ts";
import { waitUntil } from "./support/wait.ts";

/** Exits `exitCode` with exactly `line` on stderr (besides supabase-js's Node 20 notice), and no stack trace anywhere. */
function expectFailure(run: ScriptResult, exitCode: number, line: RegExp): void {
  expect(run.status, run.stderr).toBe(exitCode);
  expect(stderrLines(run.stderr)).toEqual([expect.stringMatching(line)]);
  expect(`${run.stdout}\n${run.stderr}`).not.toMatch(/\n\s+at /);
}

describe("story-tasks on a PostgreSQL server", () => {
  let database: TestDatabase;
  let stack: LocalStack;
  let repo: StoryTasksRepository;
  const cli = (args: string[], env: NodeJS.ProcessEnv = {}) => script("story-tasks", args, { DATABASE_URL: database.url, ...env });
  /** As the superuser: the clock the triggers keep, set back. */
  const silence = (taskId: string, interval: string) =>
    stack.query(`
      SET LOCAL session_replication_role = replica;
      UPDATE public.story_tasks SET updated_at = now() - interval '${interval}', started_at = now() - interval '${interval}' WHERE id = '${taskId}';
      UPDATE public.story_task_events SET created_at = now() - interval '${interval}' WHERE task_id = '${taskId}';`);

  beforeAll(async () => {
    database = await createEmptyDatabase("cli");
    stack = await startLocalStack({ databaseUrl: database.url, migrate: true });
    repo = createStoryTasksRepository(stack.service);
  });
  afterAll(async () => {
    await stack?.stop();
    await database?.drop();
  });

  it("tail follows the log by seq: 5,000 events appended between two of its polls are printed once each, in order", async () => {
    const task = await repo.createTask({ operation: "CREATE_SHOT_VIDEO", status: "running" }, { event: { eventType: "info", message: "Started" } });
    const frames = Array.from({ length: 5000 }, (_, i) => `Frame ${i + 1} of 5000`);
    // The tail reaches the stack through a proxy whose gate closes as its first poll's events come back.
    const proxy = await startGatedProxy(stack.url);
    proxy.closeAfter((request) => request.path.includes("/story_task_events"));
    const tail = startScript("story-tasks", ["--json", "tail", task.id, "--interval-ms", "50"], { SUPABASE_URL: proxy.url, SUPABASE_SERVICE_ROLE_KEY: stack.serviceRoleKey });
    let before = 0;
    try {
      await tail.line(/"message":"Started"/);
      // Its second poll has begun and waits at the gate: nothing is read while the 5,000 go in.
      await waitUntil(() => expect(proxy.held()).toBe(1), 60_000);
      for (let batch = 0; batch < 5; batch++) {
        await repo.appendEvents(task.id, frames.slice(batch * 1000, (batch + 1) * 1000).map((message) => ({ eventType: "progress" as const, message })));
      }
      before = proxy.forwarded.length;
      proxy.open();
      await tail.line(/"message":"Frame 5000 of 5000"/);
      await repo.updateStatus(task.id, { status: "succeeded", event: { message: "Rendered" } });
      await tail.line(/^\{"task":/);
      expect(await tail.exited).toBe(0);
    } finally {
      tail.stop();
      await proxy.stop();
    }
    // The second poll: the task, then five full pages of 1,000 and an empty one.
    const secondPoll = proxy.forwarded.slice(before, before + 7).map((request) => request.path.replace(/\?.*/, ""));
    expect(secondPoll).toEqual(["/rest/v1/story_tasks", ...Array<string>(6).fill("/rest/v1/story_task_events")]);
    const printed = tail.lines.slice(0, -1).map((line) => JSON.parse(line) as StoryTaskEventRecord);
    expect(printed.map((event) => event.message)).toEqual(["Started", ...frames, "Rendered"]);
    const seqs = printed.map((event) => event.seq);
    expect(seqs).toEqual([...new Set(seqs)].sort((a, b) => a - b));
    expect(JSON.parse(tail.lines.at(-1)!)).toMatchObject({ task: { id: task.id, status: "succeeded", progress: 100 } });
    expect(stderrLines(tail.stderr())).toEqual([]);
  });

  it("rescue --stale-after fails the running tasks silent for longer, each with an error event, and prints them", async () => {
    const [stale, later, live] = await Promise.all([1, 2, 3].map(() => repo.createTask({ operation: "CREATE_SHOT_IMAGES", status: "running" })));
    await silence(stale!.id, "1 hour");
    const rescued = await cli(["rescue", "--stale-after", "15m"]);
    expect(rescued.status, rescued.stderr).toBe(0);
    expect(rescued.stdout).toMatch(new RegExp(`^Failed 1 stale task:\\nid .*\\n${stale!.id} +CREATE_SHOT_IMAGES +failed +0% `));
    expect(await repo.getTask(stale!.id)).toMatchObject({ status: "failed" });
    expect((await repo.listEvents(stale!.id)).at(-1)).toMatchObject({ eventType: "error", message: expect.stringMatching(/^No activity for 01:00:\d\d/) });

    await silence(later!.id, "45 minutes");
    const json = await cli(["--json", "rescue", "--stale-after", "30m", "--message", "Worker lost"]);
    expect(json.status, json.stderr).toBe(0);
    expect((JSON.parse(json.stdout) as { id: string; status: string }[]).map((task) => [task.id, task.status])).toEqual([[later!.id, "failed"]]);
    expect((await repo.listEvents(later!.id)).at(-1)).toMatchObject({ eventType: "error", message: "Worker lost" });

    const none = await cli(["rescue", "--stale-after", "90s"]);
    expect(none.stdout.trim()).toBe("No running task was silent for longer than 90s.");
    expect(await repo.getTask(live!.id)).toMatchObject({ status: "running" });
  });

  it("prune --older-than deletes the tasks finished before then with their events, in batches, and says how many", async () => {
    const recent = await repo.createTask({ operation: "CREATE_STORY", status: "running" });
    await repo.updateStatus(recent.id, { status: "succeeded", event: { message: "Done" } });
    const old = await stack.query<{ id: string }>(`
      SET LOCAL session_replication_role = replica;
      WITH old AS (
        INSERT INTO public.story_tasks (operation, status, progress, started_at, finished_at)
        SELECT 'CREATE_STORY', 'succeeded', 100, now() - interval '41 days', now() - interval '40 days' - g * interval '1 second'
        FROM generate_series(1, 3) AS g
        RETURNING id
      ), events AS (
        INSERT INTO public.story_task_events (task_id, event_type, message)
        SELECT id, 'info', message FROM old, unnest(ARRAY['Started', 'Succeeded']) AS message
      )
      SELECT id FROM old;`);
    const pruned = await cli(["prune", "--older-than", "30d", "--batch-size", "2"]);
    expect(pruned.status, pruned.stderr).toBe(0);
    expect(pruned.stdout.trim()).toMatch(/^Deleted 3 tasks finished before \d{4}-\d\d-\d\dT[\d:.]+Z and their 6 events, in 2 batches\.$/);
    const left = await stack.query<{ n: number }>("SELECT count(*)::int AS n FROM public.story_tasks WHERE id = ANY($1::uuid[])", [old.rows.map((row) => row.id)]);
    expect(left.rows[0]!.n).toBe(0);
    expect(await repo.listEvents(recent.id)).not.toHaveLength(0);

    const again = await cli(["--json", "prune", "--older-than", "30d"]);
    expect(JSON.parse(again.stdout)).toEqual({ finishedBefore: expect.any(String), tasks: 0, events: 0, batches: 1 });
  });

  describe("each kind of failure: its exit code, one line on stderr saying which it is, no stack trace", () => {
    it("2, usage: a malformed option, command or URL, named, before anything connects", async () => {
      const taskId = randomUUID();
      const nowhere = { DATABASE_URL: "" };
      const cases: [string[], NodeJS.ProcessEnv, RegExp][] = [
        [["tail", taskId, "--interval-ms", "NaN"], nowhere, /^story-tasks: usage: --interval-ms must be a whole number from 10 to 3600000; got "NaN"$/],
        [["tail", taskId, "--interval-ms", "5"], nowhere, /^story-tasks: usage: --interval-ms must be a whole number from 10 to 3600000; got "5"$/],
        [["rescue", "--stale-after", "15"], nowhere, /^story-tasks: usage: --stale-after must be a positive whole number with a unit \(ms, s, m, h or d\), .*; got "15"$/],
        [["prune", "--older-than", "30 days"], nowhere, /^story-tasks: usage: --older-than must be a positive whole number with a unit .*; got "30 days"$/],
        [["prune", "--older-than", "30d", "--batch-size", "1e3"], nowhere, /^story-tasks: usage: --batch-size must be a positive whole number; got "1e3"$/],
        [["rescue"], nowhere, /^story-tasks: usage: rescue needs --stale-after$/],
        [["list", "--story", taskId, "--reason", "why"], nowhere, /^story-tasks: usage: --reason is not an option of list: list --story <storyId> \[--limit N\]$/],
        [["frobnicate"], nowhere, /^story-tasks: usage: unknown command "frobnicate": the commands are list, show, tail, cancel, rescue, prune$/],
        [["show", taskId], { SUPABASE_URL: "localhost:54321", SUPABASE_SERVICE_ROLE_KEY: "key" }, /^story-tasks: usage: SUPABASE_URL must be a URL starting with http:\/\/ or https:\/\/, /],
        [["show", taskId], { DATABASE_URL: "127.0.0.1:5432/story_tasks" }, /^story-tasks: usage: DATABASE_URL must be a URL starting with postgres:\/\/ or postgresql:\/\/, /],
        [["show", "task-1"], {}, /^story-tasks: usage: Invalid story task input: taskId must be a UUID/],
      ];
      for (const [args, env, line] of cases) expectFailure(await cli(args, env), 2, line);
    });

    it("3, not found; 4, refused by the status machine", async () => {
      const taskId = randomUUID();
      expectFailure(await cli(["show", taskId]), 3, new RegExp(`^story-tasks: not found: Story task ${taskId} not found$`));
      const done = await repo.createTask({ operation: "CREATE_STORY", status: "running" });
      await repo.updateStatus(done.id, { status: "succeeded", event: { message: "Done" } });
      expectFailure(await cli(["cancel", done.id]), 4, /^story-tasks: refused by the status machine: story task .* is succeeded, which is final/);
    });

    it("5, cannot reach the database: nothing listening at SUPABASE_URL or DATABASE_URL, or no such database", async () => {
      expectFailure(
        await cli(["cancel", randomUUID()], { SUPABASE_URL: "http://127.0.0.1:1", SUPABASE_SERVICE_ROLE_KEY: stack.serviceRoleKey }),
        5,
        /^story-tasks: cannot reach the database: Story task storage unreachable: /,
      );
      expectFailure(await cli(["show", randomUUID()], { DATABASE_URL: "postgres://postgres@127.0.0.1:1/none" }), 5, /^story-tasks: cannot reach the database: .*ECONNREFUSED/);
      const missing = new URL(database.url);
      missing.pathname = `/${missing.pathname.slice(1)}_missing`;
      expectFailure(await cli(["show", randomUUID()], { DATABASE_URL: missing.toString() }), 5, /^story-tasks: cannot reach the database: database ".*_missing" does not exist$/);
    });

    it("7, database schema: a migration that fails, a database another deploy path keeps (no schema: cli-migrate.test.ts)", async () => {
      const broken = await createEmptyDatabase("cli_broken");
      const ledgered = await createEmptyDatabase("cli_ledgered");
      try {
        const setUp = async (url: string, sql: string) => {
          const client = await connect(url);
          await client.query(sql).finally(() => client.end());
        };
        await setUp(broken.url, "CREATE TABLE public.story_tasks (id integer)");
        await setUp(ledgered.url, "CREATE SCHEMA supabase_migrations; CREATE TABLE supabase_migrations.schema_migrations (version text PRIMARY KEY)");
        expectFailure(
          await cli(["--migrate", "list", "--story", randomUUID()], { DATABASE_URL: broken.url }),
          7,
          /^story-tasks: database schema: migration \d+_init\.sql failed: relation "story_tasks" already exists$/,
        );
        expectFailure(
          await cli(["--migrate", "list", "--story", randomUUID()], { DATABASE_URL: ledgered.url }),
          7,
          /^story-tasks: database schema: this database is deployed with `pnpm db:push` .*, whose ledger is supabase_migrations\.schema_migrations/,
        );
      } finally {
        await broken.drop();
        await ledgered.drop();
      }
    });

    it("8, access refused: a key the project did not sign", async () => {
      const forged = signJwt({ role: "service_role" }, "a-secret-that-is-not-this-stacks-own-secret");
      expectFailure(
        await cli(["show", randomUUID()], { SUPABASE_URL: stack.url, SUPABASE_SERVICE_ROLE_KEY: forged }),
        8,
        /^story-tasks: access refused: Story task request not allowed \(HTTP 401\): /,
      );
    });

    it("9, temporary: a statement cancelled (57014, retryable, as by a statement timeout) while it waits for the task's row lock", async () => {
      const task = await repo.createTask({ operation: "CREATE_SHOT_AUDIO", status: "running" });
      const holder = await connect(database.url);
      holder.on("error", () => undefined);
      try {
        await holder.query("BEGIN");
        await holder.query("SELECT 1 FROM public.story_tasks WHERE id = $1 FOR UPDATE", [task.id]);
        const cancelling = cli(["cancel", task.id]);
        const waiting = await waitUntil(async () => {
          const { rows } = await stack.query<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND usename = 'authenticator' AND wait_event_type = 'Lock'");
          expect(rows).toHaveLength(1);
          return rows[0]!.pid;
        }, 60_000, 20);
        await stack.query("SELECT pg_cancel_backend($1)", [waiting]);
        expectFailure(await cancelling, 9, /^story-tasks: temporary failure, try again: Story task request failed \(57014\): canceling statement due to user request$/);
      } finally {
        await holder.query("ROLLBACK");
        await holder.end();
      }
      expect(await repo.getTask(task.id)).toMatchObject({ status: "running" });
    });

    it("1, unexpected: SUPABASE_URL that is some other HTTP server", async () => {
      expectFailure(
        await cli(["show", randomUUID()], { SUPABASE_URL: `${stack.url}/elsewhere`, SUPABASE_SERVICE_ROLE_KEY: stack.serviceRoleKey }),
        1,
        /^story-tasks: unexpected failure: Story task request failed: no route for \/elsewhere\/rest\/v1\/story_tasks/,
      );
    });
  });

  describe("when closing the connection fails (injected: no real stack's close was found to fail)", () => {
    /** runStoryTasks on this stack, with a close() that stops nothing and throws `failure`. */
    async function run(argv: string[], failure: Error): Promise<{ exitCode: number; out: string[]; err: string[] }> {
      const out: string[] = [];
      const err: string[] = [];
      const output: Output = { out: (text) => out.push(text), err: (text) => err.push(text) };
      const connection: Connection = {
        description: "the test's stack",
        client: stack.service,
        repo,
        stack: undefined,
        close: async () => {
          throw failure;
        },
      };
      const exitCode = await runStoryTasks(argv, { output, connect: async () => connection });
      return { exitCode, out, err };
    }

    it("after a failed command, the command's exit code stands and the close failure gets one line of its own", async () => {
      const taskId = randomUUID();
      const stopping = new AggregateError([new Error("PostgREST exited with code 1:\nFATAL: terminating\n  detail")], "stopping the local stack failed");
      const failed = await run(["show", taskId], stopping);
      expect(failed.exitCode).toBe(3);
      expect(failed.err).toEqual([
        `story-tasks: not found: Story task ${taskId} not found`,
        "story-tasks: unexpected failure: closing the connection failed too: stopping the local stack failed: PostgREST exited with code 1: | FATAL: terminating | detail",
      ]);
    });

    it("after a command that worked, its output stands and the close failure decides the exit code", async () => {
      const storyId = randomUUID();
      const closed = await run(["list", "--story", storyId], new Error("the pool would not end"));
      expect(closed.out).toEqual([`No tasks for story ${storyId}.`]);
      expect(closed.exitCode).toBe(1);
      expect(closed.err).toEqual(["story-tasks: unexpected failure: closing the connection failed: the pool would not end"]);
    });
  });
});
