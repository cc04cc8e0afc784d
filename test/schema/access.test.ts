// Who sees and changes what, as the Supabase API roles (the role and JWT claims PostgREST
// sets per request), on a Supabase-shaped database whose default privileges grant every API role
// everything; and what Supabase Realtime publishes.
import { randomUUID } from "node:crypto";
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestDatabase, asApiRole, connect, createEmptyDatabase, createSchemaDatabase, runScriptOrThrow } from "../support/databases.ts";
import { type LocalStack, startLocalStack } from "../../src/local-stack/index.ts";
import { signJwt } from "../../src/local-stack/jwt.ts";
import { intendedPrivileges, readPrivileges } from "../support/privileges.ts";
import type { SupabaseProject } from "../support/supabase-project.ts";
import { insertEvent, insertTask, insertUser } from "../support/rows.ts";

let database: SupabaseProject;
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

describe("privileges, whatever the platform's default privileges gave", () => {
  it("are exactly schema/'s: SELECT for authenticated; tasks read and written, events read and appended by service_role; EXECUTE of the rpc functions for service_role; nothing else", async () => {
    expect(await readPrivileges(client)).toEqual(intendedPrivileges);
  });

  it.each(["anon", "authenticated", "service_role"] as const)("%s can truncate neither table, nor set the identity sequence", async (role) => {
    for (const statement of ["TRUNCATE public.story_task_events", "TRUNCATE public.story_tasks CASCADE", "SELECT setval('public.story_task_events_seq_seq', 1)"]) {
      await expect(asApiRole(client, role, alice, () => client.query(statement)), `${role}: ${statement}`).rejects.toMatchObject({ code: "42501" });
    }
  });

  it("service_role appends events (the identity column needs no privilege on its sequence) but cannot rewrite or delete one", async () => {
    await asApiRole(client, "service_role", null, async () => {
      const appended = await client.query("INSERT INTO public.story_task_events (task_id, event_type, message) VALUES ($1, 'info', 'appended') RETURNING seq", [tasks.bob]);
      expect(Number(appended.rows[0].seq)).toBeGreaterThan(0);
    });
    const rewrites = [
      "UPDATE public.story_task_events SET message = 'rewritten'",
      "UPDATE public.story_task_events SET created_at = '2000-01-01'",
      `UPDATE public.story_task_events SET task_id = '${tasks.alice}'`,
      "DELETE FROM public.story_task_events",
    ];
    for (const statement of rewrites) {
      await expect(asApiRole(client, "service_role", null, () => client.query(statement)), statement).rejects.toMatchObject({ code: "42501" });
    }
  });

  it("service_role deleting a task still removes its events, through the cascade", async () => {
    await asApiRole(client, "service_role", null, async () => {
      const task = await client.query("INSERT INTO public.story_tasks (operation) VALUES ('CREATE_STORY') RETURNING id");
      const id = task.rows[0].id as string;
      await client.query("INSERT INTO public.story_task_events (task_id, event_type, message) VALUES ($1, 'info', 'one'), ($1, 'info', 'two')", [id]);
      await client.query("DELETE FROM public.story_tasks WHERE id = $1", [id]);
      expect((await client.query("SELECT count(*)::int AS n FROM public.story_task_events WHERE task_id = $1", [id])).rows[0].n).toBe(0);
    });
  });

  it.each(["anon", "authenticated"] as const)("%s cannot call the rpc functions", async (role) => {
    await expect(
      asApiRole(client, role, alice, () => client.query("SELECT public.append_story_task_events($1, '[{\"event_type\": \"info\", \"message\": \"x\"}]')", [tasks.alice])),
    ).rejects.toMatchObject({ code: "42501" });
  });
});

