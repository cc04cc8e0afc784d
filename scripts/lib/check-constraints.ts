// Atlas v0.13.1 matches CHECK constraints by name and never compares their expressions, so a
// changed check (a new operation in story_tasks_operation_check) goes unseen. This plans the
// replacement of every check of ours whose definition differs from the desired database's.
import type pg from "pg";

const ownedTables = ["story_tasks", "story_task_events"];

interface CheckConstraint {
  table: string;
  name: string;
  definition: string;
}

async function readChecks(client: pg.Client): Promise<CheckConstraint[]> {
  const result = await client.query<CheckConstraint>(
    `SELECT format('%I.%I', n.nspname, t.relname) AS table, format('%I', c.conname) AS name,
            pg_get_constraintdef(c.oid) AS definition
     FROM pg_constraint c
     JOIN pg_class t ON t.oid = c.conrelid
     JOIN pg_namespace n ON n.oid = t.relnamespace
     WHERE c.contype = 'c' AND n.nspname = 'public' AND t.relname = ANY ($1::text[])
     ORDER BY 1, 2`,
    [ownedTables],
  );
  return result.rows;
}

/** One `ALTER TABLE ... DROP CONSTRAINT c, ADD CONSTRAINT c CHECK (...)` per changed check. */
export async function planCheckReplacements(current: pg.Client, desired: pg.Client): Promise<string[]> {
  const existing = new Map((await readChecks(current)).map((check) => [`${check.table} ${check.name}`, check.definition]));
  return (await readChecks(desired))
    .filter((check) => {
      const definition = existing.get(`${check.table} ${check.name}`);
      return definition !== undefined && definition !== check.definition;
    })
    .map((check) => `ALTER TABLE ${check.table} DROP CONSTRAINT ${check.name}, ADD CONSTRAINT ${check.name} ${check.definition};`);
}
