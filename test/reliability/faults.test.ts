// Faults under load: PostgREST stopped in the middle of a burst of writes (both stacks), and
// PostgREST's database connections terminated mid-operation (the PostgreSQL server only: PGlite
// is one embedded session, with no backends to terminate). Every call settles, with a result or
// one of the repository's errors; the repository works again afterwards; and each atomic
// function happened entirely or not at all (see verifyHistories).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PostgrestError } from "@supabase/supabase-js";
import {
  StoryTaskConnectionError,
  StoryTaskError,
  type StoryTasksRepository,
  classifyStoryTaskError,
  createStoryTasksRepository,
} from "../../src/repository/index.ts";
import type { LocalStack } from "../../src/local-stack/index.ts";
import { type InterceptedRepository, type Intercept, interceptedRepository } from "../support/intercepted.ts";
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
  verifyHistories,
} from "./helpers.ts";

/** Longer than any call may take here: a call still pending after this has hung. */
const hangMs = 20_000;

const outcomeKey = (write: PlannedWrite) => (write.call.outcome.status === "rejected" ? describeError(write.call.outcome.reason).split(":")[0]! : write.call.outcome.status);

/**
 * Stops PostgREST in the middle of a burst of writes, always: the first `served` writes are sent
 * as they come; when the last of them has its answer the stop begins, and the next `racing` are
 * sent with it (served or cut off); the rest are held until PostgREST is down. Reads pass.
 */
function stopMidBurst(stack: LocalStack, served: number, racing: number) {
  let writes = 0;
  let begin!: (stop: { stopping: Promise<void> }) => void;
  // Boxed: a promise resolved with a promise would wait for it, and the racing writes must not.
  const stopBegun = new Promise<{ stopping: Promise<void> }>((resolve) => (begin = resolve));
  const intercept: Intercept = async (forward, { method }) => {
    if (method === "GET") return forward();
    const index = ++writes;
    if (index <= served) {
      try {
        return await forward();
      } finally {
        if (index === served) begin({ stopping: stack.stopPostgrest() });
      }
    }
    const { stopping } = await stopBegun;
    if (index > served + racing) await stopping;
    return forward();
  };
  return {
    intercept,
    /** Writes that reached the intercept. */
    get writes() {
      return writes;
    },
    /** Writes held until PostgREST was down: each must fail. */
    held: (total: number) => Math.max(0, total - served - racing),
    stopped: () => stopBegun.then(({ stopping }) => stopping),
  };
}

