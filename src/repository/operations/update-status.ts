import { z } from "zod";
import type { Database } from "../../../generated/database.types.ts";
import { type StoryTaskRecord, mapStoryTaskRowToRecord } from "../../../generated/records.ts";
import { storyTaskEventFields, storyTaskFields, storyTaskStatusSchema } from "../../../generated/validators.ts";
import { uuid } from "../../validation/rules.ts";
import type { StoryTasksClient } from "../client.ts";
import { classifyStoryTaskError } from "../errors.ts";
import type { StoryTaskStatusPatch } from "../interfaces.ts";
import { validate } from "../validate.ts";

const statusPatchSchema = z.strictObject({
  status: storyTaskStatusSchema,
  progress: storyTaskFields.progress.optional(),
  event: z
    .strictObject({
      eventType: storyTaskEventFields.eventType.optional(),
      message: storyTaskEventFields.message,
      payload: storyTaskEventFields.payload.optional(),
    })
    .optional(),
});

/** public.update_story_task_status: the change and its event in one transaction; the status machine decides. */
export async function updateStatus(client: StoryTasksClient, taskId: string, patch: StoryTaskStatusPatch): Promise<StoryTaskRecord> {
  const id = validate(uuid(), taskId, "taskId");
  const valid = validate(statusPatchSchema, patch);
  const args: Database["public"]["Functions"]["update_story_task_status"]["Args"] = { task_id: id, status: valid.status };
  if (valid.progress !== undefined) args.progress = valid.progress;
  if (valid.event) {
    args.event_message = valid.event.message;
    if (valid.event.eventType !== undefined) args.event_type = valid.event.eventType;
    if (valid.event.payload !== undefined && valid.event.payload !== null) args.event_payload = valid.event.payload;
  }
  const { data, error } = await client.rpc("update_story_task_status", args);
  if (error) throw classifyStoryTaskError(error, { taskId: id });
  return mapStoryTaskRowToRecord(data);
}
