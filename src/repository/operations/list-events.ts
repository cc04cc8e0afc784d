import { type StoryTaskEventRecord, mapStoryTaskEventRowToRecord } from "../../../generated/records.ts";
import { integerBetween, uuid } from "../../validation/rules.ts";
import type { StoryTasksClient } from "../client.ts";
import { classifyStoryTaskError } from "../errors.ts";
import type { ListEventsOptions } from "../interfaces.ts";
import { validate } from "../validate.ts";

/** SELECT * FROM story_task_events WHERE task_id = $1 ORDER BY seq [DESC] LIMIT $2: append order, never a tie. */
export async function listEvents(client: StoryTasksClient, taskId: string, given?: ListEventsOptions | null): Promise<StoryTaskEventRecord[]> {
  const options = given ?? {};
  const id = validate(uuid(), taskId, "taskId");
  const limit = validate(integerBetween(1, 1000), options.limit ?? 50, "limit");
  const { data, error } = await client
    .from("story_task_events")
    .select()
    .eq("task_id", id)
    .order("seq", { ascending: !options.newestFirst })
    .limit(limit);
  if (error) throw classifyStoryTaskError(error, { taskId: id });
  return data.map(mapStoryTaskEventRowToRecord);
}
