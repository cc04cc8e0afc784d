// The statuses a task ends in: the status machine never moves a task out of them.
import type { StoryTaskStatus } from "../../generated/records.ts";

export const taskEndings = ["succeeded", "failed", "cancelled"] as const satisfies readonly StoryTaskStatus[];

export type TaskEnding = (typeof taskEndings)[number];

export function isTaskEnding(status: StoryTaskStatus | null): status is TaskEnding {
  return (taskEndings as readonly (StoryTaskStatus | null)[]).includes(status);
}
