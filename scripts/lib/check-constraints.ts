// Atlas v0.13.1 matches CHECK constraints by name and never compares their expressions, so a
// changed check (a new operation in story_tasks_operation_check) goes unseen. This plans the
// replacement of every check of ours whose definition differs from the desired database's, in
// two steps that keep a live table available: the new check is added NOT VALID (checked for new
// rows at once, no scan, so the ACCESS EXCLUSIVE lock is brief), then VALIDATEd in a later
// transaction, which scans under a lock that lets reads and writes go on.
import type { Queryable } from "./catalog.ts";

interface CheckConstraint {
  table: string;
  name: string;
  definition: string;
  validated: boolean;
}

async function readChecks(db: Queryable): Promise<CheckConstraint[]> {
  const result = await db.query<CheckConstraint>(
    `SELECT format('%I.%I', n.nspname, t.relname) AS table, format('%I', c.conname) AS name,
            pg_get_constraintdef(c.oid) AS definition, c.convalidated AS validated
     FROM pg_constraint c
     JOIN pg_class t ON t.oid = c.conrelid
     JOIN pg_namespace n ON n.oid = t.relnamespace
     WHERE c.contype = 'c' AND n.nspname = 'public' AND t.relname LIKE '%story_task%'
     ORDER BY 1, 2`,
  );
  return result.rows.map((check) => ({ ...check, definition: check.definition.replace(/ NOT VALID$/, "") }));
}

export interface CheckReplacements {
  /** `ALTER TABLE t DROP CONSTRAINT c, ADD CONSTRAINT c CHECK (...) NOT VALID`, one per changed check. */
  replace: string[];
  /** `ALTER TABLE t VALIDATE CONSTRAINT c`: to run in a later transaction than `replace`. */
  validate: string[];
}

/** The checks of ours whose expression differs from `desired`'s (or that are not validated yet). */
export async function planCheckReplacements(current: Queryable, desired: Queryable): Promise<CheckReplacements> {
  const existing = new Map((await readChecks(current)).map((check) => [`${check.table} ${check.name}`, check]));
  const replace: string[] = [];
  const validate: string[] = [];
  for (const check of await readChecks(desired)) {
    const found = existing.get(`${check.table} ${check.name}`);
    if (!found) continue; // a new check comes with Atlas's own statements
    if (found.definition !== check.definition) {
      replace.push(`ALTER TABLE ${check.table} DROP CONSTRAINT ${check.name}, ADD CONSTRAINT ${check.name} ${check.definition} NOT VALID;`);
    }
    if (found.definition !== check.definition || !found.validated) validate.push(`ALTER TABLE ${check.table} VALIDATE CONSTRAINT ${check.name};`);
  }
  return { replace, validate };
}
