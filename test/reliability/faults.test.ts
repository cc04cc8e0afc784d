// Faults under load: PostgREST stopped in the middle of a burst of writes (both stacks), and
// PostgREST's database connections terminated mid-operation (the PostgreSQL server only: PGlite
// is one embedded session, with no backends to terminate). Every call settles, with a result or
// one of the repository's errors; the repository works again afterwards; and each atomic
// function happened entirely or not at all (see verifyHistories).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PostgrestError } from "@supabase/supabase-js";
import {
  StoryTasksConnectionError,
  StoryTasksRepositoryError,
  type StoryTasksRepository,
  classifyStoryTaskError,
  createStoryTasksRepository,
} from "../../src/repository/index.ts";
import { type TestStack, stacks, tableState } from "../support/stacks.ts";
import {
  type PlannedWrite,
  type TaskStart,
  countBy,
  createTasks,
  describeError,
  expectRepositoryError,
  expectRepositoryWorks,
  fire,
  planWrites,
  report,
  retryUntil,
  settleWithin,
  sleep,
  verifyHistories,
} from "./helpers.ts";

/** Longer than any call may take here: a call still pending after this has hung. */
const hangMs = 20_000;

const outcomeKey = (write: PlannedWrite) => (write.call.outcome.status === "rejected" ? describeError(write.call.outcome.reason).split(":")[0]! : write.call.outcome.status);

describe.each(stacks)("PostgREST stopped mid-burst on $name", ({ start }) => {
  let running: TestStack;
  /** No retries: a read fails at once while PostgREST is down, rather than after 7 s. */
  let repo: StoryTasksRepository;
  /** The default client (supabase-js retries failed GETs up to 3 times, after 1, 2 and 4 s). */
  let retrying: StoryTasksRepository;

  beforeAll(async () => {
    running = await start("reliability_faults");
    repo = createStoryTasksRepository(running.stack.client(running.stack.serviceRoleKey, { retry: false }));
    retrying = createStoryTasksRepository(running.stack.service);
  });
  afterAll(async () => {
    await running?.stop();
  });

  it("every call settles with a result or a StoryTasksConnectionError, the repository recovers, nothing is half written", async () => {
    const { stack } = running;
    const tasks = await createTasks(repo, 10);
    const writes: PlannedWrite[] = [];
    const downWrites: string[] = [];
    let cutOff = 0;

    for (let round = 0; round < 3; round++) {
      // 100 writes, most appendEvent with a progress, some updateStatus; reads alongside.
      const burst = planWrites(`stop r${round}`, tasks, 100, { status: 0.1, plain: 0.1 }, 1000 + round);
      writes.push(...burst);
      let resolved = 0;
      let stopping: Promise<void> | undefined;
      // Stop PostgREST once 30 writes have resolved: the rest are queued, in flight, or not yet sent.
      const burstDone = fire(repo, burst, hangMs, (write) => {
        if (write.call.outcome.status === "fulfilled" && ++resolved === 30) stopping = stack.stopPostgrest();
      });
      const reads = tasks.slice(0, 5).flatMap((task) => [settleWithin(repo.getTask(task.id), hangMs), settleWithin(repo.listEvents(task.id, { limit: 1000 }), hangMs)]);
      await burstDone;
      await (stopping ?? stack.stopPostgrest());
      for (const outcome of await Promise.all(reads)) {
        expect(outcome.status).not.toBe("hung");
        if (outcome.status === "rejected") expect(outcome.reason, describeError(outcome.reason)).toBeInstanceOf(StoryTasksConnectionError);
      }
      for (const write of burst) {
        if (write.call.outcome.status !== "rejected") continue;
        // The status machine refuses some transitions; every other failure is the lost connection.
        expectRepositoryError(write.call.outcome.reason, write.call.message);
        if (write.call.outcome.reason.name !== "StoryTaskTransitionError") {
          expect(write.call.outcome.reason, describeError(write.call.outcome.reason)).toBeInstanceOf(StoryTasksConnectionError);
          cutOff++;
        }
      }
      report(`${stack.kind} stop round ${round}:`, countBy(burst, outcomeKey));

      // While it is down, calls fail at once (within 5 s, without retries) with a connection error, and write nothing.
      const message = `written while down r${round}`;
      downWrites.push(message);
      for (const call of [(): Promise<unknown> => repo.appendEvent(tasks[0]!.id, { eventType: "progress", message, progressOverride: 99 }), () => repo.getTask(tasks[0]!.id), () => repo.listEvents(tasks[0]!.id)]) {
        const outcome = await settleWithin(call(), 5_000);
        expect(outcome.status).toBe("rejected");
        if (outcome.status === "rejected") expect(outcome.reason, describeError(outcome.reason)).toBeInstanceOf(StoryTasksConnectionError);
      }

      await stack.startPostgrest();
      await expectRepositoryWorks(repo, `after stop r${round}`);
      await expectRepositoryWorks(retrying, `after stop r${round}, retrying client`);
    }

    // The stops did cut writes off (each came when 30 of the round's 100 had resolved).
    expect(cutOff).toBeGreaterThan(0);
    await verifyHistories(stack, tasks, writes.map((write) => write.call), { ambiguousFailures: true });
    const leaked = await stack.query<{ n: number }>("SELECT count(*)::int AS n FROM public.story_task_events WHERE message = ANY($1)", [downWrites]);
    expect(leaked.rows[0]?.n).toBe(0);
  });

  it("a read with supabase-js's retries outlasts a short PostgREST outage", async () => {
    const task = await repo.createTask({ operation: "CREATE_STORY", status: "running" });
    await running.stack.stopPostgrest();
    const read = settleWithin(retrying.getTask(task.id), hangMs);
    await sleep(300);
    await running.stack.startPostgrest();
    const outcome = await read;
    expect(outcome.status, outcome.status === "rejected" ? describeError(outcome.reason) : "").toBe("fulfilled");
    if (outcome.status === "fulfilled") expect(outcome.value).toEqual(task);
  });
});