describe.each(stacks)("PostgREST stopped mid-burst on $name", ({ start }) => {
  let running: TestStack;
  /** No retries (a read fails at once while PostgREST is down, rather than after 7 s); the faults go in through it. */
  let intercepted: InterceptedRepository;
  let repo: StoryTasksRepository;
  /** The default client (supabase-js retries failed GETs up to 3 times, after 1, 2 and 4 s). */
  let retrying: StoryTasksRepository;

  beforeAll(async () => {
    running = await start("reliability_faults");
    intercepted = interceptedRepository(running.stack);
    repo = intercepted.repo;
    retrying = createStoryTasksRepository(running.stack.service);
  });
  afterAll(async () => {
    await running?.stop();
  });

  it("every call settles with a result or a StoryTaskConnectionError, the repository recovers, nothing is half written", async () => {
    const { stack } = running;
    const tasks = await createTasks(repo, 10);
    const writes: PlannedWrite[] = [];
    const downWrites: string[] = [];

    for (let round = 0; round < 3; round++) {
      // 100 writes, most appendEvent with a progress, some updateStatus; reads alongside.
      const burst = planWrites(`stop r${round}`, tasks, 100, { status: 0.1, plain: 0.1 }, 1000 + round);
      writes.push(...burst);
      // PostgREST stops when the 30th write sent has its answer; 10 more race the stop, the other 60 wait until it is down.
      const stop = stopMidBurst(stack, 30, 10);
      intercepted.intercept(stop.intercept);
      const burstDone = fire(repo, burst, hangMs);
      const reads = tasks.slice(0, 5).flatMap((task) => [settleWithin(repo.getTask(task.id), hangMs), settleWithin(repo.listEvents(task.id, { limit: 1000 }), hangMs)]);
      await burstDone;
      intercepted.intercept(undefined);
      expect(stop.writes, "every write of the burst was sent").toBe(burst.length);
      await stop.stopped();
      let cutOff = 0;
      for (const outcome of await Promise.all(reads)) {
        expect(outcome.status).not.toBe("hung");
        if (outcome.status === "rejected") expect(outcome.reason, describeError(outcome.reason)).toBeInstanceOf(StoryTaskConnectionError);
      }
      for (const write of burst) {
        if (write.call.outcome.status !== "rejected") continue;
        // The status machine refuses some transitions; every other failure is the lost connection.
        expectRepositoryError(write.call.outcome.reason, write.call.message);
        if (write.call.outcome.reason.name !== "StoryTaskTransitionError") {
          expect(write.call.outcome.reason, describeError(write.call.outcome.reason)).toBeInstanceOf(StoryTaskConnectionError);
          cutOff++;
        }
      }
      report(`${stack.kind} stop round ${round}:`, countBy(burst, outcomeKey));
      // The stop did cut writes off: at least every write held until PostgREST was down.
      expect(cutOff).toBeGreaterThanOrEqual(stop.held(burst.length));

      // While it is down, calls fail at once (one request each, no retries) with a connection error, and write nothing.
      const message = `written while down r${round}`;
      downWrites.push(message);
      let requests = 0;
      intercepted.intercept((forward) => {
        requests += 1;
        return forward();
      });
      for (const call of [(): Promise<unknown> => repo.appendEvent(tasks[0]!.id, { eventType: "progress", message, progressOverride: 99 }), () => repo.getTask(tasks[0]!.id), () => repo.listEvents(tasks[0]!.id)]) {
        requests = 0;
        const outcome = await settleWithin(call(), hangMs);
        expect(outcome.status).toBe("rejected");
        if (outcome.status === "rejected") expect(outcome.reason, describeError(outcome.reason)).toBeInstanceOf(StoryTaskConnectionError);
        expect(requests, "one request, not retried").toBe(1);
      }
      intercepted.intercept(undefined);

      await stack.startPostgrest();
      await expectRepositoryWorks(repo, `after stop r${round}`);
      await expectRepositoryWorks(retrying, `after stop r${round}, retrying client`);
    }

    await verifyHistories(stack, tasks, writes.map((write) => write.call), { ambiguousFailures: true });
    const leaked = await stack.query<{ n: number }>("SELECT count(*)::int AS n FROM public.story_task_events WHERE message = ANY($1)", [downWrites]);
    expect(leaked.rows[0]?.n).toBe(0);
  });

  it("a read with supabase-js's retries outlasts a short PostgREST outage", async () => {
    const { stack } = running;
    const task = await repo.createTask({ operation: "CREATE_STORY", status: "running" });
    // The outage always spans the first attempt and ends before the retry: the first attempt's
    // failure restarts PostgREST, and the retry is held until it is up.
    const outage = interceptedRepository(stack, { retry: true });
    let attempts = 0;
    let restarted: Promise<void> | undefined;
    outage.intercept(async (forward) => {
      attempts += 1;
      if (attempts > 1) {
        await restarted;
        return forward();
      }
      try {
        return await forward();
      } finally {
        restarted = stack.startPostgrest();
      }
    });
    await stack.stopPostgrest();
    const outcome = await settleWithin(outage.repo.getTask(task.id), hangMs);
    await restarted;
    expect(outcome.status, outcome.status === "rejected" ? describeError(outcome.reason) : "").toBe("fulfilled");
    if (outcome.status === "fulfilled") expect(outcome.value).toEqual(task);
    expect(attempts, "the first attempt failed and supabase-js retried").toBe(2);
  });
});

// PostgREST logs in as `authenticator`; only this file's database, never another test run's.
const terminateSql = `
  SELECT pid, state, pg_terminate_backend(pid) AS terminated
  FROM pg_stat_activity
  WHERE usename = 'authenticator' AND datname = current_database() AND pid <> pg_backend_pid()`;

/** PostgREST's default db-pool, which the server stack keeps. */
const postgrestPool = 10;

const serverStack = stacks.find((candidate) => candidate.name === "PostgreSQL server");
if (!serverStack) throw new Error("test/support/stacks.ts no longer has the PostgreSQL server stack these tests need");

/**
 * Terminates PostgREST's connections when the given answers of a burst arrive, holding each such
 * answer until the termination is done, so that every kill lands while the burst is under way.
 */
function terminateMidBurst(running: TestStack, atAnswers: number[]) {
  let sent = 0;
  let answered = 0;
  const kills: { inFlight: number; terminated: number; failure?: string }[] = [];
  const intercept: Intercept = async (forward) => {
    sent += 1;
    try {
      return await forward();
    } finally {
      answered += 1;
      if (atAnswers.includes(answered)) {
        const inFlight = sent - answered;
        try {
          const rows = (await running.admin<{ terminated: boolean }>(terminateSql)).rows;
          kills.push({ inFlight, terminated: rows.filter((row) => row.terminated).length });
        } catch (error) {
          kills.push({ inFlight, terminated: 0, failure: describeError(error) });
        }
      }
    }
  };
  return { intercept, kills };
}

