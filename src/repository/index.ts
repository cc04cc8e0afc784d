// The story-task repository: the design's interface over the caller's supabase-js client.
import type { StoryTasksClient } from "./client.ts";
import type { StoryTasksRepository } from "./interfaces.ts";
import { appendEvent, appendEvents } from "./operations/append-events.ts";
import { createTask } from "./operations/create-task.ts";
import { listEvents } from "./operations/list-events.ts";
import { pruneFinishedTasks, rescueStaleTasks } from "./operations/maintenance.ts";
import { getTask, listRecentByStory } from "./operations/read-tasks.ts";
import { updateStatus } from "./operations/update-status.ts";

export type { StoryTasksClient } from "./client.ts";
export * from "./errors.ts";
export type {
  CreateStoryTaskOptions,
  ListEventsOptions,
  PruneFinishedTasksOptions,
  PruneReport,
  RescueStaleTasksOptions,
  StoryTaskStatusPatch,
  StoryTasksRepository,
} from "./interfaces.ts";
export { maxEventsPerBatch } from "./operations/append-events.ts";

/**
 * The story-task repository over the caller's supabase-js client (the service-role key, for the
 * agent backend; a signed-in user's client reads only their own tasks).
 * @example
 * const repo = createStoryTasksRepository(createNodeSupabaseClient(url, serviceRoleKey));
 * const task = await repo.createTask({ storyId, operation: "CREATE_SHOT_IMAGES", status: "running" });
 * await repo.appendEvent(task.id, { eventType: "progress", message: "3 of 12 shots", progressOverride: 25 });
 */
export function createStoryTasksRepository(client: StoryTasksClient): StoryTasksRepository {
  return {
    createTask: (input, options) => createTask(client, input, options),
    appendEvent: (taskId, event) => appendEvent(client, taskId, event),
    appendEvents: (taskId, events) => appendEvents(client, taskId, events),
    updateStatus: (taskId, patch) => updateStatus(client, taskId, patch),
    listRecentByStory: (storyId, limit) => listRecentByStory(client, storyId, limit),
    getTask: (taskId) => getTask(client, taskId),
    listEvents: (taskId, options) => listEvents(client, taskId, options),
    rescueStaleTasks: (options) => rescueStaleTasks(client, options),
    pruneFinishedTasks: (options) => pruneFinishedTasks(client, options),
  };
}
