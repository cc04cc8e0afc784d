// `pnpm db:apply` and `pnpm db:drift`, run as a user runs them: on a Supabase-shaped database
// (`--env supabase`, as the non-superuser deploy role), and on a plain PostgreSQL.
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { projectRoot } from "../../scripts/lib/atlas-cli.ts";
import { type TestDatabase, connect, createEmptyDatabase, createSchemaDatabase, runScript, runScriptOrThrow } from "../support/databases.ts";
import { intendedPrivileges, readPrivileges } from "../support/privileges.ts";
import { copyProject } from "../support/project-copy.ts";
import { type SupabaseProject, dumpHostSchema, supabaseEnv } from "../support/supabase-project.ts";

describe("pnpm db:apply --env supabase", () => {
  let project: SupabaseProject;
  const apply = (args: string[] = [], cwd = projectRoot) => runScriptOrThrow("db:apply", [...args, "--env", "supabase"], "", cwd, supabaseEnv(project));
  const drift = (cwd = projectRoot) => runScript("db:drift", ["--env", "supabase"], "", cwd, supabaseEnv(project));
  /** Runs SQL as the deploy role, as someone changing the database by hand would. */
  async function byHand(...statements: string[]): Promise<void> {
    const client = await connect(project.url);
    try {
      for (const statement of statements) await client.query(statement);
    } finally {
      await client.end();
    }
  }

  beforeAll(async () => {
    project = await createSchemaDatabase("apply");
  });
  afterAll(async () => {
    await project?.drop();
  });

  it("changes nothing the second time, and says so", () => {
    const second = apply();
    expect(second.stdout).toContain("No changes: the database already matches schema/.");
    expect(second.stdout).not.toMatch(/^-- /m);
  });

  it("plans nothing in a dry run of an applied database", () => {
    const plan = apply(["--dry-run"]);
    expect(plan.stdout).toContain("No changes");
    expect(plan.stdout).not.toMatch(/CREATE|ALTER|DROP|GRANT|REVOKE/);
  });

  it("reports no drift right after an apply", () => {
    const report = drift();
    expect(report.stdout).toContain("No drift");
    expect(report.status).toBe(0);
  });

  it("finds and repairs, all at once: an EXECUTE, a column grant and a grant option too many, a stray trigger, RLS off, a table out of the publication", async () => {
    await byHand(
      "GRANT EXECUTE ON FUNCTION public.create_story_task TO anon",
      "GRANT UPDATE (message) ON public.story_task_events TO service_role",
      "GRANT SELECT ON public.story_tasks TO authenticated WITH GRANT OPTION",
      "CREATE TRIGGER story_tasks_stray BEFORE UPDATE ON public.story_tasks FOR EACH ROW EXECUTE FUNCTION public.story_tasks_guard_columns()",
      "ALTER TABLE public.story_task_events DISABLE ROW LEVEL SECURITY",
      "ALTER PUBLICATION supabase_realtime DROP TABLE public.story_tasks",
    );
    expect(drift().status).toBe(1);
    expect(apply().stdout).toContain("Applied.");
    expect(drift().status).toBe(0);
    const client = await connect(project.url);
    try {
      expect(await readPrivileges(client)).toEqual(intendedPrivileges);
      const state = await client.query(`
        SELECT (SELECT array_agg(tgname::text ORDER BY tgname) FROM pg_trigger WHERE tgrelid = 'public.story_tasks'::regclass AND NOT tgisinternal) AS triggers,
               (SELECT relrowsecurity FROM pg_class WHERE oid = 'public.story_task_events'::regclass) AS events_rls,
               (SELECT array_agg(tablename::text ORDER BY tablename) FROM pg_publication_tables WHERE pubname = 'supabase_realtime') AS published`);
      expect(state.rows[0]).toEqual({
        triggers: ["story_tasks_enforce_status_machine", "story_tasks_guard_columns"],
        events_rls: true,
        published: ["story_task_events", "story_tasks"],
      });
    } finally {
      await client.end();
    }
  });

  it("finds a missing index and policy, a stale overload, a leftover policy and extra grants, and repairs them all", async () => {
    await byHand(
      "DROP INDEX public.story_tasks_status_idx",
      "DROP POLICY story_tasks_select_own ON public.story_tasks",
      "CREATE FUNCTION public.append_story_task_events(task_id uuid, note text) RETURNS integer LANGUAGE sql AS 'SELECT 1'",
      "CREATE POLICY story_tasks_leftover ON public.story_tasks FOR SELECT TO anon USING (true)",
      "GRANT TRUNCATE ON public.story_task_events TO service_role",
      "GRANT USAGE ON SEQUENCE public.story_task_events_seq_seq TO anon",
    );
    const found = drift();
    expect(found.status).toBe(1);
    const lines = found.stdout.split("\n").map((line) => line.trim());
    expect(lines).toEqual(
      expect.arrayContaining([
        "add index:public.story_tasks_status_idx",
        "add policy:public.story_tasks.story_tasks_select_own",
        "remove function:public.append_story_task_events(uuid,text)",
        "remove policy:public.story_tasks.story_tasks_leftover",
        expect.stringMatching(/^set acl:\(table:public\.story_task_events\)\.service_role privileges: .*TRUNCATE.* -> \["INSERT","SELECT"\]$/),
        "- grant USAGE on sequence public.story_task_events_seq_seq to anon",
      ]),
    );

    const repair = apply();
    expect(repair.stdout).toContain("Applied.");
    expect(repair.stdout).toContain('DROP FUNCTION "public"."append_story_task_events"(uuid, text)');
    expect(drift().status).toBe(0);
    const client = await connect(project.url);
    try {
      expect(await readPrivileges(client)).toEqual(intendedPrivileges);
      expect((await client.query("SELECT count(*)::int AS n FROM pg_proc WHERE proname = 'append_story_task_events'")).rows[0].n).toBe(1);
    } finally {
      await client.end();
    }
  });

  it("replaces a changed CHECK NOT VALID, then validates it apart, and the database enforces the new operation", async () => {
    const copy = copyProject();
    const client = await connect(project.url);
    try {
      const schemaFile = path.join(copy.root, "schema", "story_tasks.pg.hcl");
      writeFileSync(schemaFile, readFileSync(schemaFile, "utf8").replace('"BUILD_PLAYER_BUNDLE",', '"BUILD_PLAYER_BUNDLE",\n    "TRANSLATE_STORY",'));
      await expect(client.query("INSERT INTO public.story_tasks (operation) VALUES ('TRANSLATE_STORY')")).rejects.toMatchObject({ constraint: "story_tasks_operation_check" });

      const changed = apply([], copy.root);
      expect(changed.stdout).toMatch(/-- CHECK constraints replaced NOT VALID\nALTER TABLE public\.story_tasks DROP CONSTRAINT story_tasks_operation_check, ADD CONSTRAINT story_tasks_operation_check CHECK .*'TRANSLATE_STORY'::text.* NOT VALID;/);
      expect(changed.stdout).toMatch(/-- Then validated, each in its own transaction\nALTER TABLE public\.story_tasks VALIDATE CONSTRAINT story_tasks_operation_check;/);
      const check = await client.query("SELECT convalidated FROM pg_constraint WHERE conname = 'story_tasks_operation_check'");
      expect(check.rows).toEqual([{ convalidated: true }]);
      const inserted = await client.query("INSERT INTO public.story_tasks (operation) VALUES ('TRANSLATE_STORY') RETURNING operation");
      expect(inserted.rows[0]?.operation).toBe("TRANSLATE_STORY");
      expect(drift(copy.root).status).toBe(0);
    } finally {
      await client.query("DELETE FROM public.story_tasks WHERE operation = 'TRANSLATE_STORY'");
      await client.end();
      copy.remove();
    }
    // Back to this project's schema/: the operation is refused again.
    apply();
    expect(drift().status).toBe(0);
  });

  it("never creates, alters or drops the host's objects, however they differ from the stand-ins", async () => {
    await byHand("ALTER TABLE public.stories ADD COLUMN genre text", "CREATE TABLE public.chapters (id uuid PRIMARY KEY, story_id uuid REFERENCES public.stories (id))");
    try {
      const before = await dumpHostSchema(project.adminUrl);
      expect(apply().stdout).toContain("No changes");
      expect(drift().status).toBe(0);
      expect(await dumpHostSchema(project.adminUrl)).toEqual(before);
    } finally {
      await byHand("DROP TABLE public.chapters", "ALTER TABLE public.stories DROP COLUMN genre");
    }
  });
});

describe("pnpm db:apply on a plain PostgreSQL", () => {
  let database: TestDatabase;

  beforeAll(async () => {
    database = await createEmptyDatabase("bare");
  });
  afterAll(async () => {
    await database?.drop();
  });

  it("refuses without the stand-ins, with one sentence naming what is missing and the command to run", () => {
    const apply = runScript("db:apply", [], database.url);
    expect(apply.status).toBe(1);
    expect(apply.stderr.trim()).toMatch(/has no table auth\.users, table public\.stories, publication supabase_realtime: on a plain PostgreSQL run `pnpm db:stand-ins` first\.$/);
    expect(apply.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it("builds the schema after `pnpm db:stand-ins`, with no drift", async () => {
    runScriptOrThrow("db:stand-ins", [], database.url);
    expect(runScriptOrThrow("db:apply", [], database.url).stdout).toContain("Applied.");
    expect(runScript("db:drift", [], database.url).status).toBe(0);
    const client = await connect(database.url);
    try {
      expect(await readPrivileges(client)).toEqual(intendedPrivileges);
    } finally {
      await client.end();
    }
  });
});
