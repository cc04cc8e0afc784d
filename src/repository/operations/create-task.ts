import { type CreateStoryTaskInput, type StoryTaskRecord, mapCreateStoryTaskInputToInsert, mapStoryTaskRowToRecord } from "../../../generated/records.ts";
import { createStoryTaskInputSchema } from "../../../generated/validators.ts";
import type { StoryTasksClient } from "../client.ts";
import { classifyStoryTaskError } from "../errors.ts";
import { validate } from "../validate.ts";

/** INSERT INTO story_tasks ... RETURNING *, through PostgREST. */
export async function createTask(client: StoryTasksClient, input: CreateStoryTaskInput): Promise<StoryTaskRecord> {
  const valid = validate(createStoryTaskInputSchema, input);
  const { data, error } = await client.from("story_tasks").insert(mapCreateStoryTaskInputToInsert(valid)).select().single();
  if (error) throw classifyStoryTaskError(error);
  return mapStoryTaskRowToRecord(data);
}
