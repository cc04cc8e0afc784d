import { z } from "zod";
import { type StoryTaskRecord, mapStoryTaskRowToRecord } from "../../../generated/records.ts";
import { integerBetween, nonEmptyText } from "../../validation/rules.ts";
import type { StoryTasksClient } from "../client.ts";
import { dataOf } from "../errors.ts";
import type { PruneFinishedTasksOptions, PruneReport, RescueStaleTasksOptions } from "../interfaces.ts";
import { validate } from "../validate.ts";

const rescueSchema = z.strictObject({
  staleAfterMs: integerBetween(1, Number.MAX_SAFE_INTEGER),
  message: nonEmptyText().optional(),
});

/** public.rescue_stale_story_tasks: the running tasks silent for longer than staleAfterMs, failed. */
export async function rescueStaleTasks(client: StoryTasksClient, options: RescueStaleTasksOptions): Promise<StoryTaskRecord[]> {
  const valid = validate(rescueSchema, options);
  const rows = dataOf(
    await client.rpc("rescue_stale_story_tasks", { stale_after: `${valid.staleAfterMs} milliseconds`, ...(valid.message === undefined ? {} : { message: valid.message }) }),
  );
  return rows.map(mapStoryTaskRowToRecord);
}

const pruneSchema = z.strictObject({
  finishedBefore: z.date({ error: "must be a Date" }).refine((date) => !Number.isNaN(date.getTime()), { error: "must be a valid Date" }),
  batchSize: integerBetween(1, 10_000).optional(),
});

/** public.prune_finished_story_tasks, one batch per call (each its own transaction), until a batch comes back short. */
export async function pruneFinishedTasks(client: StoryTasksClient, options: PruneFinishedTasksOptions): Promise<PruneReport> {
  const valid = validate(pruneSchema, options);
  const batchSize = valid.batchSize ?? 1000;
  const report: PruneReport = { tasks: 0, events: 0, batches: 0 };
  for (;;) {
    const [batch] = dataOf(await client.rpc("prune_finished_story_tasks", { finished_before: valid.finishedBefore.toISOString(), batch_size: batchSize }));
    report.batches += 1;
    report.tasks += batch?.tasks ?? 0;
    report.events += batch?.events ?? 0;
    if ((batch?.tasks ?? 0) < batchSize) return report;
  }
}
