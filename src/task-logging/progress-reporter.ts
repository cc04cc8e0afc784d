// Coalesces frequent progress reports into at most one write per interval, and always writes
// the last value reported, so nothing the caller said last is lost.
import type { Json } from "../../generated/database.types.ts";
import type { StoryTasksRepositoryError } from "../repository/errors.ts";
import type { StoryTasksRepository } from "../repository/interfaces.ts";
import { type LoggingOptions, guarded } from "./guard.ts";

export interface ProgressReporterOptions extends LoggingOptions {
  /** At most one write per this many milliseconds (default 250). */
  minIntervalMs?: number | undefined;
}

export interface ProgressReporter {
  /** Records the latest progress; written now or at the end of the interval. Throws a write failure not yet reported. */
  report(progress: number, message?: string, payload?: Json): void;
  /** Writes what is pending and resolves once everything reported is stored. */
  flush(): Promise<void>;
  /** Writes that reached the database so far. */
  readonly writes: number;
}

interface Pending {
  progress: number;
  message: string;
  payload: Json | undefined;
}

/**
 * @example
 * const reporter = createProgressReporter(repo, task.id, { minIntervalMs: 500 });
 * for await (const delta of stream) reporter.report(estimate(delta), "Writing the constitution");
 * await reporter.flush();
 */
export function createProgressReporter(repo: StoryTasksRepository, taskId: string, options: ProgressReporterOptions = {}): ProgressReporter {
  const minIntervalMs = options.minIntervalMs ?? 250;
  let pending: Pending | undefined;
  let inFlight: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let lastWriteAt = Number.NEGATIVE_INFINITY;
  let failure: StoryTasksRepositoryError | undefined;
  let writes = 0;

  function throwFailure(): void {
    if (!failure) return;
    const error = failure;
    failure = undefined;
    throw error;
  }

  // One write at a time, so the database sees reports in the order they were made.
  function writePending(): Promise<void> {
    if (inFlight) return inFlight;
    const next = pending;
    if (!next) return Promise.resolve();
    pending = undefined;
    lastWriteAt = Date.now();
    inFlight = guarded("progress report", { onError: (error: StoryTasksRepositoryError) => (options.onError ? options.onError(error, "progress report") : (failure = error)) }, async () => {
      await repo.appendEvent(taskId, { eventType: "progress", message: next.message, payload: next.payload, progressOverride: next.progress });
      writes += 1;
    }).then(() => {
      inFlight = undefined;
      if (pending) schedule();
    });
    return inFlight;
  }

  function schedule(): void {
    if (timer || inFlight) return;
    const wait = lastWriteAt + minIntervalMs - Date.now();
    if (wait <= 0) {
      void writePending();
      return;
    }
    timer = setTimeout(() => {
      timer = undefined;
      void writePending();
    }, wait);
  }

  return {
    report(progress, message = `${progress}%`, payload) {
      throwFailure();
      pending = { progress, message, payload };
      schedule();
    },
    async flush() {
      if (timer) clearTimeout(timer);
      timer = undefined;
      while (inFlight || pending) {
        await (inFlight ?? writePending());
      }
      throwFailure();
    },
    get writes() {
      return writes;
    },
  };
}
