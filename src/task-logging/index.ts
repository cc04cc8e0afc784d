// Helpers the agent backend wraps around its jobs: a task's start, its events, its end, and
// coalesced progress for callers that report many times a second.
import type { Json } from "../../generated/database.types.ts";
import type { CreateStoryTaskEventInput, StoryTaskEventRecord, StoryTaskOperation, StoryTaskRecord } from "../../generated/records.ts";
import type { StoryTasksRepository } from "../repository/interfaces.ts";
import { type Logged, type LoggingOptions, guarded } from "./guard.ts";
import type { StoryTaskFinalStatus } from "../../generated/status-machine.ts";

export type { Logged, LoggingErrorHandler, LoggingOptions } from "./guard.ts";
export { createProgressReporter, type ProgressReporter, type ProgressReporterOptions } from "./progress-reporter.ts";
/** The statuses a task can end in: the status machine's final ones. */
export type TaskEnding = StoryTaskFinalStatus;

export interface TaskStart {
  /** The task's id, chosen by the caller (e.g. the queue job's id): a redelivered job that starts it again gets the same task back. */
  id?: string | undefined;
  storyId?: string | null | undefined;
  operation: StoryTaskOperation;
  payload?: NonNullable<Json> | undefined;
  requestedBy?: string | null | undefined;
  displayFields?: Json | null | undefined;
}

/**
 * Creates the task as running (started_at set by the database) with its start event, in one
 * round trip and one transaction. With an `id`, starting it again returns the stored task and
 * writes nothing.
 * @example
 * const task = await logTaskStart(repo, { id: job.id, storyId, operation: "CREATE_SHOT_IMAGES", payload: { scenelets: 12 } });
 */
export function logTaskStart<Options extends LoggingOptions = {}>(repo: StoryTasksRepository, start: TaskStart, options?: Options): Promise<Logged<StoryTaskRecord, Options>> {
  return guarded("logTaskStart", options, () => repo.createTask({ ...start, status: "running" }, { event: { eventType: "info", message: `Started ${start.operation}` } }));
}

/**
 * Appends one event to a task's log.
 * @example
 * await logTaskEvent(repo, task.id, { eventType: "progress", message: "Shot 3 of 12", progressOverride: 25 });
 */
export function logTaskEvent<Options extends LoggingOptions = {}>(
  repo: StoryTasksRepository,
  taskId: string,
  event: CreateStoryTaskEventInput,
  options?: Options,
): Promise<Logged<StoryTaskEventRecord, Options>> {
  return guarded("logTaskEvent", options, () => repo.appendEvent(taskId, event));
}

export interface CompletionOptions extends LoggingOptions {
  /** The progress it ends at (a success ends at 100 whatever this says). */
  progress?: number | undefined;
  /** The event's message. For a failure, the caller redacts it; it is stored as given. */
  message?: string | undefined;
  payload?: Json | undefined;
}

const defaultEndings: Record<TaskEnding, { eventType: "info" | "error"; message: string }> = {
  succeeded: { eventType: "info", message: "Succeeded" },
  failed: { eventType: "error", message: "Failed" },
  cancelled: { eventType: "info", message: "Cancelled" },
};

/**
 * Ends a task with its final event, in one transaction. A success ends at progress 100. Ending
 * a task again with the status it has already returns it unchanged, with no second event.
 * @example
 * await logTaskCompletion(repo, task.id, "failed", { message: "Image service timed out" });
 */
export function logTaskCompletion<Options extends CompletionOptions = {}>(
  repo: StoryTasksRepository,
  taskId: string,
  status: TaskEnding,
  options?: Options,
): Promise<Logged<StoryTaskRecord, Options>> {
  const ending = defaultEndings[status];
  return guarded("logTaskCompletion", options, () =>
    repo.updateStatus(taskId, {
      status,
      progress: options?.progress,
      event: { eventType: ending.eventType, message: options?.message ?? ending.message, payload: options?.payload },
    }),
  );
}