// PostgREST logs in as `authenticator`; only this file's database, never another test run's.
const terminateSql = `
  SELECT pid, state, pg_terminate_backend(pid) AS terminated
  FROM pg_stat_activity
  WHERE usename = 'authenticator' AND datname = current_database() AND pid <> pg_backend_pid()`;

const serverStack = stacks.find((candidate) => candidate.name === "PostgreSQL server");
if (!serverStack) throw new Error("test/support/stacks.ts no longer has the PostgreSQL server stack these tests need");

describe(`database connections terminated on ${serverStack.name}`, () => {
  let running: TestStack;
  let repo: StoryTasksRepository;

  beforeAll(async () => {
    running = await serverStack.start("reliability_terminate");
    repo = createStoryTasksRepository(running.stack.client(running.stack.serviceRoleKey, { retry: false }));
  });
  afterAll(async () => {
    await running?.stop();
  });

  /** PostgREST reconnects by itself: wait (bounded) until a write and a read go through again. */
  async function recovered(label: string): Promise<void> {
    const { attempts, failures } = await retryUntil(async () => {
      const task = await repo.createTask({ operation: "CREATE_STORY" });
      await repo.getTask(task.id);
    }, 15_000);
    report(`${label}: recovered after ${attempts} attempt(s)`, failures.length ? countBy(failures, (failure) => failure.split(":")[0]!) : "");
  }

  it("pg_terminate_backend during bursts of appendEvent and updateStatus, four times: typed errors, recovery, all-or-nothing writes", async () => {
    const { stack } = running;
    const starts: TaskStart[] = [];
    const writes: PlannedWrite[] = [];
    let terminated = 0;
    for (let round = 0; round < 4; round++) {
      const tasks = await createTasks(repo, 8);
      starts.push(...tasks);
      const burst = planWrites(`terminate r${round}`, tasks, 96, { status: 0.25, plain: 0.1 }, 2000 + round);
      writes.push(...burst);
      const burstDone = fire(repo, burst, hangMs);
      for (let kill = 0; kill < 3; kill++) {
        await sleep(kill === 0 ? 10 : 25);
        terminated += (await stack.query<{ terminated: boolean }>(terminateSql)).rows.filter((row) => row.terminated).length;
      }
      await burstDone;
      for (const write of burst) {
        if (write.call.outcome.status === "rejected") expectRepositoryError(write.call.outcome.reason, write.call.message);
      }
      report(`terminate round ${round}:`, countBy(burst, (write) => (write.call.outcome.status === "rejected" ? `${describeError(write.call.outcome.reason).split(":")[0]}` : write.call.outcome.status)));
      await recovered(`terminate round ${round}`);
    }
    expect(terminated).toBeGreaterThan(0);
    await verifyHistories(stack, starts, writes.map((write) => write.call), { ambiguousFailures: true });
    await expectRepositoryWorks(repo, "after the terminations");
  });

  it("a call whose backend is terminated while it waits for the task's lock fails with StoryTasksConnectionError and writes nothing", async () => {
    const { stack } = running;
    const task = await repo.createTask({ operation: "CREATE_SHOT_VIDEO", status: "running", progress: 10 });
    const calls: [string, () => Promise<unknown>][] = [
      ["appendEvent with a progress", () => repo.appendEvent(task.id, { eventType: "progress", message: "cut off: progress", progressOverride: 60 })],
      ["updateStatus with its event", () => repo.updateStatus(task.id, { status: "failed", event: { message: "cut off: failed" } })],
    ];
    for (const [label, call] of calls) {
      const before = await tableState(stack);
      // Another session holds the task's row lock (until it is cancelled below); the call queues behind it.
      const marker = `lock holder ${task.id}`;
      const holder = stack
        .query(`/* ${marker} */ SELECT 1 FROM public.story_tasks WHERE id = '${task.id}' FOR UPDATE; SELECT pg_sleep(30)`)
        .then(
          () => "finished",
          (error: unknown) => describeError(error),
        );
      await retryUntil(async () => {
        const rows = await stack.query("SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND query LIKE $1 AND wait_event = 'PgSleep'", [`%${marker}%`]);
        if (rows.rows.length === 0) throw new Error("the lock is not held yet");
      }, 10_000, 10);
      const pending = settleWithin(call(), hangMs);
      const waiting = await retryUntil(async () => {
        const rows = await stack.query<{ pid: number }>(
          "SELECT pid FROM pg_stat_activity WHERE usename = 'authenticator' AND datname = current_database() AND wait_event_type = 'Lock'",
        );
        if (rows.rows.length === 0) throw new Error("the call is not waiting for the lock yet");
        return rows.rows;
      }, 10_000, 10);
      await stack.query("SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid", [waiting.value.map((row) => row.pid)]);
      const outcome = await pending;
      expect(outcome.status, label).toBe("rejected");
      if (outcome.status === "rejected") {
        report(`${label}, backend terminated while waiting: ${describeError(outcome.reason)}`);
        expect(outcome.reason, describeError(outcome.reason)).toBeInstanceOf(StoryTasksConnectionError);
      }
      await stack.query("SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE $1 AND pid <> pg_backend_pid()", [`%${marker}%`]);
      expect(await holder).toMatch(/57014|cancel/);
      expect(await tableState(stack), label).toEqual(before);
      await recovered(label);
    }
    expect(await repo.getTask(task.id)).toMatchObject({ status: "running", progress: 10 });
  });

  // PostgREST answers a request on a connection that was terminated while idle with HTTP 503 and
  // the server's own error (57P01); the classifier makes that the base StoryTasksRepositoryError.
  it("after PostgREST's idle connections are terminated, the next calls fail (if at all) with StoryTasksConnectionError", async () => {
    const { stack } = running;
    const task = await repo.createTask({ operation: "CREATE_STORY", status: "running" });
    const failures: string[] = [];
    for (let attempt = 0; attempt < 3; attempt++) {
      await recovered(`idle termination ${attempt}`);
      await Promise.all(Array.from({ length: 10 }, () => repo.getTask(task.id)));
      await stack.query(terminateSql);
      for (const outcome of await Promise.all(Array.from({ length: 3 }, (_, i) => settleWithin(repo.appendEvent(task.id, { eventType: "info", message: `after idle termination ${attempt}.${i}` }), hangMs)))) {
        expect(outcome.status).not.toBe("hung");
        if (outcome.status === "rejected" && !(outcome.reason instanceof StoryTasksConnectionError)) failures.push(describeError(outcome.reason));
      }
    }
    await recovered("idle terminations");
    expect(failures).toEqual([]);
  });
});

