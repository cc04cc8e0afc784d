// The status machine in the database: every pair of statuses, through plain UPDATEs, as any
// client could send them.
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, createSchemaDatabase } from "../support/databases.ts";
import type { SupabaseProject } from "../support/supabase-project.ts";
import type { StoryTaskStatus } from "../../generated/records.ts";
import { type TaskRow, insertTask, readTask } from "../support/rows.ts";
import { pathTo, terminalStatuses, transitionPairs as pairs } from "../support/status-machine.ts";

type Status = StoryTaskStatus;
const terminal = terminalStatuses;

let database: SupabaseProject;
let client: pg.Client;

beforeAll(async () => {
  database = await createSchemaDatabase("status_machine");
  client = await connect(database.url);
});
afterAll(async () => {
  await client?.end();
  await database?.drop();
});

async function setStatus(id: string, status: string, progress?: number): Promise<TaskRow> {
  const result = await client.query<TaskRow>(
    "UPDATE public.story_tasks SET status = $2, progress = coalesce($3, progress) WHERE id = $1 RETURNING *",
    [id, status, progress ?? null],
  );
  return result.rows[0]!;
}

/** started_at and finished_at as PostgreSQL holds them, to the microsecond (a Date keeps only milliseconds), and their order. */
async function exactTimes(id: string): Promise<{ started_at: string | null; finished_at: string | null; in_order: boolean | null }> {
  const result = await client.query("SELECT started_at::text, finished_at::text, finished_at >= started_at AS in_order FROM public.story_tasks WHERE id = $1", [id]);
  return result.rows[0];
}

/** Lets the clock move on, so a timestamp the next statement rewrote would differ from the one before. */
async function letClockMove(): Promise<void> {
  await client.query("SELECT pg_sleep(0.001)");
}

async function taskIn(status: Status): Promise<TaskRow> {
  const task = await insertTask(client, { progress: 0 });
  let row = task;
  for (const step of pathTo[status]) row = await setStatus(task.id, step, step === "running" ? 30 : undefined);
  return row;
}

describe("status transitions", () => {
  it.each(pairs.filter((pair) => pair.ok))("allows $from -> $to", async ({ from, to }) => {
    const before = await taskIn(from);
    const timesBefore = await exactTimes(before.id);
    await letClockMove();
    const after = await setStatus(before.id, to);
    const timesAfter = await exactTimes(before.id);
    expect(after.status).toBe(to);
    expect(after.finished_at !== null).toBe(terminal.includes(to));
    if (to === "running") expect(after.started_at).not.toBeNull();
    if (from === "running") expect(timesAfter.started_at).toBe(timesBefore.started_at);
    if (to === "succeeded") expect(after.progress).toBe(100);
    if (after.started_at && after.finished_at) expect(timesAfter.in_order).toBe(true);
  });

  it.each(pairs.filter((pair) => !pair.ok))("refuses $from -> $to with ST001, leaving the row unchanged", async ({ from, to }) => {
    const before = await taskIn(from);
    const refusal = await setStatus(before.id, to).then(
      () => undefined,
      (error: pg.DatabaseError) => error,
    );
    expect(refusal).toMatchObject({ code: "ST001", detail: `from=${from} to=${to}` });
    expect(refusal?.message).toContain(from);
    expect(await readTask(client, before.id)).toEqual(before);
  });
});

describe("final statuses", () => {
  it.each(terminal)("refuses a progress change once %s, and allows other columns", async (status) => {
    const before = await taskIn(status);
    await expect(client.query("UPDATE public.story_tasks SET progress = 50 WHERE id = $1", [before.id])).rejects.toMatchObject({
      code: "ST001",
      detail: `from=${status} to=${status}`,
    });
    expect((await readTask(client, before.id))?.progress).toBe(before.progress);
    await client.query("UPDATE public.story_tasks SET display_fields = '{\"title\":\"done\"}' WHERE id = $1", [before.id]);
    expect((await readTask(client, before.id))?.display_fields).toEqual({ title: "done" });
  });
});

