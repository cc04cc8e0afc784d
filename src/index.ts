// The package's main entry, what a production worker imports: the repository and its types,
// the records and inputs, the value lists and the status machine, the validators a caller may
// reuse, the errors, and the generated Database type. The logging helpers are
// `story-task-persistence/task-logging`; the local stack (optional packages) is
// `story-task-persistence/local-stack`.
export type { Database, Json, Tables } from "../generated/database.types.ts";
export {
  type CreateStoryTaskEventInput,
  type CreateStoryTaskInput,
  type StoryTaskEventRecord,
  type StoryTaskEventType,
  type StoryTaskOperation,
  type StoryTaskRecord,
  type StoryTaskStatus,
  mapStoryTaskEventRowToRecord,
  mapStoryTaskRowToRecord,
} from "../generated/records.ts";
export {
  STORY_TASK_COMPLETE_STATUS,
  STORY_TASK_FINAL_STATUSES,
  STORY_TASK_INITIAL_STATUSES,
  STORY_TASK_TRANSITIONS,
  type StoryTaskFinalStatus,
  canMoveTo,
  isFinalStatus,
} from "../generated/status-machine.ts";
export {
  STORY_TASK_EVENT_TYPES,
  STORY_TASK_OPERATIONS,
  STORY_TASK_STATUSES,
  createStoryTaskEventInputSchema,
  createStoryTaskInputSchema,
  storyTaskEventTypeSchema,
  storyTaskOperationSchema,
  storyTaskStatusSchema,
} from "../generated/validators.ts";
export {
  type CreateStoryTaskOptions,
  type ListEventsOptions,
  type PruneFinishedTasksOptions,
  type PruneReport,
  type RescueStaleTasksOptions,
  type StoryTaskStatusPatch,
  type StoryTasksClient,
  type StoryTasksRepository,
  createStoryTasksRepository,
  maxEventsPerBatch,
} from "./repository/index.ts";
export {
  type ErrorContext,
  type StoryTaskFieldIssue,
  type StoryTaskReference,
  StoryTaskAuthorizationError,
  StoryTaskConflictError,
  StoryTaskConnectionError,
  StoryTaskError,
  StoryTaskForeignKeyError,
  StoryTaskNotFoundError,
  StoryTaskTransitionError,
  StoryTaskValidationError,
  StoryTasksAuthorizationError,
  StoryTasksConnectionError,
  StoryTasksRepositoryError,
  classifyStoryTaskError,
} from "./repository/errors.ts";
export { type NodeSupabaseClientOptions, createNodeSupabaseClient } from "./local-stack/supabase-client.ts";