describe("classifyStoryTaskError on what PostgREST 12 answers when its database connection breaks", () => {
  // Bodies PostgREST 12.0.2 sent in these tests when pg_terminate_backend cut its connections.
  const body = (code: string, message: string, details: string | null = null): PostgrestError => ({ code, message, details, hint: null }) as unknown as PostgrestError;

  it("PGRST001 and PGRST002 (503) are StoryTasksConnectionError", () => {
    expect(classifyStoryTaskError(body("PGRST001", "Database client error. Retrying the connection.", "no connection to the server\n"))).toBeInstanceOf(StoryTasksConnectionError);
    expect(classifyStoryTaskError(body("PGRST002", "Could not query the database for the schema cache. Retrying."))).toBeInstanceOf(StoryTasksConnectionError);
  });

  it("57P01 (503, the connection was terminated while idle) is a StoryTasksConnectionError", () => {
    const error = classifyStoryTaskError(body("57P01", "terminating connection due to administrator command"));
    expect(error).toBeInstanceOf(StoryTasksConnectionError);
    expect(error.code).toBe("57P01");
  });

  it("an all-empty error (400 {code:'',message:''}, the connection lost mid-query) is a StoryTasksConnectionError", () => {
    const error = classifyStoryTaskError(body("", ""));
    expect(error).toBeInstanceOf(StoryTasksRepositoryError);
    expect(error).toBeInstanceOf(StoryTasksConnectionError);
  });
});