describe("a new task", () => {
  it.each(terminal)("cannot be created as %s", async (status) => {
    await expect(insertTask(client, { status })).rejects.toMatchObject({ code: "ST001", detail: `from=none to=${status}` });
  });

  it("gets started_at when created running, and never a client's own timestamps", async () => {
    const forged = new Date("2000-01-01T00:00:00Z");
    const running = await insertTask(client, { status: "running", started_at: forged, finished_at: forged });
    expect(running.started_at?.getTime()).not.toBe(forged.getTime());
    expect(running.started_at).not.toBeNull();
    expect(running.finished_at).toBeNull();
    const queued = await insertTask(client, { started_at: forged });
    expect(queued.started_at).toBeNull();
  });
});

describe("progress and timestamps while running", () => {
  it("lets a running task's progress move, and keeps started_at and finished_at out of clients' hands", async () => {
    const task = await taskIn("running");
    const timesBefore = await exactTimes(task.id);
    await letClockMove();
    const forged = new Date("2000-01-01T00:00:00Z");
    const moved = await client.query<TaskRow>(
      "UPDATE public.story_tasks SET progress = 70, started_at = $2, finished_at = $2 WHERE id = $1 RETURNING *",
      [task.id, forged],
    );
    expect(moved.rows[0]).toMatchObject({ progress: 70, status: "running", finished_at: null });
    expect((await exactTimes(task.id)).started_at).toBe(timesBefore.started_at);
  });

  it("ends a succeeded task at progress 100 whatever the update said", async () => {
    const task = await taskIn("running");
    expect((await setStatus(task.id, "succeeded", 40)).progress).toBe(100);
  });

  it("keeps progress where it was when a task fails or is cancelled", async () => {
    expect((await setStatus((await taskIn("running")).id, "failed")).progress).toBe(30);
    expect((await setStatus((await taskIn("running")).id, "cancelled")).progress).toBe(30);
  });
});

describe("CHECK constraints behind the trigger", () => {
  // With triggers off (as in logical replication, which only a superuser may switch to), the table's own CHECKs still hold.
  async function withoutTriggers(statement: string): Promise<unknown> {
    const admin = await connect(database.adminUrl);
    try {
      await admin.query("BEGIN");
      await admin.query("SET LOCAL session_replication_role = replica");
      return await admin.query(statement);
    } finally {
      await admin.end();
    }
  }

  it("refuses a terminal task without finished_at", async () => {
    await expect(
      withoutTriggers("INSERT INTO public.story_tasks (operation, status, progress) VALUES ('CREATE_SHOT_IMAGES', 'failed', 10)"),
    ).rejects.toMatchObject({ code: "23514", constraint: "story_tasks_finished_at_check" });
  });
  it("refuses finished_at on a task that is not finished", async () => {
    await expect(
      withoutTriggers("INSERT INTO public.story_tasks (operation, status, finished_at) VALUES ('CREATE_SHOT_IMAGES', 'running', now())"),
    ).rejects.toMatchObject({ code: "23514", constraint: "story_tasks_finished_at_check" });
  });
  it("refuses a succeeded task below progress 100", async () => {
    await expect(
      withoutTriggers("INSERT INTO public.story_tasks (operation, status, progress, finished_at) VALUES ('CREATE_SHOT_IMAGES', 'succeeded', 99, now())"),
    ).rejects.toMatchObject({ code: "23514", constraint: "story_tasks_succeeded_progress_check" });
  });
  it("accepts a consistent finished row", async () => {
    await expect(
      withoutTriggers("INSERT INTO public.story_tasks (operation, status, progress, finished_at) VALUES ('CREATE_SHOT_IMAGES', 'succeeded', 100, now())"),
    ).resolves.toMatchObject({ rowCount: 1 });
  });
});
