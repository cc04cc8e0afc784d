import { randomUUID } from "node:crypto";
import { z } from "zod";
import { type CreateStoryTaskEventInput, type StoryTaskEventRecord, mapCreateStoryTaskEventInputToInsert, mapStoryTaskEventRowToRecord } from "../../../generated/records.ts";
import { createStoryTaskEventInputSchema } from "../../../generated/validators.ts";
import { uuid } from "../../validation/rules.ts";
import type { StoryTasksClient } from "../client.ts";
import { dataOf } from "../errors.ts";
import { validate } from "../validate.ts";

/** What append_story_task_events takes in one call. */
export const maxEventsPerBatch = 1000;

const batchSchema = z
  .array(createStoryTaskEventInputSchema, { error: "must be an array of events" })
  .min(1, { error: `must hold 1 to ${maxEventsPerBatch} events` })
  .max(maxEventsPerBatch, { error: `must hold 1 to ${maxEventsPerBatch} events` })
  .superRefine((events, context) => {
    const seen = new Map<string, number>();
    events.forEach((event, index) => {
      if (event.id === undefined) return;
      const first = seen.get(event.id.toLowerCase());
      if (first !== undefined) context.addIssue({ code: "custom", path: [index, "id"], message: `repeats the id of event ${first}` });
      else seen.set(event.id.toLowerCase(), index);
    });
  });

/** The rpc's row for an event; one without an id gets one here, which spares the function a pass over the batch. */
const toRow = (event: CreateStoryTaskEventInput) => mapCreateStoryTaskEventInputToInsert(event.id === undefined ? { ...event, id: randomUUID() } : event);

/** public.append_story_task_events: the events in the order given, and the task's progress, in one transaction. */
export async function appendEvents(client: StoryTasksClient, taskId: string, events: CreateStoryTaskEventInput[]): Promise<StoryTaskEventRecord[]> {
  const id = validate(uuid(), taskId, "taskId");
  const valid = validate(batchSchema, events, "events");
  const rows = dataOf(await client.rpc("append_story_task_events", { task_id: id, events: valid.map(toRow) }), { taskId: id });
  return rows.map(mapStoryTaskEventRowToRecord);
}

/** One event, through the same function. */
export async function appendEvent(client: StoryTasksClient, taskId: string, event: CreateStoryTaskEventInput): Promise<StoryTaskEventRecord> {
  const id = validate(uuid(), taskId, "taskId");
  const valid = validate(createStoryTaskEventInputSchema, event);
  const rows = dataOf(await client.rpc("append_story_task_events", { task_id: id, events: [toRow(valid)] }), { taskId: id });
  return mapStoryTaskEventRowToRecord(rows[0]!);
}
