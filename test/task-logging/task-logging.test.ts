// The task-logging helpers drive a whole lifecycle through the real stack, on both databases;
// the progress reporter's intervals run on faked timers, its requests over the real PostgREST.
import { randomUUID } from "node:crypto";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import type { LocalStack } from "../../src/local-stack/index.ts";
import {
  StoryTaskForeignKeyError,
  StoryTaskTransitionError,
  StoryTaskValidationError,
  StoryTaskConnectionError,
  StoryTaskError,
  type StoryTasksRepository,
  createStoryTasksRepository,
} from "../../src/repository/index.ts";
import { createProgressReporter, logTaskCompletion, logTaskEvent, logTaskStart } from "../../src/task-logging/index.ts";
import { type TestStack, insertStory, insertUser, stacks } from "../support/stacks.ts";
import { interceptedRepository } from "../support/intercepted.ts";
import { waitUntil } from "../support/wait.ts";

describe.each(stacks)("task-logging helpers on $name", ({ start }) => {
  let running: TestStack;
  let repo: StoryTasksRepository;

  beforeAll(async () => {
    running = await start("task_logging");
    repo = createStoryTasksRepository(running.stack.service);
  });
  afterAll(async () => {
    await running?.stop();
  });

  it("log a whole run: start, progress, a recoverable error, success at 100", async () => {
    const storyId = await insertStory(running.stack);
    const requestedBy = await insertUser(running.stack);
    const task = await logTaskStart(repo, {
      storyId,
      operation: "CREATE_SHOT_IMAGES",
      payload: { scenelets: 12 },
      requestedBy,
      displayFields: { title: "Shot images" },
    });
    expect(task).toMatchObject({ status: "running", storyId, requestedBy, displayFields: { title: "Shot images" } });
    expect(task.startedAt).not.toBeNull();
    for (let shot = 1; shot <= 3; shot++) {
      await logTaskEvent(repo, task.id, { eventType: "progress", message: `Shot ${shot} of 3`, progressOverride: Math.round((shot / 3) * 90) });
    }
    await logTaskEvent(repo, task.id, { eventType: "error", message: "Shot 2 timed out; retried" });
    const done = await logTaskCompletion(repo, task.id, "succeeded");
    expect(done).toMatchObject({ status: "succeeded", progress: 100 });
    const events = await repo.listEvents(task.id);
    expect(events.map((event) => `${event.eventType}: ${event.message}`)).toEqual([
      "info: Started CREATE_SHOT_IMAGES",
      "progress: Shot 1 of 3",
      "progress: Shot 2 of 3",
      "progress: Shot 3 of 3",
      "error: Shot 2 timed out; retried",
      "info: Succeeded",
    ]);
  });

  it("a failure keeps the caller's message and the progress reached", async () => {
    const task = await logTaskStart(repo, { operation: "CREATE_SHOT_VIDEO" });
    await logTaskEvent(repo, task.id, { eventType: "progress", message: "Encoding", progressOverride: 35 });
    const failed = await logTaskCompletion(repo, task.id, "failed", { message: "Video service refused the request [redacted]" });
    expect(failed).toMatchObject({ status: "failed", progress: 35 });
    expect((await repo.listEvents(task.id, { newestFirst: true, limit: 1 }))[0]).toMatchObject({ eventType: "error", message: "Video service refused the request [redacted]" });
  });

  it("a logging failure throws the typed error by default", async () => {
    await expect(logTaskEvent(repo, randomUUID(), { eventType: "info", message: "orphan" })).rejects.toBeInstanceOf(StoryTaskForeignKeyError);
    const task = await logTaskStart(repo, { operation: "CREATE_STORY" });
    await logTaskCompletion(repo, task.id, "cancelled");
    await expect(logTaskCompletion(repo, task.id, "succeeded")).rejects.toBeInstanceOf(StoryTaskTransitionError);
  });

  it("with onError, a logging failure is reported and the job goes on", async () => {
    const reported: [string, StoryTaskError][] = [];
    const onError = (error: StoryTaskError, action: string) => reported.push([action, error]);
    const result = await logTaskEvent(repo, randomUUID(), { eventType: "info", message: "orphan" }, { onError });
    expect(result).toBeUndefined();
    const start = await logTaskStart(repo, { operation: "CREATE_STORY", storyId: randomUUID() }, { onError });
    expect(start).toBeUndefined();
    expect(reported.map(([action, error]) => [action, error.constructor.name])).toEqual([
      ["logTaskEvent", "StoryTaskForeignKeyError"],
      ["logTaskStart", "StoryTaskForeignKeyError"],
    ]);
  });

  describe("the progress reporter", () => {
    // supabase-js waits between its retries on setTimeout, which is faked here: a retry would hang
    // instead of happening, so these tests' client makes none.
    let repo: StoryTasksRepository;
    beforeAll(() => {
      repo = createStoryTasksRepository(running.stack.client(running.stack.serviceRoleKey, { retry: false }));
    });
    // The reporter's intervals run on a fake clock the test moves; network I/O stays real.
    beforeEach(() => {
      vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "setInterval", "clearInterval", "Date"] });
    });
    afterEach(() => {
      vi.useRealTimers();
    });

    /** The messages of a task's progress events, in append order. */
    async function storedProgress(taskId: string): Promise<string[]> {
      return (await repo.listEvents(taskId, { limit: 1000 })).filter((event) => event.eventType === "progress").map((event) => event.message);
    }

    it("real requests through supabase-js complete while the clock is faked, and the clock stands still", async () => {
      const before = Date.now();
      const task = await repo.createTask({ operation: "CREATE_STORY", status: "running" });
      expect(await repo.getTask(task.id)).toEqual(task);
      expect(Date.now()).toBe(before);
    });

    it("writes the first report at once, then only the last report of each interval, when the interval ends", async () => {
      const task = await logTaskStart(repo, { operation: "CONSTITUTION_CHAT_UPDATE" });
      const reporter = createProgressReporter(repo, task.id, { minIntervalMs: 100 });
      const intervals = 5;
      const perInterval = 50;
      const total = intervals * perInterval;
      let made = 0;
      const reportUpTo = (last: number) => {
        for (made += 1; made <= last; made++) reporter.report(Math.floor((made / total) * 99), `report ${made}`);
        made = last;
      };
      for (let interval = 0; interval < intervals; interval++) {
        const end = (interval + 1) * perInterval;
        reportUpTo(end - perInterval / 2);
        // The first report went out at once; once it is stored, the rest wait for the interval to end.
        if (interval === 0) await waitUntil(() => expect(reporter.writes).toBe(1));
        await vi.advanceTimersByTimeAsync(99);
        // Had a write gone out before the interval's end, it would have carried one of the reports made so far.
        reportUpTo(end);
        await vi.advanceTimersByTimeAsync(1);
        await waitUntil(() => expect(reporter.writes).toBe(interval + 2));
      }
      await reporter.close();
      expect(reporter.writes).toBe(intervals + 1);
      expect(await storedProgress(task.id)).toEqual(["report 1", ...Array.from({ length: intervals }, (_, interval) => `report ${(interval + 1) * perInterval}`)]);
      expect((await repo.getTask(task.id)).progress).toBe(99);
    });

    it("refuses a bad value synchronously, naming the field and the rule, and sends nothing", async () => {
      const task = await logTaskStart(repo, { operation: "CREATE_STORY" });
      const counted = faultInjectingRepository(running.stack);
      const reporter = createProgressReporter(counted.repo, task.id, { minIntervalMs: 100 });
      const progressRule = [{ field: "progress", rule: "must be an integer from 0 to 100" }];
      for (const progress of [150, 101, -1, 2.5, Number.NaN, Number.POSITIVE_INFINITY, "50", null]) {
        expect(issuesOf(() => reporter.report(progress as number)), String(progress)).toEqual(progressRule);
      }
      expect(issuesOf(() => reporter.report(50, ""))).toEqual([{ field: "message", rule: "must not be empty" }]);
      expect(issuesOf(() => reporter.report(50, "Shot 1", { at: new Date() } as never))).toEqual([{ field: "payload", rule: expect.stringMatching(/^must be JSON: \$\.at is a Date/) }]);
      await reporter.close();
      expect(counted.sent).toEqual({ writes: 0, reads: 0 });
      expect(await storedProgress(task.id)).toEqual([]);
      expect((await repo.getTask(task.id)).progress).toBe(0);
      expect(issuesOf(() => createProgressReporter(repo, task.id, { minIntervalMs: -5 }))).toEqual([{ field: "minIntervalMs", rule: "must be an integer from 0 to 2147483647" }]);
      expect(issuesOf(() => createProgressReporter(repo, task.id, { pollCancelMs: 0 }))).toEqual([{ field: "pollCancelMs", rule: "must be an integer from 1 to 2147483647" }]);
      expect(issuesOf(() => createProgressReporter(repo, "task-1"))).toEqual([{ field: "taskId", rule: "must be a UUID (8-4-4-4-12 hexadecimal digits)" }]);
    });

    it("surfaces a failed write at the next report, keeping the value just reported, and writes it", async () => {
      const task = await logTaskStart(repo, { operation: "CREATE_SHOT_IMAGES" });
      const faulty = faultInjectingRepository(running.stack);
      const reporter = createProgressReporter(faulty.repo, task.id, { minIntervalMs: 100 });
      faulty.failNext("write");
      reporter.report(10, "lost on the way");
      reporter.report(20, "after the loss");
      await vi.advanceTimersByTimeAsync(100);
      await waitUntil(() => expect(reporter.writes).toBe(1));
      expect(() => reporter.report(30, "reported as the failure surfaces")).toThrow(StoryTaskConnectionError);
      // Surfaced once: the next report goes through.
      await vi.advanceTimersByTimeAsync(100);
      await waitUntil(() => expect(reporter.writes).toBe(2));
      await reporter.close();
      expect(await storedProgress(task.id)).toEqual(["after the loss", "reported as the failure surfaces"]);
      expect((await repo.getTask(task.id)).progress).toBe(30);
    });

    it("a write whose response was lost is written again at the next flush, and stored once", async () => {
      const task = await logTaskStart(repo, { operation: "CREATE_SHOT_IMAGES" });
      const faulty = faultInjectingRepository(running.stack);
      const reporter = createProgressReporter(faulty.repo, task.id, { minIntervalMs: 100 });
      faulty.loseNextResponse();
      reporter.report(40, "stored, its answer lost");
      await expect(reporter.flush()).rejects.toBeInstanceOf(StoryTaskConnectionError);
      await reporter.flush();
      await reporter.close();
      expect(faulty.sent.writes).toBe(2);
      expect(await storedProgress(task.id)).toEqual(["stored, its answer lost"]);
      expect((await repo.getTask(task.id)).progress).toBe(40);
    });

    it("surfaces a failed write at the next flush or close, and still writes the newest value", async () => {
      const task = await logTaskStart(repo, { operation: "CREATE_SHOT_IMAGES" });
      const faulty = faultInjectingRepository(running.stack);
      const reporter = createProgressReporter(faulty.repo, task.id, { minIntervalMs: 100 });
      faulty.failNext("write");
      reporter.report(40, "flushed after a failure");
      await expect(reporter.flush()).rejects.toBeInstanceOf(StoryTaskConnectionError);
      expect(await storedProgress(task.id)).toEqual(["flushed after a failure"]);
      await reporter.flush();

      // A timed write fails; close() surfaces it, after writing the value again.
      await vi.advanceTimersByTimeAsync(100);
      reporter.report(45, "at once");
      await waitUntil(() => expect(reporter.writes).toBe(2));
      faulty.failNext("write");
      reporter.report(50, "closed after a failure");
      await vi.advanceTimersByTimeAsync(100);
      await waitUntil(() => expect(faulty.failed).toBe(2));
      await expect(reporter.close()).rejects.toBeInstanceOf(StoryTaskConnectionError);
      expect(await storedProgress(task.id)).toEqual(["flushed after a failure", "at once", "closed after a failure"]);
      expect((await repo.getTask(task.id)).progress).toBe(50);
    });

    it("an onError that throws, or rejects, is no unhandled rejection: what it threw surfaces at the next call, and the reporter goes on", async () => {
      const unhandled: unknown[] = [];
      const listen = (reason: unknown) => unhandled.push(reason);
      process.on("unhandledRejection", listen);
      try {
        const task = await logTaskStart(repo, { operation: "CREATE_SHOT_AUDIO" });
        const faulty = faultInjectingRepository(running.stack);
        const handled: string[] = [];
        const throwing = createProgressReporter(faulty.repo, task.id, {
          minIntervalMs: 100,
          onError: (error, action) => {
            handled.push(`${action}: ${error.constructor.name}`);
            throw new Error("the handler broke");
          },
        });
        faulty.failNext("write");
        throwing.report(10, "lost on the way");
        throwing.report(20, "after the loss");
        await vi.advanceTimersByTimeAsync(100);
        await waitUntil(() => expect(throwing.writes).toBe(1));
        expect(handled).toEqual(["progress report: StoryTaskConnectionError"]);
        expect(() => throwing.report(30, "still reporting")).toThrow("the handler broke");
        await throwing.close();

        const rejecting = createProgressReporter(faulty.repo, task.id, {
          minIntervalMs: 100,
          onError: async () => {
            throw new Error("the async handler broke");
          },
        });
        faulty.failNext("write");
        rejecting.report(40, "lost again");
        await expect(rejecting.flush()).rejects.toThrow("the async handler broke");
        await rejecting.close();
        expect(await storedProgress(task.id)).toEqual(["after the loss", "still reporting", "lost again"]);
        // One more turn of the event loop, in which Node would report an unhandled rejection.
        await new Promise((resolve) => setImmediate(resolve));
        expect(unhandled).toEqual([]);
      } finally {
        process.off("unhandledRejection", listen);
      }
    });

    it("close() writes what is pending, then stops: no more writes or polls, and a later report throws", async () => {
      const task = await logTaskStart(repo, { operation: "CREATE_PLAYER_BUNDLE" });
      const counted = faultInjectingRepository(running.stack);
      const reporter = createProgressReporter(counted.repo, task.id, { minIntervalMs: 100, pollCancelMs: 1000 });
      reporter.report(40, "first");
      reporter.report(70, "last before closing");
      await reporter.close();
      expect(await storedProgress(task.id)).toEqual(["first", "last before closing"]);
      expect(() => reporter.report(80, "after closing")).toThrow(/closed/);
      const sent = { ...counted.sent };
      await vi.advanceTimersByTimeAsync(5_000);
      await reporter.flush();
      expect(counted.sent).toEqual(sent);
      expect(await storedProgress(task.id)).toEqual(["first", "last before closing"]);
    });

    it("its timers do not keep the process alive", async () => {
      const task = await logTaskStart(repo, { operation: "CREATE_SHOT_VIDEO" });
      const timeouts = vi.spyOn(globalThis, "setTimeout");
      const intervals = vi.spyOn(globalThis, "setInterval");
      try {
        const reporter = createProgressReporter(repo, task.id, { minIntervalMs: 4_321, pollCancelMs: 8_765 });
        reporter.report(1);
        reporter.report(2);
        // The second report waits for the interval, on a timer set once the first is stored.
        await waitUntil(() => expect(timeouts.mock.calls.some(([, delay]) => delay === 4_321)).toBe(true));
        const timersOf = (spy: typeof timeouts | typeof intervals, delay: number) => spy.mock.calls.flatMap(([, given], index) => (given === delay ? [spy.mock.results[index]?.value as NodeJS.Timeout] : []));
        expect(timersOf(timeouts, 4_321).map((timer) => timer.hasRef())).toEqual([false]);
        expect(timersOf(intervals, 8_765).map((timer) => timer.hasRef())).toEqual([false]);
        await reporter.close();
        expect(await storedProgress(task.id)).toEqual(["1%", "2%"]);
      } finally {
        timeouts.mockRestore();
        intervals.mockRestore();
      }
    });

    it("aborts its signal when a write is refused because the task has ended, and writes nothing after", async () => {
      const task = await logTaskStart(repo, { operation: "CREATE_SHOT_VIDEO" });
      const reporter = createProgressReporter(repo, task.id, { minIntervalMs: 100 });
      reporter.report(10, "before the cancel");
      await waitUntil(() => expect(reporter.writes).toBe(1));
      expect(reporter.signal.aborted).toBe(false);
      await logTaskCompletion(repo, task.id, "cancelled");
      reporter.report(20, "after the cancel");
      await vi.advanceTimersByTimeAsync(100);
      await expect(reporter.flush()).rejects.toBeInstanceOf(StoryTaskTransitionError);
      expect(reporter.signal.aborted).toBe(true);
      expect(reporter.signal.reason).toBeInstanceOf(StoryTaskTransitionError);
      expect(reporter.signal.reason).toMatchObject({ from: "cancelled" });
      reporter.report(30, "after the abort");
      await reporter.close();
      expect(await storedProgress(task.id)).toEqual(["before the cancel"]);

      // With onError, the refusal goes to the handler, and the signal aborts all the same.
      const reported: StoryTaskError[] = [];
      const tolerant = createProgressReporter(repo, task.id, { minIntervalMs: 100, onError: (error) => reported.push(error) });
      tolerant.report(60, "after the end");
      await tolerant.close();
      expect(reported.map((error) => error.constructor.name)).toEqual(["StoryTaskTransitionError"]);
      expect(tolerant.signal.reason).toBe(reported[0]);
    });

    it("aborts its signal when a poll finds the task ended, saying which status, and surfaces a failed poll", async () => {
      const task = await logTaskStart(repo, { operation: "CREATE_SHOT_AUDIO" });
      const reporter = createProgressReporter(repo, task.id, { pollCancelMs: 1_000 });
      await logTaskCompletion(repo, task.id, "failed", { message: "Stopped from the UI" });
      await vi.advanceTimersByTimeAsync(999);
      expect(reporter.signal.aborted).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      await waitUntil(() => expect(reporter.signal.aborted).toBe(true));
      expect(reporter.signal.reason).toBeInstanceOf(Error);
      expect((reporter.signal.reason as Error).message).toBe(`Story task ${task.id} has ended: it is failed`);
      await reporter.close();

      const faulty = faultInjectingRepository(running.stack);
      const polling = createProgressReporter(faulty.repo, (await logTaskStart(repo, { operation: "CREATE_SHOT_AUDIO" })).id, { pollCancelMs: 1_000 });
      faulty.failNext("read");
      await vi.advanceTimersByTimeAsync(1_000);
      await expect(polling.close()).rejects.toBeInstanceOf(StoryTaskConnectionError);
      expect(polling.signal.aborted).toBe(false);
    });
  });
});

