// What the tables themselves refuse and fill in: CHECKs, defaults, NOT NULLs, foreign keys,
// the append order of events and the indexes, on a database built by `pnpm db:apply`.
import { randomUUID } from "node:crypto";
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, createSchemaDatabase } from "../support/databases.ts";
import { insertEvent, insertStory, insertTask, insertUser, readTask } from "../support/rows.ts";
import { STORY_TASK_INITIAL_STATUSES } from "../../generated/status-machine.ts";

// The host's operations, as host-app.md spells them.
const hostOperations = [
  "CREATE_CONSTITUTION", "CREATE_INTERACTIVE_SCRIPT", "CREATE_VISUAL_DESIGN", "CREATE_VISUAL_REFERENCE",
  "CREATE_VISUAL_REFERENCE_IMAGES", "CREATE_AUDIO_DESIGN", "CREATE_SHOT_PRODUCTION", "CREATE_SHOT_IMAGES",
  "CREATE_SHOT_VIDEO", "CREATE_SHOT_AUDIO", "CREATE_CHARACTER_MODEL_SHEETS", "CREATE_ENVIRONMENT_REFERENCE_IMAGE",
  "CREATE_PLAYER_BUNDLE", "CREATE_STORY", "RENAME_STORY", "DELETE_STORY", "REGENERATE_CONSTITUTION",
  "CONSTITUTION_CHAT_UPDATE", "RUN_WORKFLOW_TASK", "BUILD_PLAYER_BUNDLE",
];

let database: Awaited<ReturnType<typeof createSchemaDatabase>>;
let client: pg.Client;

beforeAll(async () => {
  database = await createSchemaDatabase("constraints");
  client = await connect(database.url);
});
afterAll(async () => {
  await client?.end();
  await database?.drop();
});

async function countRows(): Promise<{ tasks: number; events: number }> {
  const result = await client.query(
    "SELECT (SELECT count(*)::int FROM public.story_tasks) AS tasks, (SELECT count(*)::int FROM public.story_task_events) AS events",
  );
  return result.rows[0];
}

/** Expects `write` to be refused with `code` (and `constraint`), leaving both tables as they were. */
async function expectRefused(write: () => Promise<unknown>, code: string, constraint?: string): Promise<void> {
  const before = await countRows();
  await expect(write()).rejects.toMatchObject(constraint ? { code, constraint } : { code });
  expect(await countRows()).toEqual(before);
}

describe("story_tasks.progress", () => {
  it.each([0, 100])("accepts %i", async (progress) => {
    expect((await insertTask(client, { progress })).progress).toBe(progress);
  });
  it.each([-1, 101])("refuses %i", async (progress) => {
    await expectRefused(() => insertTask(client, { progress }), "23514", "story_tasks_progress_check");
  });
  it("refuses a progress above 100 on update too", async () => {
    const task = await insertTask(client, { status: "running" });
    await expectRefused(() => client.query("UPDATE public.story_tasks SET progress = 101 WHERE id = $1", [task.id]), "23514", "story_tasks_progress_check");
    expect((await readTask(client, task.id))?.progress).toBe(0);
  });
});

describe("story_tasks.status", () => {
  it.each(STORY_TASK_INITIAL_STATUSES)("accepts a new task as %s", async (status) => {
    expect((await insertTask(client, { status })).status).toBe(status);
  });
  it("refuses an unknown status on insert and on update", async () => {
    await expectRefused(() => insertTask(client, { status: "paused" }), "23514", "story_tasks_status_check");
    const task = await insertTask(client);
    await expectRefused(() => client.query("UPDATE public.story_tasks SET status = 'paused' WHERE id = $1", [task.id]), "23514", "story_tasks_status_check");
    expect((await readTask(client, task.id))?.status).toBe("queued");
  });
});

describe("story_tasks.operation", () => {
  it.each(hostOperations)("accepts %s", async (operation) => {
    expect((await insertTask(client, { operation })).operation).toBe(operation);
  });
  it.each(["CREATE_POEM", "create_constitution", " CREATE_CONSTITUTION", ""])("refuses %j", async (operation) => {
    await expectRefused(() => insertTask(client, { operation }), "23514", "story_tasks_operation_check");
  });
  it("refuses a missing operation", async () => {
    await expectRefused(() => client.query("INSERT INTO public.story_tasks (status) VALUES ('queued')"), "23502");
  });
});