describe("auth.uid()", () => {
  it("is null, not an error, once the claims an earlier transaction of the session set are gone", async () => {
    expect(await asApiRole(client, "authenticated", alice, selectTaskIds)).toEqual([tasks.alice]);
    // The session keeps request.jwt.claims as '' after that transaction; the next request has no user.
    expect(await asApiRole(client, "authenticated", null, selectTaskIds)).toEqual([]);
    await client.query("BEGIN");
    try {
      await client.query("SET LOCAL ROLE authenticated");
      expect((await client.query("SELECT auth.uid() AS uid")).rows).toEqual([{ uid: null }]);
    } finally {
      await client.query("ROLLBACK");
    }
  });

  it("the stand-in for a plain PostgreSQL behaves the same: claim.sub first, then claims' sub, empty as absent", async () => {
    const plain = await createEmptyDatabase("access_stand_ins");
    const session = await connect(plain.url);
    try {
      runScriptOrThrow("db:stand-ins", [], plain.url);
      const uid = async (settings: Record<string, string>) => {
        await session.query("BEGIN");
        try {
          for (const [name, value] of Object.entries(settings)) await session.query("SELECT set_config($1, $2, true)", [name, value]);
          return (await session.query<{ uid: string | null }>("SELECT auth.uid() AS uid")).rows[0]?.uid;
        } finally {
          await session.query("ROLLBACK");
        }
      };
      expect(await uid({ "request.jwt.claims": JSON.stringify({ sub: alice }) })).toBe(alice);
      expect(await uid({})).toBeNull(); // claims is '' now, left by the transaction above; claim.sub was never set
      expect(await uid({ "request.jwt.claim.sub": bob, "request.jwt.claims": JSON.stringify({ sub: alice }) })).toBe(bob);
      expect(await uid({ "request.jwt.claim.sub": "", "request.jwt.claims": JSON.stringify({ sub: alice }) })).toBe(alice);
      expect(await uid({})).toBeNull();
    } finally {
      await session.end();
      await plain.drop();
    }
  });
});

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
      asApiRole(client, "service_role", null, () => client.query("SELECT public.story_tasks_guard_columns()")),
    ).rejects.toMatchObject({ code: "42501" });
  });
});

describe("what a signed-in user can learn from the planner's estimates (PostgREST's count=planned)", () => {
  // The estimates come from statistics over every user's rows; none are kept on the columns that
  // identify users, stories and tasks.
  let stack: LocalStack;
  let heavy: string;
  let planned: (filter: string) => Promise<number>;

  beforeAll(async () => {
    heavy = await insertUser(client);
    const admin = await connect(database.adminUrl);
    try {
      await admin.query("INSERT INTO public.story_tasks (operation, requested_by) SELECT 'CREATE_STORY', $1 FROM generate_series(1, 20000)", [heavy]);
      await admin.query("ANALYZE public.story_tasks");
    } finally {
      await admin.end();
    }
    stack = await startLocalStack({ databaseUrl: database.url });
    const bobKey = signJwt({ role: "authenticated", sub: bob }, stack.jwtSecret);
    planned = async (filter) => {
      const response = await stack.fetch(`${stack.url}/rest/v1/story_tasks?select=id${filter}`, { method: "HEAD", headers: { Authorization: `Bearer ${bobKey}`, Prefer: "count=planned" } });
      expect(response.status).toBeLessThan(300);
      return Number(response.headers.get("content-range")?.split("/")[1]);
    };
  });
  afterAll(async () => {
    await stack?.stop();
    await client.query("DELETE FROM public.story_tasks WHERE requested_by = $1", [heavy]);
  });

  it("is the same estimate for a user with 20,000 tasks as for one with none", async () => {
    expect(await planned(`&requested_by=eq.${heavy}`)).toBe(await planned(`&requested_by=eq.${randomUUID()}`));
  });

  it("does not move as a bisection over user ids passes another user's id", async () => {
    const below = heavy.replace(/.$/, (digit) => (digit === "0" ? "0" : (Number.parseInt(digit, 16) - 1).toString(16)));
    const estimates = [await planned("&requested_by=lt.00000000-0000-4000-8000-000000000000"), await planned(`&requested_by=lt.${below}`), await planned("&requested_by=lt.ffffffff-ffff-4fff-bfff-ffffffffffff")];
    expect(new Set(estimates).size).toBe(1);
  });

  it("leaves the library's own queries on their indexes", async () => {
    const plan = async (sql: string, params: unknown[]) => JSON.stringify((await client.query(`EXPLAIN (FORMAT JSON) ${sql}`, params)).rows[0]["QUERY PLAN"]);
    expect(await plan("SELECT * FROM public.story_tasks WHERE story_id = $1 ORDER BY created_at DESC LIMIT 20", [randomUUID()])).toContain('"Index Name":"story_tasks_story_id_created_at_idx"');
    expect(await plan("SELECT * FROM public.story_tasks WHERE id = $1", [tasks.alice])).toContain('"Index Name":"story_tasks_pkey"');
    expect(await plan("SELECT * FROM public.story_tasks WHERE requested_by = $1", [bob])).toContain('"Index Name":"story_tasks_requested_by_idx"');
    expect(await plan("SELECT * FROM public.story_task_events WHERE task_id = $1 ORDER BY seq DESC LIMIT 50", [tasks.alice])).toContain('"Index Name":"story_task_events_task_id_seq_idx"');
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
