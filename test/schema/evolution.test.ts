// Changing the schema once it is live, on a copy of the project, as a developer would: each step
// edits schema/, then
//   - `pnpm db:diff <step>` writes one migration, which `pnpm db:migrate --env supabase` applies
//     onto the database the earlier steps' migrations built, and
//   - `pnpm db:apply --env supabase` takes a second database there directly.
// After every step both databases have no drift, no stale overload of a function, and the
// repository works on them through PostgREST; a function whose body alone changed is the same
// function (replaced in place), and a changed CHECK is NOT VALID until its second migration.
import { randomBytes } from "node:crypto";
import { readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { withClient, withDatabaseName } from "../../scripts/lib/postgres.ts";
import { startLocalStack } from "../../src/local-stack/index.ts";
import { createStoryTasksRepository } from "../../src/repository/index.ts";
import { type CommandResult, runScript, runScriptOrThrow, serverUrl } from "../support/databases.ts";
import { type ProjectCopy, copyProject } from "../support/project-copy.ts";
import { type SupabaseProject, asDeployRole, createSupabaseProject, supabaseEnv } from "../support/supabase-project.ts";

interface Step {
  name: string;
  /** Edits the copy's schema/. */
  change(edit: (file: string, update: (text: string) => string) => void, remove: (file: string) => void): void;
  /** What the step must have done, checked on each database; `oidsBefore`: our functions' oids before the deploy. */
  check(db: SupabaseProject, oidsBefore: Map<string, number>): Promise<void>;
  /** Checked on a database with only the step's first migration run, in a transaction rolled back afterwards. */
  checkFirstMigration?(client: pg.ClientBase): Promise<void>;
}

const probeFunction = "schema/sql/90_story_task_probe.sql";

const steps: Step[] = [
  {
    name: "add_priority_and_a_function_change_a_body",
    change(edit) {
      edit("schema/story_tasks.pg.hcl", (hcl) =>
        hcl.replace('  column "created_at" {', '  column "priority" {\n    type    = integer\n    default = 0\n  }\n  column "created_at" {'),
      );
      edit(probeFunction, () =>
        "CREATE FUNCTION public.story_task_probe() RETURNS integer LANGUAGE sql SET search_path = '' AS $$ SELECT 1 $$;\nREVOKE EXECUTE ON FUNCTION public.story_task_probe FROM PUBLIC, anon, authenticated, service_role;\n",
      );
      edit("schema/sql/60_story_task_maintenance.sql", (sql) => sql.replace("'batch_size must be from 1 to 10000'", "'batch_size must be a whole number from 1 to 10000'"));
    },
    async check(db, oidsBefore) {
      expect(await query(db, "SELECT column_default FROM information_schema.columns WHERE table_name = 'story_tasks' AND column_name = 'priority'")).toEqual([{ column_default: "0" }]);
      expect(await overloads(db, "story_task_probe")).toEqual([""]);
      // Same signature, new body: replaced in place (the same function, never missing to PostgREST).
      expect((await functionOids(db)).get("prune_finished_story_tasks")).toBe(oidsBefore.get("prune_finished_story_tasks"));
      await expect(withClient(db.url, (client) => client.query("SELECT public.prune_finished_story_tasks(now(), 0)"))).rejects.toThrow("batch_size must be a whole number from 1 to 10000");
    },
  },
  {
    name: "append_events_takes_a_source",
    change(edit) {
      edit("schema/sql/50_story_task_functions.sql", (sql) => sql.replace(/(CREATE FUNCTION public\.append_story_task_events\([\s\S]*?)\)(\s+RETURNS)/, "$1, source text DEFAULT NULL)$2"));
    },
    async check(db) {
      const [signature, ...stale] = await overloads(db, "append_story_task_events");
      expect(stale).toEqual([]);
      expect(signature).toMatch(/, source text DEFAULT NULL::text$/);
    },
  },
  {
    name: "remove_a_policy_and_a_function",
    change(edit, remove) {
      edit("schema/sql/30_row_level_security.sql", (sql) => sql.replace(/CREATE POLICY story_task_events_select_own[\s\S]*?;\n/, ""));
      remove(probeFunction);
    },
    async check(db) {
      expect(await query(db, "SELECT policyname FROM pg_policies WHERE tablename LIKE 'story_task%' ORDER BY 1")).toEqual([{ policyname: "story_tasks_select_own" }]);
      expect(await overloads(db, "story_task_probe")).toEqual([]);
    },
  },
  {
    name: "add_an_operation",
    change(edit) {
      edit("schema/story_tasks.pg.hcl", (hcl) => hcl.replace('"BUILD_PLAYER_BUNDLE",', '"BUILD_PLAYER_BUNDLE",\n    "TRANSLATE_STORY",'));
    },
    async check(db) {
      const [check] = await query<{ definition: string; validated: boolean }>(
        db,
        "SELECT pg_get_constraintdef(oid) AS definition, convalidated AS validated FROM pg_constraint WHERE conname = 'story_tasks_operation_check'",
      );
      expect(check).toMatchObject({ validated: true, definition: expect.stringContaining("'TRANSLATE_STORY'::text") });
    },
    async checkFirstMigration(client) {
      // Added NOT VALID (no scan of the table under its lock), yet enforced for new rows at once.
      const check = await client.query("SELECT convalidated AS validated FROM pg_constraint WHERE conname = 'story_tasks_operation_check'");
      expect(check.rows).toEqual([{ validated: false }]);
      expect((await client.query("INSERT INTO public.story_tasks (operation) VALUES ('TRANSLATE_STORY') RETURNING operation")).rows).toEqual([{ operation: "TRANSLATE_STORY" }]);
      await expect(client.query("INSERT INTO public.story_tasks (operation) VALUES ('NOT_AN_OPERATION')")).rejects.toMatchObject({ constraint: "story_tasks_operation_check" });
    },
  },
];

async function query<Row = Record<string, unknown>>(db: SupabaseProject, sql: string): Promise<Row[]> {
  return withClient(db.url, async (client) => (await client.query(sql)).rows as Row[]);
}

/** The argument lists of every function of that name in public. */
async function overloads(db: SupabaseProject, name: string): Promise<string[]> {
  const rows = await query<{ args: string }>(db, `SELECT pg_get_function_arguments(p.oid) AS args FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace AND p.proname = '${name}' ORDER BY 1`);
  return rows.map((row) => row.args);
}

/** The oid of each function of ours, by name. */
async function functionOids(db: SupabaseProject): Promise<Map<string, number>> {
  const rows = await query<{ name: string; oid: number }>(db, "SELECT proname AS name, oid::int AS oid FROM pg_proc WHERE pronamespace = 'public'::regnamespace AND proname LIKE '%story_task%'");
  return new Map(rows.map((row) => [row.name, row.oid]));
}

/** Runs `check` after `migration` alone, in a transaction it rolls back. */
async function afterMigrationAlone(db: SupabaseProject, migration: string, check: (client: pg.ClientBase) => Promise<void>): Promise<void> {
  await withClient(db.url, async (client) => {
    await client.query("BEGIN");
    try {
      await client.query(migration);
      await check(client);
    } finally {
      await client.query("ROLLBACK");
    }
  });
}

/** The repository, through a PostgREST started on the database as it is (the stack runs no DDL on it). */
async function expectRepositoryWorks(db: SupabaseProject, step: string): Promise<void> {
  const stack = await startLocalStack({ databaseUrl: db.url });
  try {
    const repo = createStoryTasksRepository(stack.service);
    const task = await repo.createTask({ operation: "RUN_WORKFLOW_TASK", status: "running" });
    const event = await repo.appendEvent(task.id, { eventType: "progress", message: `after ${step}`, progressOverride: 40 });
    expect(await repo.listEvents(task.id)).toEqual([event]);
    expect(await repo.updateStatus(task.id, { status: "succeeded", event: { message: "done" } })).toMatchObject({ status: "succeeded", progress: 100 });
  } finally {
    await stack.stop();
  }
}

describe("schema evolution on a live database, step by step", () => {
  let project: ProjectCopy;
  let migrated: SupabaseProject;
  let applied: SupabaseProject;
  // db:diff names its scratch databases after this one's, which need not exist.
  const diffScratch = asDeployRole(withDatabaseName(serverUrl, `story_tasks_evolution_${randomBytes(4).toString("hex")}`));
  const run = (script: string, args: string[], db?: SupabaseProject): CommandResult =>
    runScript(script, db ? [...args, "--env", "supabase"] : args, diffScratch, project.root, db ? supabaseEnv(db) : {});
  const migrations = () => readdirSync(path.join(project.root, "supabase", "migrations")).filter((file) => file.endsWith(".sql"));

  beforeAll(async () => {
    project = copyProject();
    [migrated, applied] = [await createSupabaseProject("evolution_migrated"), await createSupabaseProject("evolution_applied")];
    runScriptOrThrow("db:migrate", ["--env", "supabase"], "", project.root, supabaseEnv(migrated));
    runScriptOrThrow("db:apply", ["--env", "supabase"], "", project.root, supabaseEnv(applied));
  });
  afterAll(async () => {
    project?.remove();
    await migrated?.drop();
    await applied?.drop();
  });

  it("db:diff writes nothing while supabase/migrations/ matches schema/", () => {
    const before = migrations();
    const diff = run("db:diff", ["nothing_new"]);
    expect(diff.stdout).toContain("No new migration");
    expect(migrations()).toEqual(before);
  });

  it.each(steps)("$name: one migration, then no drift, no stale overload, and a working repository on both databases", async (step) => {
    const edit = (file: string, update: (text: string) => string) => {
      const target = path.join(project.root, file);
      let text = "";
      try {
        text = readFileSync(target, "utf8");
      } catch {
        // a new file
      }
      const next = update(text);
      expect(next, `${step.name} changes ${file}`).not.toBe(text);
      writeFileSync(target, next);
    };
    step.change(edit, (file) => rmSync(path.join(project.root, file)));

    const before = migrations();
    const diff = run("db:diff", [step.name]);
    expect(diff.status, diff.stdout + diff.stderr).toBe(0);
    const written = migrations().filter((file) => !before.includes(file));
    // A changed CHECK is validated in a migration of its own, after the one that adds it NOT VALID.
    const expected = step.name === "add_an_operation" ? [`_${step.name}.sql`, `_${step.name}_validate.sql`] : [`_${step.name}.sql`];
    expect(written.map((file) => file.slice(14))).toEqual(expected);

    if (step.checkFirstMigration) {
      await afterMigrationAlone(migrated, readFileSync(path.join(project.root, "supabase", "migrations", written[0]!), "utf8"), step.checkFirstMigration);
    }
    for (const [db, deploy] of [
      [migrated, "db:migrate"],
      [applied, "db:apply"],
    ] as const) {
      const oidsBefore = await functionOids(db);
      const deployed = run(deploy, [], db);
      expect(deployed.status, `${deploy}: ${deployed.stdout}${deployed.stderr}`).toBe(0);
      await step.check(db, oidsBefore);
      expect(await overloads(db, "append_story_task_events")).toHaveLength(1);
      const drift = run("db:drift", [], db);
      expect(drift.status, `${deploy} then db:drift: ${drift.stdout}`).toBe(0);
      await expectRepositoryWorks(db, step.name);
    }
  });
});
