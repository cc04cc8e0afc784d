import { z } from "zod";
import type { Database } from "../../../generated/database.types.ts";
import { type StoryTaskRecord, mapStoryTaskRowToRecord } from "../../../generated/records.ts";
import { storyTaskEventFields, storyTaskFields, storyTaskStatusSchema } from "../../../generated/validators.ts";
import { uuid } from "../../validation/rules.ts";
import type { StoryTasksClient } from "../client.ts";
import { dataOf } from "../errors.ts";
import type { StoryTaskStatusPatch } from "../interfaces.ts";
import { validate } from "../validate.ts";

const statusPatchSchema = z.strictObject({
  status: storyTaskStatusSchema,
  expectedStatus: storyTaskStatusSchema.optional(),
  progress: storyTaskFields.progress.optional(),
  event: z
    .strictObject({
      id: storyTaskEventFields.id.optional(),
      eventType: storyTaskEventFields.eventType.optional(),
      message: storyTaskEventFields.message,
      payload: storyTaskEventFields.payload.optional(),
    })
    .optional(),
});

/** public.update_story_task_status: the guarded change and its event in one transaction; the status machine decides. */
export async function updateStatus(client: StoryTasksClient, taskId: string, patch: StoryTaskStatusPatch): Promise<StoryTaskRecord> {
  const id = validate(uuid(), taskId, "taskId");
  const valid = validate(statusPatchSchema, patch);
  const args: Database["public"]["Functions"]["update_story_task_status"]["Args"] = { task_id: id, status: valid.status };
  if (valid.expectedStatus !== undefined) args.expected_status = valid.expectedStatus;
  if (valid.progress !== undefined) args.progress = valid.progress;
  if (valid.event) {
    const { id: eventId, eventType, message, payload } = valid.event;
    args.event = { message, ...(eventId === undefined ? {} : { id: eventId }), ...(eventType === undefined ? {} : { event_type: eventType }), ...(payload === undefined || payload === null ? {} : { payload }) };
  }
  return mapStoryTaskRowToRecord(dataOf(await client.rpc("update_story_task_status", args), { taskId: id }));
}
