import type { Database } from "../../../generated/database.types.ts";
import { type CreateStoryTaskEventInput, type StoryTaskEventRecord, mapStoryTaskEventRowToRecord } from "../../../generated/records.ts";
import { createStoryTaskEventInputSchema } from "../../../generated/validators.ts";
import { uuid } from "../../validation/rules.ts";
import type { StoryTasksClient } from "../client.ts";
import { classifyStoryTaskError } from "../errors.ts";
import { validate } from "../validate.ts";

/** public.append_story_task_event: the event, and the task's progress when it carries one, in one transaction. */
export async function appendEvent(client: StoryTasksClient, taskId: string, event: CreateStoryTaskEventInput): Promise<StoryTaskEventRecord> {
  const id = validate(uuid(), taskId, "taskId");
  const valid = validate(createStoryTaskEventInputSchema, event);
  const args: Database["public"]["Functions"]["append_story_task_event"]["Args"] = {
    task_id: id,
    event_type: valid.eventType,
    message: valid.message,
  };
  if (valid.payload !== undefined) args.payload = valid.payload;
  if (valid.progressOverride !== undefined && valid.progressOverride !== null) args.progress_override = valid.progressOverride;
  const { data, error } = await client.rpc("append_story_task_event", args);
  if (error) throw classifyStoryTaskError(error, { taskId: id });
  return mapStoryTaskEventRowToRecord(data);
}
