import { type StoryTaskRecord, mapStoryTaskRowToRecord } from "../../../generated/records.ts";
import { integerBetween, uuid } from "../../validation/rules.ts";
import type { StoryTasksClient } from "../client.ts";
import { StoryTaskNotFoundError, dataOf } from "../errors.ts";
import { validate } from "../validate.ts";

/** SELECT * FROM story_tasks WHERE id = $1. */
export async function getTask(client: StoryTasksClient, taskId: string): Promise<StoryTaskRecord> {
  const id = validate(uuid(), taskId, "taskId");
  const row = dataOf(await client.from("story_tasks").select().eq("id", id).maybeSingle(), { taskId: id });
  if (!row) throw new StoryTaskNotFoundError(id);
  return mapStoryTaskRowToRecord(row);
}

/** SELECT * FROM story_tasks WHERE story_id = $1 ORDER BY created_at DESC LIMIT $2 (index story_tasks_story_id_created_at_idx). */
export async function listRecentByStory(client: StoryTasksClient, storyId: string, limit = 20): Promise<StoryTaskRecord[]> {
  const id = validate(uuid(), storyId, "storyId");
  const count = validate(integerBetween(1, 1000), limit, "limit");
  const rows = dataOf(await client.from("story_tasks").select().eq("story_id", id).order("created_at", { ascending: false }).limit(count));
  return rows.map(mapStoryTaskRowToRecord);
}
