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
  /** While a task runs, progress never goes backwards: a lower value leaves it where it is. */
  progress?: number | undefined;
  /** Written in the same transaction as the change. */
  event?: { eventType?: StoryTaskEventType | undefined; message: string; payload?: Json | undefined } | undefined;
}

export interface ListEventsOptions {
  /** At most this many events (1 to 1000; default 50). */
  limit?: number | undefined;
  /** Newest first (default: oldest first). Either way, in the order they were appended. */
  newestFirst?: boolean | undefined;
}

export interface StoryTasksRepository {
  /** Creates a task (queued unless `status: "running"`). */
  createTask(input: CreateStoryTaskInput): Promise<StoryTaskRecord>;
  /** Appends an event; a `progressOverride` also moves the task's progress, in the same transaction. */
  appendEvent(taskId: string, event: CreateStoryTaskEventInput): Promise<StoryTaskEventRecord>;
  /** Moves a task to a new status, as the status machine allows. */
  updateStatus(taskId: string, patch: StoryTaskStatusPatch): Promise<StoryTaskRecord>;
  /** A story's tasks, newest first (default 20, at most 1000). */
  listRecentByStory(storyId: string, limit?: number): Promise<StoryTaskRecord[]>;
  getTask(taskId: string): Promise<StoryTaskRecord>;
  /** A task's events in append order; an unknown task has none. */
  listEvents(taskId: string, options?: ListEventsOptions | null): Promise<StoryTaskEventRecord[]>;
}
