import { type CreateStoryTaskInput, type StoryTaskRecord, mapCreateStoryTaskEventInputToInsert, mapCreateStoryTaskInputToInsert, mapStoryTaskRowToRecord } from "../../../generated/records.ts";
import { createStoryTaskEventInputSchema, createStoryTaskInputSchema } from "../../../generated/validators.ts";
import type { StoryTasksClient } from "../client.ts";
import { dataOf } from "../errors.ts";
import type { CreateStoryTaskOptions } from "../interfaces.ts";
import { validate } from "../validate.ts";

/** public.create_story_task: the task, and its first event, in one transaction; a stored id comes back as it is. */
export async function createTask(client: StoryTasksClient, input: CreateStoryTaskInput, options: CreateStoryTaskOptions = {}): Promise<StoryTaskRecord> {
  const task = validate(createStoryTaskInputSchema, input);
  const event = options.event === undefined ? undefined : validate(createStoryTaskEventInputSchema, options.event, "event");
  const row = dataOf(
    await client.rpc("create_story_task", {
      task: mapCreateStoryTaskInputToInsert(task),
      ...(event ? { start_event: mapCreateStoryTaskEventInputToInsert(event) } : {}),
    }),
    task.id ? { taskId: task.id } : {},
  );
  return mapStoryTaskRowToRecord(row);
}
