import { z } from "zod";
import { type StoryTaskEventRecord, mapStoryTaskEventRowToRecord } from "../../../generated/records.ts";
import { integerBetween, uuid } from "../../validation/rules.ts";
import type { StoryTasksClient } from "../client.ts";
import { dataOf } from "../errors.ts";
import type { ListEventsOptions } from "../interfaces.ts";
import { validate } from "../validate.ts";

const optionsSchema = z.strictObject({
  limit: integerBetween(1, 1000).optional(),
  newestFirst: z.boolean({ error: "must be true or false" }).optional(),
  afterSeq: integerBetween(0, Number.MAX_SAFE_INTEGER).optional(),
});

/** SELECT * FROM story_task_events WHERE task_id = $1 [AND seq > $2] ORDER BY seq [DESC] LIMIT $3: append order, never a tie. */
export async function listEvents(client: StoryTasksClient, taskId: string, given?: ListEventsOptions | null): Promise<StoryTaskEventRecord[]> {
  const id = validate(uuid(), taskId, "taskId");
  const options = validate(optionsSchema, given ?? {});
  let query = client.from("story_task_events").select().eq("task_id", id);
  if (options.afterSeq !== undefined) query = query.gt("seq", options.afterSeq);
  const rows = dataOf(await query.order("seq", { ascending: !options.newestFirst }).limit(options.limit ?? 50), { taskId: id });
  return rows.map(mapStoryTaskEventRowToRecord);
}
