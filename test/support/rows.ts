// Rows written straight through SQL, for tests of what the database itself enforces.
import { randomUUID } from "node:crypto";
import type pg from "pg";

export interface TaskRow {
  id: string;
  story_id: string | null;
  operation: string;
  status: string;
  progress: number;
  payload: unknown;
  requested_by: string | null;
  display_fields: unknown;
  created_at: Date;
  updated_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
}

function isJsonObject(value: unknown): boolean {
  return value !== null && typeof value === "object" && !(value instanceof Date);
}

/** Inserts a task with the given columns (JSON values are serialised) and returns the row. */
export async function insertTask(client: pg.Client, columns: Record<string, unknown> = {}): Promise<TaskRow> {
  const row = { operation: "CREATE_CONSTITUTION", ...columns };
  const names = Object.keys(row);
  const values = Object.values(row).map((value: unknown) => (isJsonObject(value) ? JSON.stringify(value) : value));
  const result = await client.query<TaskRow>(
    `INSERT INTO public.story_tasks (${names.join(", ")}) VALUES (${names.map((_, i) => `$${i + 1}`).join(", ")}) RETURNING *`,
    values,
  );
  return result.rows[0]!;
}

export async function readTask(client: pg.Client, id: string): Promise<TaskRow | undefined> {
  const result = await client.query<TaskRow>("SELECT * FROM public.story_tasks WHERE id = $1", [id]);
  return result.rows[0];
}

export async function insertStory(client: pg.Client, displayName = "A story"): Promise<string> {
  const result = await client.query<{ id: string }>("INSERT INTO public.stories (display_name) VALUES ($1) RETURNING id", [displayName]);
  return result.rows[0]!.id;
}

export async function insertUser(client: pg.Client): Promise<string> {
  const id = randomUUID();
  await client.query("INSERT INTO auth.users (id) VALUES ($1)", [id]);
  return id;
}

export async function insertEvent(
  client: pg.Client,
  taskId: string,
  columns: { event_type?: string; message?: string; payload?: unknown; progress_override?: number | null } = {},
): Promise<{ id: string; seq: string; created_at: Date }> {
  const result = await client.query(
    `INSERT INTO public.story_task_events (task_id, event_type, message, payload, progress_override)
     VALUES ($1, $2, $3, $4, $5) RETURNING id, seq, created_at`,
    [
      taskId,
      columns.event_type ?? "info",
      columns.message ?? "a message",
      columns.payload === undefined ? null : JSON.stringify(columns.payload),
      columns.progress_override ?? null,
    ],
  );
  return result.rows[0];
}