/** The issues of the StoryTaskValidationError `call` throws. */
function issuesOf(call: () => unknown): StoryTaskValidationError["issues"] {
  try {
    call();
  } catch (error) {
    if (error instanceof StoryTaskValidationError) return error.issues;
    throw error;
  }
  throw new Error("expected a StoryTaskValidationError, and nothing was thrown");
}

/**
 * A repository on the stack whose next writes (POST) or reads (GET) can be made to fail as a
 * dropped connection does, before they reach PostgREST; it counts the requests it sends.
 */
function faultInjectingRepository(stack: LocalStack) {
  const failing = { write: 0, read: 0 };
  const sent = { writes: 0, reads: 0 };
  let failed = 0;
  let losing = 0;
  const { repo, intercept } = interceptedRepository(stack);
  intercept(async (forward, { method }) => {
    const kind = method === "GET" ? "read" : "write";
    if (failing[kind] > 0) {
      failing[kind] -= 1;
      failed += 1;
      throw new TypeError("fetch failed");
    }
    sent[kind === "read" ? "reads" : "writes"] += 1;
    const response = await forward();
    if (kind === "write" && losing > 0) {
      losing -= 1;
      failed += 1;
      throw new TypeError("fetch failed");
    }
    return response;
  });
  return {
    repo,
    sent,
    /** Requests failed so far. */
    get failed() {
      return failed;
    },
    failNext(kind: "write" | "read") {
      failing[kind] += 1;
    },
    /** The next write reaches the database, and its response is lost. */
    loseNextResponse() {
      losing += 1;
    },
  };
}
