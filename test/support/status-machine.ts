// The status machine the tests check the database against: the declaration in
// schema/story_tasks.pg.hcl, as `pnpm codegen` generates it. The trigger reads the same
// declaration from the catalog; these suites check that it enforces it, pair by pair.
import type { StoryTaskStatus } from "../../generated/records.ts";
import { STORY_TASK_FINAL_STATUSES, STORY_TASK_INITIAL_STATUSES, STORY_TASK_TRANSITIONS } from "../../generated/status-machine.ts";
import { STORY_TASK_STATUSES } from "../../generated/validators.ts";

export const statuses: readonly StoryTaskStatus[] = STORY_TASK_STATUSES;
export const terminalStatuses: readonly StoryTaskStatus[] = STORY_TASK_FINAL_STATUSES;
export const allowedTransitions: Readonly<Record<StoryTaskStatus, readonly StoryTaskStatus[]>> = STORY_TASK_TRANSITIONS;

/** The shortest run of allowed transitions that takes a new task (in the default initial status) to each status. */
export const pathTo: Record<StoryTaskStatus, StoryTaskStatus[]> = (() => {
  const start = STORY_TASK_INITIAL_STATUSES[0];
  const paths = new Map<StoryTaskStatus, StoryTaskStatus[]>([[start, []]]);
  for (const [from, path] of paths) {
    for (const to of allowedTransitions[from]) if (!paths.has(to)) paths.set(to, [...path, to]);
  }
  const unreachable = statuses.filter((status) => !paths.has(status));
  if (unreachable.length > 0) throw new Error(`the status machine cannot reach ${unreachable.join(", ")} from ${start}`);
  return Object.fromEntries(paths) as Record<StoryTaskStatus, StoryTaskStatus[]>;
})();

/** Every ordered pair of different statuses, and whether the machine allows it. */
export const transitionPairs = statuses.flatMap((from) =>
  statuses.filter((to) => to !== from).map((to) => ({ from, to, ok: allowedTransitions[from].includes(to) })),
);
