// Shared by the reliability suites: bounded waiting for calls, the typed-error check, and the
// stored state of tasks and events read straight from the database.
import { expect } from "vitest";
import type { StoryTaskStatus } from "../../generated/records.ts";
import type { LocalStack } from "../../src/local-stack/index.ts";
import { StoryTaskTransitionError, StoryTaskError, type StoryTasksRepository } from "../../src/repository/index.ts";
import { allowedTransitions, terminalStatuses } from "../support/status-machine.ts";

/** Prints what the suites observed (error codes, timings) when RELIABILITY_VERBOSE is set. */
export function report(...parts: unknown[]): void {
  if (process.env.RELIABILITY_VERBOSE) console.info("[reliability]", ...parts);
}

export type Outcome<T> = { status: "fulfilled"; value: T } | { status: "rejected"; reason: unknown } | { status: "hung" };

/** Waits for `promise` at most `ms`: a call that neither resolves nor rejects by then is "hung". */
export async function settleWithin<T>(promise: Promise<T>, ms: number): Promise<Outcome<T>> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<Outcome<T>>((resolve) => (timer = setTimeout(() => resolve({ status: "hung" }), ms)));
  try {
    return await Promise.race([
      promise.then(
        (value): Outcome<T> => ({ status: "fulfilled", value }),
        (reason: unknown): Outcome<T> => ({ status: "rejected", reason }),
      ),
      hung,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** A short description of a rejection, for messages and counts: class, code, first line. */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return `non-Error ${typeof error}: ${String(error)}`;
  const code = error instanceof StoryTaskError ? ` ${error.code ?? "-"}` : "";
  return `${error.constructor.name}${code}: ${error.message.split("\n")[0]?.slice(0, 160)}`;
}

/** Asserts the repository rejected with one of its own errors, never a plain TypeError, RangeError, ... */
export function expectRepositoryError(error: unknown, context = ""): asserts error is StoryTaskError {
  expect(error instanceof StoryTaskError, `${context} rejected with ${describeError(error)}, not a StoryTaskError`).toBe(true);
  expect((error as Error).name).toMatch(/^StoryTask/);
}

export function countBy<T>(items: T[], key: (item: T) => string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items) counts[key(item)] = (counts[key(item)] ?? 0) + 1;
  return counts;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Calls `attempt` until it resolves or `deadlineMs` has passed (then throws the last failure). */
export async function retryUntil<T>(attempt: () => Promise<T>, deadlineMs: number, intervalMs = 100): Promise<{ value: T; attempts: number; failures: string[] }> {
  const deadline = Date.now() + deadlineMs;
  const failures: string[] = [];
  for (let attempts = 1; ; attempts++) {
    try {
      return { value: await attempt(), attempts, failures };
    } catch (error) {
      failures.push(describeError(error));
      if (Date.now() > deadline) throw new Error(`still failing after ${deadlineMs} ms (${attempts} attempts): ${failures.slice(-3).join(" | ")}`);
      await sleep(intervalMs);
    }
  }
}

/** The repository works: a write and the reads that see it. */
export async function expectRepositoryWorks(repo: StoryTasksRepository, label: string): Promise<void> {
  const task = await repo.createTask({ operation: "RUN_WORKFLOW_TASK", status: "running" });
  const event = await repo.appendEvent(task.id, { eventType: "progress", message: `${label}: works again`, progressOverride: 7 });
  expect(await repo.listEvents(task.id)).toEqual([event]);
  expect((await repo.getTask(task.id)).progress).toBe(7);
  expect((await repo.updateStatus(task.id, { status: "succeeded", event: { message: `${label}: done` } })).status).toBe("succeeded");
}

export interface StoredTask {
  id: string;
  status: StoryTaskStatus;
  progress: number;
  started_at: Date | null;
  finished_at: Date | null;
}

export interface StoredEvent {
  id: string;
  seq: string;
  task_id: string;
  event_type: string;
  message: string;
  payload: unknown;
  progress_override: number | null;
}

/** The tasks and their events (in append order) as stored, read as the superuser. */
export async function storedState(stack: LocalStack, taskIds: string[]): Promise<{ tasks: Map<string, StoredTask>; events: Map<string, StoredEvent[]> }> {
  const tasks = await stack.query<StoredTask>("SELECT id, status, progress, started_at, finished_at FROM public.story_tasks WHERE id = ANY($1::uuid[])", [taskIds]);
  const events = await stack.query<StoredEvent>(
    // e.seq, not seq: a bare name in ORDER BY would be the text output column, and "10" < "9".
    "SELECT e.id, e.seq::text AS seq, e.task_id, e.event_type, e.message, e.payload, e.progress_override FROM public.story_task_events AS e WHERE e.task_id = ANY($1::uuid[]) ORDER BY e.seq",
    [taskIds],
  );
  const byTask = new Map<string, StoredEvent[]>(taskIds.map((id) => [id, []]));
  for (const event of events.rows) byTask.get(event.task_id)?.push(event);
  return { tasks: new Map(tasks.rows.map((task) => [task.id, task])), events: byTask };
}

/**
 * Whether updateStatus (without a progress) stores its event taking a task from `from` to `to`:
 * a transition the status machine allows, or staying in a status that is not final. A final
 * task asked for the status it has is returned unchanged, with no event (a retried completion).
 */
export function transitionAllowed(from: StoryTaskStatus, to: StoryTaskStatus): boolean {
  return from === to ? !terminalStatuses.includes(from) : allowedTransitions[from].includes(to);
}

/** A task as it was before the calls under test, by the database's account. */
export interface TaskStart {
  id: string;
  status: StoryTaskStatus;
  progress: number;
}

/** A write under test: appendEvent or updateStatus (without a progress), identified by its unique message. */
export type WriteCall =
  | { kind: "append"; taskId: string; message: string; eventType: string; payload: unknown; progressOverride: number | null; outcome: Outcome<unknown> }
  | { kind: "status"; taskId: string; message: string; status: StoryTaskStatus; outcome: Outcome<unknown> };

/**
 * Checks what the database holds after `calls` ran on the tasks of `starts`:
 * - every stored event of these tasks comes from one call, stored once and complete (type,
 *   payload, progress as sent); a call that resolved is stored; one the status machine refused is not;
 *   with `ambiguousFailures` false, no other call failed and no failed call is stored;
 * - the stored status events, in append order, are a path the status machine allows from the
 *   start, and the task's status is where that path ends (a change happened with its event or not at all);
 * - progress: 100 if succeeded, else the highest of the start and every stored override (an
 *   override was applied with its event, or neither was);
 * - finished_at is set iff the status is final; started_at iff the task ever ran.
 */
export async function verifyHistories(stack: LocalStack, starts: TaskStart[], calls: WriteCall[], options: { ambiguousFailures: boolean }): Promise<void> {
  const { tasks, events } = await storedState(stack, starts.map((start) => start.id));
  const byMessage = new Map(calls.map((call) => [call.message, call]));
  expect(byMessage.size, "messages must be unique").toBe(calls.length);
  const storedCount = new Map<string, number>();

  for (const start of starts) {
    const task = tasks.get(start.id);
    expect(task, `task ${start.id} exists`).toBeDefined();
    if (!task) continue;
    let status = start.status;
    let ran = start.status === "running";
    let progress = start.progress;
    const path: string[] = [status];
    for (const event of events.get(start.id) ?? []) {
      const call = byMessage.get(event.message);
      expect(call, `event "${event.message.slice(0, 60)}" of task ${start.id} comes from a call under test`).toBeDefined();
      if (!call) continue;
      storedCount.set(call.message, (storedCount.get(call.message) ?? 0) + 1);
      expect(call.taskId, `event "${call.message}" is stored on its own task`).toBe(start.id);
      if (call.kind === "append") {
        expect({ type: event.event_type, payload: event.payload, progress: event.progress_override }, `event "${call.message}" is stored complete`).toEqual({
          type: call.eventType,
          payload: call.payload,
          progress: call.progressOverride,
        });
        if (call.progressOverride !== null) progress = Math.max(progress, call.progressOverride);
      } else {
        expect({ type: event.event_type, payload: event.payload, progress: event.progress_override }, `status event "${call.message}" is stored complete`).toEqual({
          type: "info",
          payload: null,
          progress: null,
        });
        expect(transitionAllowed(status, call.status), `stored transition ${path.join(" -> ")} -> ${call.status} of task ${start.id}`).toBe(true);
        status = call.status;
        ran ||= status === "running";
        path.push(status);
      }
    }
    const expected = {
      status,
      progress: status === "succeeded" ? 100 : progress,
      finished: terminalStatuses.includes(status),
      started: ran,
    };
    expect(
      { status: task.status, progress: task.progress, finished: task.finished_at !== null, started: task.started_at !== null },
      `task ${start.id} after ${path.join(" -> ")}`,
    ).toEqual(expected);
  }

  for (const call of calls) {
    const count = storedCount.get(call.message) ?? 0;
    expect(count, `event "${call.message}" stored at most once`).toBeLessThanOrEqual(1);
    const { outcome } = call;
    expect(outcome.status, `call "${call.message}" settled`).not.toBe("hung");
    if (outcome.status === "fulfilled") {
      // Asked for the final status a task already had, it was returned unchanged, without its event.
      const repeatedEnding = call.kind === "status" && tasks.get(call.taskId)?.status === call.status && terminalStatuses.includes(call.status);
      expect(count, `call "${call.message}" resolved, so its event is stored`).toBe(repeatedEnding ? count : 1);
    } else if (outcome.status === "rejected") {
      expectRepositoryError(outcome.reason, `call "${call.message}"`);
      const refused = outcome.reason instanceof StoryTaskTransitionError;
      if (refused || !options.ambiguousFailures) expect(count, `call "${call.message}" was refused (${describeError(outcome.reason)}), so nothing is stored`).toBe(0);
      if (!options.ambiguousFailures) expect(outcome.reason, `call "${call.message}"`).toBeInstanceOf(StoryTaskTransitionError);
    }
  }
}

/** A small seeded generator (mulberry32), so a burst's mix is the same on every run. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface PlannedWrite {
  call: WriteCall;
  run(repo: StoryTasksRepository): Promise<unknown>;
}

const statusTargets: readonly StoryTaskStatus[] = ["queued", "running", "running", "succeeded", "failed", "cancelled"];

/**
 * `count` writes spread over `tasks`, in a seeded order: appendEvent with a progress, appendEvent
 * without one (every fourth with a payload), and updateStatus with its event to any status (the
 * status machine refuses some). Each has a unique message; the call records its outcome once run.
 */
export function planWrites(label: string, tasks: TaskStart[], count: number, mix: { status: number; plain: number }, seed: number): PlannedWrite[] {
  const random = seededRandom(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const pending: Outcome<unknown> = { status: "hung" };
  return Array.from({ length: count }, (_, index): PlannedWrite => {
    const taskId = pick(tasks).id;
    const message = `${label} #${index}`;
    const roll = random();
    if (roll < mix.status) {
      const status = pick(statusTargets);
      const call: WriteCall = { kind: "status", taskId, message, status, outcome: pending };
      return { call, run: (repo) => repo.updateStatus(taskId, { status, event: { message } }) };
    }
    const plain = roll < mix.status + mix.plain;
    const progressOverride = plain ? null : 1 + Math.floor(random() * 99);
    const payload = plain && index % 4 === 0 ? { index, label, nested: [true, null, 1.5, "ü"] } : null;
    const eventType = plain ? pick(["info", "error", "chat_message"] as const) : "progress";
    const call: WriteCall = { kind: "append", taskId, message, eventType, payload, progressOverride, outcome: pending };
    return {
      call,
      run: (repo) => repo.appendEvent(taskId, { eventType, message, ...(payload ? { payload } : {}), ...(progressOverride === null ? {} : { progressOverride }) }),
    };
  });
}

/** Starts every write at once; each records its outcome (or "hung" after `hangMs`). */
export function fire(repo: StoryTasksRepository, writes: PlannedWrite[], hangMs: number, onSettled?: (write: PlannedWrite) => void): Promise<void> {
  return Promise.all(
    writes.map(async (write) => {
      write.call.outcome = await settleWithin(write.run(repo), hangMs);
      onSettled?.(write);
    }),
  ).then(() => undefined);
}

/** Creates `count` tasks, alternately queued and running, with a little progress. */
export async function createTasks(repo: StoryTasksRepository, count: number): Promise<TaskStart[]> {
  const created = await Promise.all(
    Array.from({ length: count }, (_, index) => repo.createTask({ operation: "CREATE_SHOT_IMAGES", status: index % 2 ? "running" : "queued", progress: (index * 3) % 20 })),
  );
  return created.map((task) => ({ id: task.id, status: task.status, progress: task.progress }));
}