describe(`database connections terminated on ${serverStack.name}`, () => {
  let running: TestStack;
  let intercepted: InterceptedRepository;
  let repo: StoryTasksRepository;

  beforeAll(async () => {
    running = await serverStack.start("reliability_terminate");
    intercepted = interceptedRepository(running.stack);
    repo = intercepted.repo;
  });
  afterAll(async () => {
    await running?.stop();
  });

  /**
   * PostgREST reconnects by itself: wait (bounded) until a write goes through, then reads on every
   * connection of its pool at once, so that none still holds a terminated backend for the next call.
   */
  async function recovered(label: string): Promise<void> {
    const { attempts, failures } = await retryUntil(async () => {
      const task = await repo.createTask({ operation: "CREATE_STORY" });
      await Promise.all(Array.from({ length: 2 * postgrestPool }, () => repo.getTask(task.id)));
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
      // Three kills, when the 10th, 40th and 70th of the 96 answers arrive.
      const kill = terminateMidBurst(running, [10, 40, 70]);
      intercepted.intercept(kill.intercept);
      await fire(repo, burst, hangMs);
      intercepted.intercept(undefined);
      expect(kill.kills.map(({ failure }) => failure ?? "terminated"), "each kill ran").toEqual(["terminated", "terminated", "terminated"]);
      for (const { inFlight } of kill.kills) expect(inFlight, "requests of the burst were in flight when the kill came").toBeGreaterThan(0);
      terminated += kill.kills.reduce((sum, { terminated: count }) => sum + count, 0);
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

  it("a call whose backend is terminated while it waits for the task's lock fails with StoryTaskConnectionError and writes nothing", async () => {
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
        const rows = await running.admin("SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND query LIKE $1 AND wait_event = 'PgSleep'", [`%${marker}%`]);
        if (rows.rows.length === 0) throw new Error("the lock is not held yet");
      }, 10_000, 10);
      const pending = settleWithin(call(), hangMs);
      const waiting = await retryUntil(async () => {
        const rows = await running.admin<{ pid: number }>(
          "SELECT pid FROM pg_stat_activity WHERE usename = 'authenticator' AND datname = current_database() AND wait_event_type = 'Lock'",
        );
        if (rows.rows.length === 0) throw new Error("the call is not waiting for the lock yet");
        return rows.rows;
      }, 10_000, 10);
      await running.admin("SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid", [waiting.value.map((row) => row.pid)]);
      const outcome = await pending;
      expect(outcome.status, label).toBe("rejected");
      if (outcome.status === "rejected") {
        report(`${label}, backend terminated while waiting: ${describeError(outcome.reason)}`);
        expect(outcome.reason, describeError(outcome.reason)).toBeInstanceOf(StoryTaskConnectionError);
      }
      await running.admin("SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE $1 AND pid <> pg_backend_pid()", [`%${marker}%`]);
      expect(await holder).toMatch(/57014|cancel/);
      expect(await tableState(stack), label).toEqual(before);
      await recovered(label);
    }
    expect(await repo.getTask(task.id)).toMatchObject({ status: "running", progress: 10 });
  });

  // PostgREST answers a request on a connection that was terminated while idle with HTTP 503 and
  // the server's own error (57P01); the classifier makes that the base StoryTaskError.
  it("after PostgREST's idle connections are terminated, the next calls fail (if at all) with StoryTaskConnectionError", async () => {
    const { stack } = running;
    const task = await repo.createTask({ operation: "CREATE_STORY", status: "running" });
    const failures: string[] = [];
    for (let attempt = 0; attempt < 3; attempt++) {
      await recovered(`idle termination ${attempt}`);
      await Promise.all(Array.from({ length: 10 }, () => repo.getTask(task.id)));
      await running.admin(terminateSql);
      for (const outcome of await Promise.all(Array.from({ length: 3 }, (_, i) => settleWithin(repo.appendEvent(task.id, { eventType: "info", message: `after idle termination ${attempt}.${i}` }), hangMs)))) {
        expect(outcome.status).not.toBe("hung");
        if (outcome.status === "rejected" && !(outcome.reason instanceof StoryTaskConnectionError)) failures.push(describeError(outcome.reason));
      }
    }
    await recovered("idle terminations");
    expect(failures).toEqual([]);
  });
});

describe("classifyStoryTaskError on what PostgREST 12 answers when its database connection breaks", () => {
  // Bodies PostgREST 12.0.2 sent in these tests when pg_terminate_backend cut its connections.
  const body = (code: string, message: string, details: string | null = null): PostgrestError => ({ code, message, details, hint: null }) as unknown as PostgrestError;

  it("PGRST001 and PGRST002 (503) are StoryTaskConnectionError", () => {
    expect(classifyStoryTaskError(body("PGRST001", "Database client error. Retrying the connection.", "no connection to the server\n"))).toBeInstanceOf(StoryTaskConnectionError);
    expect(classifyStoryTaskError(body("PGRST002", "Could not query the database for the schema cache. Retrying."))).toBeInstanceOf(StoryTaskConnectionError);
  });

  it("57P01 (503, the connection was terminated while idle) is a StoryTaskConnectionError", () => {
    const error = classifyStoryTaskError(body("57P01", "terminating connection due to administrator command"));
    expect(error).toBeInstanceOf(StoryTaskConnectionError);
    expect(error.code).toBe("57P01");
  });

  it("an all-empty error (400 {code:'',message:''}, the connection lost mid-query) is a StoryTaskConnectionError", () => {
    const error = classifyStoryTaskError(body("", ""));
    expect(error).toBeInstanceOf(StoryTaskError);
    expect(error).toBeInstanceOf(StoryTaskConnectionError);
  });
});
