// The public types of the story-task repository.
import type { Json } from "../../generated/database.types.ts";
import type {
  CreateStoryTaskEventInput,
  CreateStoryTaskInput,
  StoryTaskEventRecord,
  StoryTaskEventType,
  StoryTaskRecord,
  StoryTaskStatus,
} from "../../generated/records.ts";

/** A status change, with the progress it reaches and the event that explains it. */
export interface StoryTaskStatusPatch {
  status: StoryTaskStatus;
  /**
   * Change only if the task is in this status at that moment (one guarded statement), else
   * StoryTaskTransitionError with `from` set to the status it has: a claim, of which exactly one
   * of several concurrent callers wins.
   */
  expectedStatus?: StoryTaskStatus | undefined;
  /** While a task runs, progress never goes backwards: a lower value leaves it where it is. */
  progress?: number | undefined;
  /** Written in the same transaction as the change. Give it an id to make the call safe to retry. */
  event?: { id?: string | undefined; eventType?: StoryTaskEventType | undefined; message: string; payload?: Json | undefined } | undefined;
}

/** What createTask writes with the task, in the same transaction. */
export interface CreateStoryTaskOptions {
  /** An event appended to the new task (not when the task was stored already). */
  event?: CreateStoryTaskEventInput | undefined;
}

export interface ListEventsOptions {
  /** At most this many events (1 to 1000; default 50). */
  limit?: number | undefined;
  /** Newest first (default: oldest first). Either way, in the order they were appended. */
  newestFirst?: boolean | undefined;
  /** Only the events appended after the one with this `seq` (to follow a log: pass the last `seq` seen). */
  afterSeq?: number | undefined;
}

export interface RescueStaleTasksOptions {
  /** A running task silent for longer than this (no event, no status or progress change) is failed. */
  staleAfterMs: number;
  /** The error event's message; by default it says how long the task had been silent. */
  message?: string | undefined;
}

export interface PruneFinishedTasksOptions {
  /** Tasks that finished before this go, with their events. */
  finishedBefore: Date;
  /** Tasks per transaction (1 to 10,000; default 1,000): each batch's locks are short. */
  batchSize?: number | undefined;
}

export interface PruneReport {
  tasks: number;
  events: number;
  /** Transactions it took. */
  batches: number;
}

export interface StoryTasksRepository {
  /**
   * Creates a task (queued unless `status: "running"`). With an `id`, a retry is harmless: the
   * stored task comes back and nothing is written, if its operation, story, requester and payload
   * are the ones given (StoryTaskConflictError otherwise).
   * @example
   * const task = await repo.createTask({ id: job.id, storyId, operation: "CREATE_SHOT_IMAGES", payload: { scenelets: 12 } }, { event: { eventType: "info", message: "Queued by the API" } });
   */
  createTask(input: CreateStoryTaskInput, options?: CreateStoryTaskOptions): Promise<StoryTaskRecord>;
  /**
   * Appends an event; a `progressOverride` also moves the task's progress, in the same transaction. With an `id`, stored once.
   * @example
   * await repo.appendEvent(task.id, { id: randomUUID(), eventType: "progress", message: "Shot 3 of 12", progressOverride: 25 });
   */
  appendEvent(taskId: string, event: CreateStoryTaskEventInput): Promise<StoryTaskEventRecord>;
  /**
   * Appends up to 1,000 events in one round trip and one transaction, in the order given; progress moves to the highest override.
   * @example
   * await repo.appendEvents(task.id, deltas.map((delta) => ({ eventType: "chat_message", message: delta })));
   */
  appendEvents(taskId: string, events: CreateStoryTaskEventInput[]): Promise<StoryTaskEventRecord[]>;
  /**
   * Moves a task to a new status, as the status machine allows (a final task asked for its own status comes back unchanged).
   * @example
   * // A claim: of two workers given the same job, exactly one gets past this line.
   * await repo.updateStatus(task.id, { status: "running", expectedStatus: "queued", event: { id: randomUUID(), message: "Picked up" } });
   */
  updateStatus(taskId: string, patch: StoryTaskStatusPatch): Promise<StoryTaskRecord>;
  /**
   * A story's tasks, newest first (default 20, at most 1000).
   * @example
   * const recent = await repo.listRecentByStory(storyId, 10);
   */
  listRecentByStory(storyId: string, limit?: number): Promise<StoryTaskRecord[]>;
  /**
   * One task; StoryTaskNotFoundError if there is none (or the caller may not see it).
   * @example
   * const { status, progress } = await repo.getTask(taskId);
   */
  getTask(taskId: string): Promise<StoryTaskRecord>;
  /**
   * A task's events in append order; an unknown task has none.
   * @example
   * const latest = await repo.listEvents(taskId, { limit: 50, newestFirst: true });
   * const newer = await repo.listEvents(taskId, { afterSeq: latest[0]?.seq ?? 0 });
   */
  listEvents(taskId: string, options?: ListEventsOptions | null): Promise<StoryTaskEventRecord[]>;
  /**
   * Fails the running tasks whose workers went silent; safe from several processes at once. Returns them.
   * @example
   * const rescued = await repo.rescueStaleTasks({ staleAfterMs: 15 * 60_000 });
   */
  rescueStaleTasks(options: RescueStaleTasksOptions): Promise<StoryTaskRecord[]>;
  /**
   * Deletes finished tasks older than `finishedBefore` with their events, a batch per transaction.
   * @example
   * const { tasks, events } = await repo.pruneFinishedTasks({ finishedBefore: new Date(Date.now() - 30 * 86_400_000) });
   */
  pruneFinishedTasks(options: PruneFinishedTasksOptions): Promise<PruneReport>;
}
