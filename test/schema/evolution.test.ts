// Changing the schema once it is live, on a copy of the project, as a developer would: each step
// edits schema/, then
//   - `pnpm db:diff <step>` writes one migration, which `pnpm db:migrate --env supabase` applies
//     onto the database the earlier steps' migrations built, and
//   - `pnpm db:apply --env supabase` takes a second database there directly.
// After every step both databases have no drift, no stale overload of a function, and the
// repository works on them through PostgREST.
import { randomBytes } from "node:crypto";
import { readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
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
  /** What the step must have done, checked on each database. */
  check(db: SupabaseProject): Promise<void>;
}

const probeFunction = "schema/sql/90_story_task_probe.sql";

const steps: Step[] = [
  {
    name: "add_priority_and_a_function",
    change(edit) {
      edit("schema/story_tasks.pg.hcl", (hcl) =>
        hcl.replace('  column "created_at" {', '  column "priority" {\n    type    = integer\n    default = 0\n  }\n  column "created_at" {'),
      );
      edit(probeFunction, () =>
        "CREATE FUNCTION public.story_task_probe() RETURNS integer LANGUAGE sql SET search_path = '' AS $$ SELECT 1 $$;\nREVOKE EXECUTE ON FUNCTION public.story_task_probe FROM PUBLIC, anon, authenticated, service_role;\n",
      );
    },
    async check(db) {
      expect(await query(db, "SELECT column_default FROM information_schema.columns WHERE table_name = 'story_tasks' AND column_name = 'priority'")).toEqual([{ column_default: "0" }]);
      expect(await overloads(db, "story_task_probe")).toEqual([""]);
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

    for (const [db, deploy] of [
      [migrated, "db:migrate"],
      [applied, "db:apply"],
    ] as const) {
      const deployed = run(deploy, [], db);
      expect(deployed.status, `${deploy}: ${deployed.stdout}${deployed.stderr}`).toBe(0);
      await step.check(db);
      expect(await overloads(db, "append_story_task_events")).toHaveLength(1);
      const drift = run("db:drift", [], db);
      expect(drift.status, `${deploy} then db:drift: ${drift.stdout}`).toBe(0);
      await expectRepositoryWorks(db, step.name);
    }
  });
});
