// What `pnpm codegen` generated agrees with the live database: the value lists equal the
// CHECKs, the validators refuse what the database refuses, and the mappers round-trip rows.
import { randomUUID } from "node:crypto";
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  mapStoryTaskEventRecordToRow,
  mapStoryTaskEventRowToRecord,
  mapStoryTaskRecordToRow,
  mapStoryTaskRowToRecord,
} from "../../generated/records.ts";
import {
  STORY_TASK_EVENT_TYPES,
  STORY_TASK_OPERATIONS,
  STORY_TASK_STATUSES,
  createStoryTaskEventInputSchema,
  createStoryTaskInputSchema,
} from "../../generated/validators.ts";
import { type TestDatabase, connect, createEmptyDatabase, runScriptOrThrow } from "../support/databases.ts";

let database: TestDatabase;
let client: pg.Client;

beforeAll(async () => {
  database = await createEmptyDatabase("codegen");
  runScriptOrThrow("db:migrate", [], database.url);
  client = await connect(database.url);
});
afterAll(async () => {
  await client?.end();
  await database?.drop();
});

/** The quoted values of a CHECK constraint, read from pg_constraint. */
async function checkValues(constraint: string): Promise<string[]> {
  const result = await client.query<{ value: string }>(
    `SELECT replace(m[1], '''''', '''') AS value
     FROM pg_constraint c, regexp_matches(pg_get_constraintdef(c.oid), '''((?:[^'']|'''')*)''::text', 'g') AS m
     WHERE c.conname = $1`,
    [constraint],
  );
  return result.rows.map((row) => row.value);
}

describe("generated value lists", () => {
  it.each([
    ["story_tasks_operation_check", STORY_TASK_OPERATIONS],
    ["story_tasks_status_check", STORY_TASK_STATUSES],
    ["story_task_events_event_type_check", STORY_TASK_EVENT_TYPES],
  ] as const)("equal the values of %s in the live catalog", async (constraint, generated) => {
    const values = await checkValues(constraint);
    expect(values.length).toBeGreaterThan(0);
    expect([...generated]).toEqual(values);
  });
});

/** Inserts a row as the input would be inserted: "accepted", or the SQLSTATE (and constraint) the database refused it with. */
async function databaseVerdict(sql: string, params: unknown[]): Promise<string> {
  await client.query("BEGIN");
  try {
    await client.query(sql, params);
    return "accepted";
  } catch (error) {
    const { code, constraint } = error as { code?: string; constraint?: string };
    if (!code) throw error;
    return constraint ? `${code} ${constraint}` : code;
  } finally {
    await client.query("ROLLBACK");
  }
}

