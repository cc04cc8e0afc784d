// Lost responses: the request reaches PostgREST and commits, then the answer is lost and the
// caller sees a connection error. A worker retries with the same ids until the call succeeds.
// Over 200 seeded calls (createTask, appendEvent, appendEvents, updateStatus), every intended
// row exists exactly once, and every task ends as the same calls leave it without faults.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StoryTaskStatus } from "../../generated/records.ts";
import { StoryTaskError, type StoryTasksRepository } from "../../src/repository/index.ts";
import { interceptedRepository } from "../support/intercepted.ts";
import { type TestStack, stacks } from "../support/stacks.ts";
import { seededRandom } from "./helpers.ts";

/** One planned call, with symbolic task and event names that each run maps to its own ids. */
type PlannedCall =
  | { kind: "create"; task: number; status: "queued" | "running" }
  | { kind: "append"; task: number; events: { name: string; progress?: number }[] }
  | { kind: "status"; task: number; status: StoryTaskStatus; expected?: StoryTaskStatus; name: string };

const taskCount = 12;
const statuses: StoryTaskStatus[] = ["running", "running", "succeeded", "failed", "cancelled", "queued"];

function plan(seed: number, count: number): PlannedCall[] {
  const random = seededRandom(seed);
  const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)]!;
  const calls: PlannedCall[] = Array.from({ length: taskCount }, (_, task) => ({ kind: "create" as const, task, status: task % 2 ? ("running" as const) : ("queued" as const) }));
  for (let n = calls.length; n < count; n++) {
    const task = Math.floor(random() * taskCount);
    const roll = random();
    if (roll < 0.25) {
      const status = pick(statuses);
      calls.push({ kind: "status", task, status, ...(random() < 0.5 ? { expected: pick(statuses) } : {}), name: `status ${n}` });
    } else {
      const size = roll < 0.6 ? 1 : 2 + Math.floor(random() * 4);
      calls.push({ kind: "append", task, events: Array.from({ length: size }, (_, i) => ({ name: `event ${n}.${i}`, ...(random() < 0.6 ? { progress: Math.floor(random() * 100) } : {}) })) });
    }
  }
  // A created task or its retry twice more, as a redelivered job would.
  calls.push(calls[0]!, calls[1]!);
  return calls;
}

interface Run {
  taskIds: string[];
  /** Calls the repository refused for good (the status machine), by their index in the plan. */
  refused: Map<number, string>;
  attempts: number;
}

/** Runs the plan in order, each call retried with the same ids while its error is retryable. */
async function runPlan(repo: StoryTasksRepository, calls: PlannedCall[]): Promise<Run> {
  const taskIds = Array.from({ length: taskCount }, () => randomUUID());
  const eventIds = new Map<string, string>();
  const eventId = (name: string) => eventIds.get(name) ?? eventIds.set(name, randomUUID()).get(name)!;
  const run: Run = { taskIds, refused: new Map(), attempts: 0 };
  for (const [index, call] of calls.entries()) {
    const taskId = taskIds[call.task]!;
    const send = (): Promise<unknown> => {
      if (call.kind === "create") return repo.createTask({ id: taskId, operation: "CREATE_SHOT_IMAGES", status: call.status, payload: { task: call.task } });
      if (call.kind === "append" && call.events.length === 1) {
        const [event] = call.events;
        return repo.appendEvent(taskId, { id: eventId(event!.name), eventType: event!.progress === undefined ? "info" : "progress", message: event!.name, ...(event!.progress === undefined ? {} : { progressOverride: event!.progress }) });
      }
      if (call.kind === "append") {
        return repo.appendEvents(
          taskId,
          call.events.map((event) => ({ id: eventId(event.name), eventType: event.progress === undefined ? ("info" as const) : ("progress" as const), message: event.name, ...(event.progress === undefined ? {} : { progressOverride: event.progress }) })),
        );
      }
      return repo.updateStatus(taskId, { status: call.status, ...(call.expected ? { expectedStatus: call.expected } : {}), event: { id: eventId(call.name), message: call.name } });
    };
    for (let attempt = 1; ; attempt++) {
      run.attempts += 1;
      try {
        await send();
        break;
      } catch (error) {
        if (!(error instanceof StoryTaskError)) throw error;
        if (!error.retryable) {
          run.refused.set(index, error.name);
          break;
        }
        if (attempt > 20) throw new Error(`call ${index} still failing after 20 attempts: ${error.message}`);
      }
    }
  }
  return run;
}

/** Each task's status, progress and events (type, message, progress), in append order: what the calls left. */
async function outcome(running: TestStack, run: Run): Promise<unknown[]> {
  const rows = await running.stack.query<{ task: number; status: string; progress: number; events: unknown }>(
    `SELECT array_position($1::uuid[], t.id) AS task, t.status, t.progress,
            coalesce((SELECT json_agg(json_build_array(e.event_type, e.message, e.progress_override) ORDER BY e.seq) FROM public.story_task_events e WHERE e.task_id = t.id), '[]') AS events
     FROM public.story_tasks t WHERE t.id = ANY($1::uuid[]) ORDER BY 1`,
    [run.taskIds],
  );
  return rows.rows;
}

describe.each(stacks)("lost responses on $name", ({ start }) => {
  let running: TestStack;

  beforeAll(async () => {
    running = await start("lost_responses");
  });
  afterAll(async () => {
    await running?.stop();
  });

  it("200 calls, each retried with the same ids until it succeeds: every row once, every task as without faults", async () => {
    const calls = plan(11, 200);
    const clean = await runPlan(interceptedRepository(running.stack).repo, calls);

    const lossy = interceptedRepository(running.stack);
    const random = seededRandom(12);
    let lost = 0;
    lossy.intercept(async (forward) => {
      const response = await forward();
      if (random() >= 0.4) return response;
      // The request was served and committed; its answer never reaches the caller.
      await response.arrayBuffer();
      lost += 1;
      throw new TypeError("fetch failed");
    });
    const faulty = await runPlan(lossy.repo, calls);

    expect(clean.refused.size).toBeGreaterThan(0); // the status machine refused some calls in both runs
    expect(lost).toBeGreaterThan(50);
    expect(faulty.attempts).toBe(clean.attempts + lost);
    expect(faulty.refused).toEqual(clean.refused);
    expect(await outcome(running, faulty)).toEqual(await outcome(running, clean));
    const tasks = await running.stack.query<{ n: number }>("SELECT count(*)::int AS n FROM public.story_tasks WHERE id = ANY($1::uuid[])", [faulty.taskIds]);
    expect(tasks.rows[0]?.n).toBe(taskCount);
    // Every event the plan meant to store, once: the messages are unique per plan.
    const duplicates = await running.stack.query(
      "SELECT message, count(*) FROM public.story_task_events WHERE task_id = ANY($1::uuid[]) GROUP BY message HAVING count(*) > 1",
      [faulty.taskIds],
    );
    expect(duplicates.rows).toEqual([]);
  });
});
