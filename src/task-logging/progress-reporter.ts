// Coalesces frequent progress reports into at most one write per interval and always writes
// the last value reported; surfaces every failure once, and aborts `signal` when the task ends.
import { randomUUID } from "node:crypto";
import { z } from "zod";
import type { Json } from "../../generated/database.types.ts";
import { storyTaskEventFields } from "../../generated/validators.ts";
import { StoryTaskTransitionError, type StoryTaskError } from "../repository/errors.ts";
import type { StoryTasksRepository } from "../repository/interfaces.ts";
import { validate } from "../repository/validate.ts";
import { integerBetween, uuid } from "../validation/rules.ts";
import { type LoggingOptions, asLoggingError } from "./guard.ts";
import { isFinalStatus } from "../../generated/status-machine.ts";

export interface ProgressReporterOptions extends LoggingOptions {
  /** At most one write per this many milliseconds (default 250). */
  minIntervalMs?: number | undefined;
  /** Also reads the task this often and aborts `signal` once it has ended (default: no polling). */
  pollCancelMs?: number | undefined;
}

export interface ProgressReporter {
  /**
   * Records the latest progress (an integer from 0 to 100), written now or at the end of the
   * interval. Throws StoryTaskValidationError for a bad value, before anything is sent; then
   * throws the failure not yet surfaced, if there is one, having kept this value to write.
   * @example
   * reporter.report(40, "Shot 5 of 12", { shot: 5 });
   */
  report(progress: number, message?: string, payload?: Json): void;
  /**
   * Writes what is pending and resolves once it is stored; rejects with a failure not yet surfaced.
   * @example
   * await reporter.flush(); // everything reported so far is stored
   */
  flush(): Promise<void>;
  /**
   * Flushes, then stops: no more writes or polls, and later reports throw.
   * @example
   * try {
   *   reporter.report(100, "Rendered");
   * } finally {
   *   await reporter.close();
   * }
   */
  close(): Promise<void>;
  /**
   * Aborted once a write is refused because the task has ended, or a poll finds it ended; the
   * reason says why. Pass it to the work being reported on. Nothing is written after it aborts.
   */
  readonly signal: AbortSignal;
  /** Writes that reached the database so far. */
  readonly writes: number;
}

// setTimeout waits at most this long.
const maxTimerMs = 2 ** 31 - 1;

const optionsSchema = z.object({
  minIntervalMs: integerBetween(0, maxTimerMs).optional(),
  pollCancelMs: integerBetween(1, maxTimerMs).optional(),
});

const reportSchema = z.strictObject({
  progress: storyTaskEventFields.progressOverride.unwrap(),
  message: storyTaskEventFields.message,
  payload: storyTaskEventFields.payload.optional(),
});

/** A value to write, with the id that makes writing it again (after a lost response) store it once. */
type Report = z.output<typeof reportSchema> & { id: string };

/**
 * @example
 * const reporter = createProgressReporter(repo, task.id, { minIntervalMs: 500, pollCancelMs: 2000 });
 * try {
 *   for await (const delta of model.stream(prompt, { signal: reporter.signal })) reporter.report(estimate(delta), "Writing the constitution");
 * } finally {
 *   await reporter.close();
 * }
 */