describe("generated validators apply the database's rules", () => {
  // The field the validator names, and how the database refuses the same row.
  const taskCases: [string, Record<string, unknown>, string | undefined, string][] = [
    ["a minimal task", { operation: "CREATE_SHOT_IMAGES" }, undefined, "accepted"],
    ["an unknown operation", { operation: "CREATE_POEM" }, "operation", "23514 story_tasks_operation_check"],
    ["an unknown status", { operation: "CREATE_SHOT_IMAGES", status: "paused" }, "status", "23514 story_tasks_status_check"],
    ["progress 101", { operation: "CREATE_SHOT_IMAGES", progress: 101 }, "progress", "23514 story_tasks_progress_check"],
    ["progress -1", { operation: "CREATE_SHOT_IMAGES", progress: -1 }, "progress", "23514 story_tasks_progress_check"],
    ["progress 100", { operation: "CREATE_SHOT_IMAGES", progress: 100 }, undefined, "accepted"],
    ["a malformed story id", { operation: "CREATE_SHOT_IMAGES", storyId: "story-1" }, "storyId", "22P02"],
    ["a payload string with NUL", { operation: "CREATE_SHOT_IMAGES", payload: { note: "a\u0000b" } }, "payload", "22P05"],
    ["a nested unicode payload", { operation: "CREATE_SHOT_IMAGES", payload: { title: "Ünïcödé 🐉", shots: [1, { n: null }] } }, undefined, "accepted"],
  ];
  it.each(taskCases)("%s: validator and database agree", async (_, input, failingField, refusal) => {
    const parsed = createStoryTaskInputSchema.safeParse(input);
    const verdict = await databaseVerdict(
      "INSERT INTO public.story_tasks (operation, status, progress, story_id, payload) VALUES ($1, coalesce($2, 'queued'), coalesce($3, 0), $4, coalesce($5::jsonb, '{}'))",
      [input.operation, input.status ?? null, input.progress ?? null, input.storyId ?? null, input.payload === undefined ? null : JSON.stringify(input.payload)],
    );
    expect(verdict).toBe(refusal);
    if (failingField === undefined) {
      expect(parsed.success).toBe(true);
    } else {
      expect(parsed.success).toBe(false);
      expect(parsed.error?.issues.map((issue) => issue.path[0])).toContain(failingField);
    }
  });

  const eventCases: [string, Record<string, unknown>, string | undefined, string][] = [
    ["an info event", { eventType: "info", message: "started" }, undefined, "accepted"],
    ["an empty message", { eventType: "info", message: "" }, "message", "23514 story_task_events_message_check"],
    ["a message with NUL", { eventType: "info", message: "a\u0000b" }, "message", "22021"],
    ["an unknown event type", { eventType: "debug", message: "x" }, "eventType", "23514 story_task_events_event_type_check"],
    ["progress_override 101", { eventType: "progress", message: "x", progressOverride: 101 }, "progressOverride", "23514 story_task_events_progress_override_check"],
    ["progress_override 0", { eventType: "progress", message: "x", progressOverride: 0 }, undefined, "accepted"],
  ];
  it.each(eventCases)("%s: validator and database agree", async (_, input, failingField, refusal) => {
    const task = await client.query<{ id: string }>("INSERT INTO public.story_tasks (operation) VALUES ('CREATE_SHOT_IMAGES') RETURNING id");
    const parsed = createStoryTaskEventInputSchema.safeParse(input);
    const verdict = await databaseVerdict(
      "INSERT INTO public.story_task_events (task_id, event_type, message, progress_override) VALUES ($1, $2, $3, $4)",
      [task.rows[0]!.id, input.eventType, input.message, input.progressOverride ?? null],
    );
    expect(parsed.success).toBe(failingField === undefined);
    expect(verdict).toBe(refusal);
    if (failingField) expect(parsed.error?.issues[0]?.path).toEqual([failingField]);
  });

  it("names the field and the rule it broke", () => {
    const parsed = createStoryTaskInputSchema.safeParse({ operation: "CREATE_SHOT_IMAGES", progress: 100.5, payload: { at: Number.NaN }, colour: "red" });
    const issues = parsed.error?.issues.map((issue) => `${issue.path.join(".") || "(input)"}: ${issue.message}`);
    expect(issues).toEqual(
      expect.arrayContaining([
        "progress: must be an integer from 0 to 100",
        "payload: must be JSON: NaN at $.at is not a finite number",
        expect.stringMatching(/^\(input\): Unrecognized key: "colour"/),
      ]),
    );
  });

  it("refuses values JSON cannot hold, wherever they are nested", () => {
    // (A payload of undefined means "leave it out"; nested, undefined is refused.)
    const bad = [() => 1, 1n, new Date(), { a: [1, undefined] }, { a: Infinity }, { map: new Map() }, "\ud800"];
    for (const payload of bad) {
      expect(createStoryTaskInputSchema.safeParse({ operation: "CREATE_SHOT_IMAGES", payload }).success, String(payload)).toBe(false);
    }
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(createStoryTaskInputSchema.safeParse({ operation: "CREATE_SHOT_IMAGES", payload: cyclic }).success).toBe(false);
  });
});

describe("generated mappers", () => {
  /** Rows as PostgREST sends them: the database's own JSON rendering, parsed. */
  async function rowsAsJson(table: string, id: string): Promise<unknown> {
    const result = await client.query<{ row: string }>(`SELECT to_json(t)::text AS row FROM public.${table} t WHERE id = $1`, [id]);
    return JSON.parse(result.rows[0]!.row);
  }

  it("round-trip a task row exactly", async () => {
    const payload = { title: "Chapitre 1 — «Ünïcödé» 🐉", nested: { shots: [1, 2.5, -0.125, null, true, { deep: ["x"] }] }, big: 12345678901234567890 };
    const inserted = await client.query<{ id: string }>(
      "INSERT INTO public.story_tasks (operation, status, payload, display_fields) VALUES ('CREATE_SHOT_IMAGES', 'running', $1, $2) RETURNING id",
      [JSON.stringify(payload), JSON.stringify({ title: "Shots", description: "12 scenelets" })],
    );
    const row = (await rowsAsJson("story_tasks", inserted.rows[0]!.id)) as Parameters<typeof mapStoryTaskRowToRecord>[0];
    const record = mapStoryTaskRowToRecord(row);
    expect(record.status).toBe("running");
    expect(record.payload).toEqual(JSON.parse(JSON.stringify(payload)));
    expect(record.startedAt).toEqual(row.started_at);
    expect(mapStoryTaskRecordToRow(record)).toStrictEqual(row);
  });

  it("round-trip an event row exactly, seq included", async () => {
    const task = await client.query<{ id: string }>("INSERT INTO public.story_tasks (operation) VALUES ('CREATE_SHOT_AUDIO') RETURNING id");
    const event = await client.query<{ id: string }>(
      "INSERT INTO public.story_task_events (task_id, event_type, message, payload, progress_override) VALUES ($1, 'progress', $2, $3, 40) RETURNING id",
      [task.rows[0]!.id, "Scène 3/12 ✓", JSON.stringify({ id: randomUUID(), weights: [0.1, 1e-7, 9007199254740993] })],
    );
    const row = (await rowsAsJson("story_task_events", event.rows[0]!.id)) as Parameters<typeof mapStoryTaskEventRowToRecord>[0];
    const record = mapStoryTaskEventRowToRecord(row);
    expect(record).toMatchObject({ eventType: "progress", message: "Scène 3/12 ✓", progressOverride: 40 });
    expect(typeof record.seq).toBe("number");
    expect(mapStoryTaskEventRecordToRow(record)).toStrictEqual(row);
  });
});
