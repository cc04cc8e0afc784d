// Who sees and changes what, as the Supabase API roles (the role and JWT claims PostgREST
// sets per request), and what Supabase Realtime publishes.
import { randomUUID } from "node:crypto";
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestDatabase, asApiRole, connect, createSchemaDatabase } from "../support/databases.ts";
import { insertEvent, insertTask, insertUser } from "../support/rows.ts";

let database: TestDatabase;
let client: pg.Client;
let alice: string;
let bob: string;
const tasks: Record<"alice" | "bob" | "nobody", string> = { alice: "", bob: "", nobody: "" };

beforeAll(async () => {
  database = await createSchemaDatabase("access");
  client = await connect(database.url);
  alice = await insertUser(client);
  bob = await insertUser(client);
  tasks.alice = (await insertTask(client, { requested_by: alice })).id;
  tasks.bob = (await insertTask(client, { requested_by: bob })).id;
  tasks.nobody = (await insertTask(client)).id;
  for (const id of Object.values(tasks)) await insertEvent(client, id, { message: `event of ${id}` });
});
afterAll(async () => {
  await client?.end();
  await database?.drop();
});

const selectTaskIds = () => client.query<{ id: string }>("SELECT id FROM public.story_tasks ORDER BY id").then((r) => r.rows.map((row) => row.id));
const selectEventTaskIds = () =>
  client.query<{ task_id: string }>("SELECT task_id FROM public.story_task_events ORDER BY task_id").then((r) => r.rows.map((row) => row.task_id));
const sorted = (ids: string[]) => [...ids].sort();

describe("anon", () => {
  it("can read neither table", async () => {
    for (const table of ["story_tasks", "story_task_events"]) {
      await expect(asApiRole(client, "anon", null, () => client.query(`SELECT * FROM public.${table}`))).rejects.toMatchObject({ code: "42501" });
    }
  });
  it("can write nothing", async () => {
    await expect(
      asApiRole(client, "anon", null, () => client.query("INSERT INTO public.story_tasks (operation) VALUES ('CREATE_STORY')")),
    ).rejects.toMatchObject({ code: "42501" });
    await expect(
      asApiRole(client, "anon", null, () => client.query("UPDATE public.story_tasks SET progress = 1")),
    ).rejects.toMatchObject({ code: "42501" });
  });
});

describe("authenticated", () => {
  it("sees only the tasks they requested, and those tasks' events", async () => {
    expect(await asApiRole(client, "authenticated", alice, selectTaskIds)).toEqual([tasks.alice]);
    expect(await asApiRole(client, "authenticated", alice, selectEventTaskIds)).toEqual([tasks.alice]);
    expect(await asApiRole(client, "authenticated", bob, selectTaskIds)).toEqual([tasks.bob]);
    expect(await asApiRole(client, "authenticated", bob, selectEventTaskIds)).toEqual([tasks.bob]);
  });
  it("sees nothing without a user id, or as a user who requested nothing", async () => {
    expect(await asApiRole(client, "authenticated", null, selectTaskIds)).toEqual([]);
    expect(await asApiRole(client, "authenticated", randomUUID(), selectEventTaskIds)).toEqual([]);
  });
  it("can insert, update and delete nothing, not even their own tasks", async () => {
    const writes = [
      "INSERT INTO public.story_tasks (operation) VALUES ('CREATE_STORY')",
      `UPDATE public.story_tasks SET progress = 5 WHERE id = '${tasks.alice}'`,
      `DELETE FROM public.story_tasks WHERE id = '${tasks.alice}'`,
      `INSERT INTO public.story_task_events (task_id, event_type, message) VALUES ('${tasks.alice}', 'info', 'x')`,
      `DELETE FROM public.story_task_events WHERE task_id = '${tasks.alice}'`,
    ];
    for (const write of writes) {
      await expect(asApiRole(client, "authenticated", alice, () => client.query(write))).rejects.toMatchObject({ code: "42501" });
    }
  });
});

describe("service_role", () => {
  it("sees every task and event", async () => {
    expect(await asApiRole(client, "service_role", null, selectTaskIds)).toEqual(sorted(Object.values(tasks)));
    expect(await asApiRole(client, "service_role", null, selectEventTaskIds)).toEqual(sorted(Object.values(tasks)));
  });
  it("inserts, updates and deletes", async () => {
    await asApiRole(client, "service_role", null, async () => {
      const inserted = await client.query("INSERT INTO public.story_tasks (operation, requested_by) VALUES ('CREATE_STORY', $1) RETURNING id", [alice]);
      const id = inserted.rows[0].id as string;
      await client.query("INSERT INTO public.story_task_events (task_id, event_type, message) VALUES ($1, 'info', 'started')", [id]);
      expect((await client.query("UPDATE public.story_tasks SET status = 'running' WHERE id = $1", [id])).rowCount).toBe(1);
      expect((await client.query("DELETE FROM public.story_tasks WHERE id = $1", [id])).rowCount).toBe(1);
    });
  });
  it("cannot call the trigger functions directly", async () => {
    await expect(
      asApiRole(client, "service_role", null, () => client.query("SELECT public.story_tasks_touch_updated_at()")),
    ).rejects.toMatchObject({ code: "42501" });
  });
});

describe("Supabase Realtime", () => {
  it("publishes both tables in supabase_realtime", async () => {
    const result = await client.query<{ tablename: string }>(
      "SELECT tablename FROM pg_publication_tables WHERE pubname = 'supabase_realtime' AND schemaname = 'public' ORDER BY tablename",
    );
    expect(result.rows.map((row) => row.tablename)).toEqual(["story_task_events", "story_tasks"]);
  });
});