describe("story_tasks defaults", () => {
  it("fills every column a new task does not give", async () => {
    await client.query("BEGIN");
    try {
      const task = await insertTask(client);
      expect(task.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(task).toMatchObject({
        story_id: null,
        status: "queued",
        progress: 0,
        payload: {},
        requested_by: null,
        display_fields: null,
        started_at: null,
        finished_at: null,
      });
      // The inserting transaction's clock, compared in SQL at full precision (a Date keeps only milliseconds).
      const stamps = await client.query("SELECT created_at = now() AS created_now, updated_at = created_at AS updated_as_created FROM public.story_tasks WHERE id = $1", [task.id]);
      expect(stamps.rows[0]).toEqual({ created_now: true, updated_as_created: true });
    } finally {
      await client.query("COMMIT");
    }
  });

  it("keeps updated_at current on every update", async () => {
    const task = await insertTask(client);
    const inserted = await client.query("SELECT created_at::text AS created, updated_at::text AS updated FROM public.story_tasks WHERE id = $1", [task.id]);
    // The update's transaction starts on a clock that has moved on; timestamps are compared in SQL, to the microsecond.
    await client.query("SELECT pg_sleep(0.001)");
    const updated = await client.query(
      `UPDATE public.story_tasks SET display_fields = $2 WHERE id = $1
       RETURNING updated_at = now() AS current, updated_at > $3::timestamptz AS moved_on, created_at = $4::timestamptz AS created_kept`,
      [task.id, JSON.stringify({ title: "Shots" }), inserted.rows[0].updated, inserted.rows[0].created],
    );
    expect(updated.rows[0]).toEqual({ current: true, moved_on: true, created_kept: true });
  });
});

describe("story_task_events", () => {
  it.each(["info", "progress", "error", "chat_message"])("accepts event type %s", async (eventType) => {
    const task = await insertTask(client);
    await insertEvent(client, task.id, { event_type: eventType });
  });
  it.each(["debug", "INFO", ""])("refuses event type %j", async (eventType) => {
    const task = await insertTask(client);
    await expectRefused(() => insertEvent(client, task.id, { event_type: eventType }), "23514", "story_task_events_event_type_check");
  });
  it.each([0, 100, null])("accepts progress_override %j", async (progress) => {
    const task = await insertTask(client);
    await insertEvent(client, task.id, { progress_override: progress });
  });
  it.each([-1, 101])("refuses progress_override %i", async (progress) => {
    const task = await insertTask(client);
    await expectRefused(() => insertEvent(client, task.id, { progress_override: progress }), "23514", "story_task_events_progress_override_check");
  });
  it("refuses an event without a message", async () => {
    const task = await insertTask(client);
    await expectRefused(
      () => client.query("INSERT INTO public.story_task_events (task_id, event_type) VALUES ($1, 'info')", [task.id]),
      "23502",
    );
  });
  it("fills id, created_at and payload, and numbers events in append order even within one transaction", async () => {
    const task = await insertTask(client);
    await client.query("BEGIN");
    const events = [];
    for (let i = 0; i < 5; i++) {
      events.push(await insertEvent(client, task.id, { message: `event ${i}` }));
      await client.query("SELECT pg_sleep(0.001)");
    }
    await client.query("COMMIT");
    // One now() for the transaction, though the clock moved on between the inserts; counted in SQL, to the microsecond.
    const stamps = await client.query("SELECT count(DISTINCT created_at)::int AS n FROM public.story_task_events WHERE task_id = $1", [task.id]);
    expect(stamps.rows[0].n).toBe(1);
    const seqs = events.map((event) => BigInt(event.seq));
    expect([...seqs].sort((a, b) => (a < b ? -1 : 1))).toEqual(seqs);
    expect(new Set(seqs).size).toBe(5);
    const ordered = await client.query("SELECT message, payload FROM public.story_task_events WHERE task_id = $1 ORDER BY created_at, seq", [task.id]);
    expect(ordered.rows.map((row) => row.message)).toEqual(["event 0", "event 1", "event 2", "event 3", "event 4"]);
    expect(ordered.rows.every((row) => row.payload === null)).toBe(true);
  });
  it("refuses a client-chosen seq", async () => {
    const task = await insertTask(client);
    await expectRefused(
      () => client.query("INSERT INTO public.story_task_events (seq, task_id, event_type, message) VALUES (1, $1, 'info', 'x')", [task.id]),
      "428C9",
    );
  });
});

describe("foreign keys", () => {
  it("nulls story_id when the story is deleted, keeping the task", async () => {
    const storyId = await insertStory(client);
    const task = await insertTask(client, { story_id: storyId });
    await client.query("DELETE FROM public.stories WHERE id = $1", [storyId]);
    expect((await readTask(client, task.id))?.story_id).toBeNull();
  });
  it("deletes a task's events with the task", async () => {
    const task = await insertTask(client);
    await insertEvent(client, task.id);
    await insertEvent(client, task.id);
    await client.query("DELETE FROM public.story_tasks WHERE id = $1", [task.id]);
    const left = await client.query("SELECT count(*)::int AS n FROM public.story_task_events WHERE task_id = $1", [task.id]);
    expect(left.rows[0].n).toBe(0);
  });
  it("refuses an unknown story", async () => {
    await expectRefused(() => insertTask(client, { story_id: randomUUID() }), "23503", "story_tasks_story_id_fkey");
  });
  it("refuses an unknown requesting user and accepts a known one", async () => {
    await expectRefused(() => insertTask(client, { requested_by: randomUUID() }), "23503", "story_tasks_requested_by_fkey");
    const userId = await insertUser(client);
    expect((await insertTask(client, { requested_by: userId })).requested_by).toBe(userId);
  });
  it("refuses an event for an unknown task", async () => {
    await expectRefused(() => insertEvent(client, randomUUID()), "23503", "story_task_events_task_id_fkey");
  });
  it("lets Supabase Auth delete a user who requested tasks, keeping the tasks with requested_by null", async () => {
    const userId = await insertUser(client);
    const tasks = [await insertTask(client, { requested_by: userId }), await insertTask(client, { requested_by: userId, status: "running" })];
    await insertEvent(client, tasks[0]!.id);
    // As Supabase Auth deletes a user: as its own role, which owns auth.users and has no rights on our tables.
    const auth = await connect(database.adminUrl);
    try {
      await auth.query("SET ROLE supabase_auth_admin");
      await auth.query("DELETE FROM auth.users WHERE id = $1", [userId]);
    } finally {
      await auth.end();
    }
    for (const task of tasks) expect(await readTask(client, task.id)).toMatchObject({ id: task.id, requested_by: null, status: task.status });
  });
});

describe("indexes", () => {
  it("has the design's three indexes, the append-order one, requested_by's and retention's, with their column order and direction", async () => {
    const result = await client.query<{ name: string; columns: string[] }>(`
      SELECT i.relname AS name,
             array_agg(a.attname || CASE WHEN x.indoption[k.n - 1] & 1 = 1 THEN ' DESC' ELSE ' ASC' END ORDER BY k.n) AS columns
      FROM pg_index x
      JOIN pg_class i ON i.oid = x.indexrelid
      JOIN pg_class t ON t.oid = x.indrelid
      CROSS JOIN LATERAL unnest(x.indkey::int2[]) WITH ORDINALITY AS k(attnum, n)
      JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
      WHERE t.relname IN ('story_tasks', 'story_task_events') AND NOT x.indisprimary
      GROUP BY i.relname ORDER BY i.relname`);
    expect(result.rows).toEqual([
      { name: "story_task_events_task_id_created_at_idx", columns: ["task_id ASC", "created_at ASC"] },
      { name: "story_task_events_task_id_seq_idx", columns: ["task_id ASC", "seq ASC"] },
      { name: "story_tasks_finished_at_idx", columns: ["finished_at ASC"] },
      { name: "story_tasks_requested_by_idx", columns: ["requested_by ASC"] },
      { name: "story_tasks_status_idx", columns: ["status ASC"] },
      { name: "story_tasks_story_id_created_at_idx", columns: ["story_id ASC", "created_at DESC"] },
    ]);
  });
});