export function createProgressReporter(repo: StoryTasksRepository, taskId: string, options: ProgressReporterOptions = {}): ProgressReporter {
  validate(uuid(), taskId, "taskId");
  const { minIntervalMs = 250, pollCancelMs } = validate(optionsSchema, { minIntervalMs: options.minIntervalMs, pollCancelMs: options.pollCancelMs });
  const ended = new AbortController();
  /** The newest value not yet attempted. */
  let pending: Report | undefined;
  /** The newest value, when its write failed: attempted again at the next flush or close, unless a report replaces it. */
  let kept: Report | undefined;
  let inFlight: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let lastWriteAt = Number.NEGATIVE_INFINITY;
  /** The first failure not yet surfaced (boxed: a handler may throw anything, undefined included). */
  let failure: { error: unknown } | undefined;
  let writes = 0;
  let closed = false;
  let polling: Promise<void> | undefined;

  const poll = pollCancelMs === undefined ? undefined : setInterval(() => void checkEnded(), pollCancelMs);
  poll?.unref();

  function keepFailure(error: unknown): void {
    failure ??= { error };
  }

  // Hands a failure to onError, or keeps it for the next report/flush/close; never lets it escape as a rejection.
  function surface(error: StoryTaskError, action: string): void {
    if (!options.onError) return keepFailure(error);
    try {
      const returned: unknown = options.onError(error, action);
      if (typeof (returned as PromiseLike<unknown> | undefined)?.then === "function") Promise.resolve(returned).catch(keepFailure);
    } catch (thrown) {
      keepFailure(thrown);
    }
  }

  function throwFailure(): void {
    if (!failure) return;
    const { error } = failure;
    failure = undefined;
    throw error;
  }

  function stopTimer(): void {
    clearTimeout(timer);
    timer = undefined;
  }

  // The status machine refuses every later write, so there is nothing left to write or poll for.
  function end(reason: unknown): void {
    pending = undefined;
    kept = undefined;
    stopTimer();
    clearInterval(poll);
    ended.abort(reason);
  }

  async function write(next: Report): Promise<void> {
    try {
      await repo.appendEvent(taskId, { id: next.id, eventType: "progress", message: next.message, payload: next.payload, progressOverride: next.progress });
      writes += 1;
    } catch (caught) {
      const error = asLoggingError("progress report", caught);
      if (error instanceof StoryTaskTransitionError && error.from !== null && isFinalStatus(error.from)) end(error);
      else if (!pending) kept = next;
      surface(error, "progress report");
    }
  }

  // One write at a time, so the database sees reports in the order they were made.
  function writePending(): Promise<void> {
    if (inFlight) return inFlight;
    const next = pending;
    if (!next) return Promise.resolve();
    pending = undefined;
    lastWriteAt = Date.now();
    inFlight = write(next).then(() => {
      inFlight = undefined;
      if (pending) schedule();
    });
    return inFlight;
  }

  function schedule(): void {
    if (timer || inFlight || closed) return;
    const wait = lastWriteAt + minIntervalMs - Date.now();
    if (wait <= 0) {
      void writePending();
      return;
    }
    timer = setTimeout(() => {
      timer = undefined;
      void writePending();
    }, wait);
    // A reporter is no reason to keep the process alive: flush() or close() is how a caller waits.
    timer.unref();
  }

  // Writes what is pending now, a kept value included; each value once, so a failing database ends the loop.
  async function drain(): Promise<void> {
    const attempted = new Set<Report>();
    for (;;) {
      stopTimer();
      if (inFlight) {
        await inFlight;
        continue;
      }
      if (!pending && kept && !attempted.has(kept)) {
        pending = kept;
        kept = undefined;
      }
      if (!pending) return;
      attempted.add(pending);
      await writePending();
    }
  }

  function checkEnded(): Promise<void> {
    polling ??= (async () => {
      try {
        const task = await repo.getTask(taskId);
        if (isFinalStatus(task.status)) end(new Error(`Story task ${taskId} has ended: it is ${task.status}`));
      } catch (caught) {
        surface(asLoggingError("progress poll", caught), "progress poll");
      } finally {
        polling = undefined;
      }
    })();
    return polling;
  }

  return {
    report(progress, message = `${progress}%`, payload) {
      if (closed) throw new Error(`The progress reporter of story task ${taskId} is closed`);
      const value = { ...validate(reportSchema, { progress, message, payload }), id: randomUUID() };
      if (!ended.signal.aborted) {
        pending = value;
        kept = undefined;
        schedule();
      }
      throwFailure();
    },
    async flush() {
      await drain();
      throwFailure();
    },
    async close() {
      closed = true;
      clearInterval(poll);
      stopTimer();
      await drain();
      await polling;
      throwFailure();
    },
    get signal() {
      return ended.signal;
    },
    get writes() {
      return writes;
    },
  };
}
