// The status machine as the tests state it (the specification, written independently of the
// trigger that enforces it), shared by the SQL-level and repository-level suites.
import type { StoryTaskStatus } from "../../generated/records.ts";

export const statuses: StoryTaskStatus[] = ["queued", "running", "succeeded", "failed", "cancelled"];
export const terminalStatuses: StoryTaskStatus[] = ["succeeded", "failed", "cancelled"];

export const allowedTransitions: Record<StoryTaskStatus, StoryTaskStatus[]> = {
  queued: ["running", "cancelled", "failed"],
  running: ["succeeded", "failed", "cancelled"],
  succeeded: [],
  failed: [],
  cancelled: [],
};

/** The allowed transitions that take a new (queued) task to each status. */
export const pathTo: Record<StoryTaskStatus, StoryTaskStatus[]> = {
  queued: [],
  running: ["running"],
  succeeded: ["running", "succeeded"],
  failed: ["running", "failed"],
  cancelled: ["cancelled"],
};

/** Every ordered pair of different statuses, and whether the machine allows it. */
export const transitionPairs = statuses.flatMap((from) =>
  statuses.filter((to) => to !== from).map((to) => ({ from, to, ok: allowedTransitions[from].includes(to) })),
);
