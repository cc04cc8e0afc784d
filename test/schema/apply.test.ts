// `pnpm db:apply` and `pnpm db:drift` against a real PostgreSQL, run as a user runs them.
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type TestDatabase,
  connect,
  createEmptyDatabase,
  createSchemaDatabase,
  runScript,
  runScriptOrThrow,
} from "../support/databases.ts";
import { copyProject } from "../support/project-copy.ts";

describe("pnpm db:apply", () => {
  let database: TestDatabase;

  beforeAll(async () => {
    database = await createSchemaDatabase("apply");
  });
  afterAll(async () => {
    await database?.drop();
  });

  it("changes nothing the second time, and says so", () => {
    const second = runScriptOrThrow("db:apply", [], database.url);
    expect(second.stdout).toContain("Schema is synced, no changes to be made");
    expect(second.stdout).toContain("No changes: the database already matches schema/.");
    expect(second.stdout).not.toContain("Database objects changed");
  });

  it("plans nothing in a dry run of an applied database", () => {
    const plan = runScriptOrThrow("db:apply", ["--dry-run"], database.url);
    expect(plan.stdout).toContain("no changes to be made");
    expect(plan.stdout).not.toMatch(/CREATE|ALTER|DROP/);
  });

  it("reports no drift right after an apply", () => {
    const drift = runScript("db:drift", [], database.url);
    expect(drift.stdout).toContain("No drift");
    expect(drift.status).toBe(0);
  });

  it("detects drift in tables and in policies, and repairs both", async () => {
    const client = await connect(database.url);
    try {
      await client.query("DROP INDEX public.story_tasks_status_idx");
      await client.query("DROP POLICY story_tasks_select_own ON public.story_tasks");
    } finally {
      await client.end();
    }
    const drift = runScript("db:drift", [], database.url);
    expect(drift.status).toBe(1);
    expect(drift.stdout).toContain('CREATE INDEX "story_tasks_status_idx"');
    expect(drift.stdout).toMatch(/\+ policy story_tasks_select_own on story_tasks/);

    const repair = runScriptOrThrow("db:apply", [], database.url);
    expect(repair.stdout).toContain("Applied.");
    expect(runScript("db:drift", [], database.url).status).toBe(0);
  });

  it("applies an operation added to schema/ in one line, though Atlas v0.13.1 does not compare CHECK expressions", async () => {
    const project = copyProject();
    const client = await connect(database.url);
    try {
      const schemaFile = path.join(project.root, "schema", "story_tasks.pg.hcl");
      writeFileSync(schemaFile, readFileSync(schemaFile, "utf8").replace('"BUILD_PLAYER_BUNDLE",', '"BUILD_PLAYER_BUNDLE",\n    "TRANSLATE_STORY",'));
      await expect(client.query("INSERT INTO public.story_tasks (operation) VALUES ('TRANSLATE_STORY')")).rejects.toMatchObject({
        constraint: "story_tasks_operation_check",
      });

      const apply = runScriptOrThrow("db:apply", [], database.url, project.root);
      expect(apply.stdout).toMatch(/\+ check story_tasks_operation_check on story_tasks: .*'TRANSLATE_STORY'::text/);
      const inserted = await client.query("INSERT INTO public.story_tasks (operation) VALUES ('TRANSLATE_STORY') RETURNING operation");
      expect(inserted.rows[0]?.operation).toBe("TRANSLATE_STORY");
      expect(runScript("db:drift", [], database.url, project.root).status).toBe(0);
    } finally {
      await client.query("DELETE FROM public.story_tasks WHERE operation = 'TRANSLATE_STORY'");
      await client.end();
      project.remove();
    }
    // Back to this project's schema/: the operation is refused again.
    runScriptOrThrow("db:apply", [], database.url);
    expect(runScript("db:drift", [], database.url).status).toBe(0);
  });

  it("never creates, alters or drops the host's tables", async () => {
    const client = await connect(database.url);
    try {
      // A richer host schema, as on Supabase: extra columns, and another host table in public.
      await client.query("ALTER TABLE public.stories ADD COLUMN genre text");
      await client.query("ALTER TABLE auth.users ADD COLUMN email text");
      await client.query("CREATE TABLE public.scenelets (id uuid PRIMARY KEY, story_id uuid REFERENCES public.stories (id))");
      const apply = runScriptOrThrow("db:apply", [], database.url);
      expect(apply.stdout).toContain("No changes");
      const columns = await client.query<{ column: string }>(
        `SELECT table_schema || '.' || table_name || '.' || column_name AS column FROM information_schema.columns
         WHERE (table_schema, table_name) IN (('public', 'stories'), ('auth', 'users'), ('public', 'scenelets'))
         ORDER BY 1`,
      );
      expect(columns.rows.map((row) => row.column)).toEqual([
        "auth.users.email",
        "auth.users.id",
        "public.scenelets.id",
        "public.scenelets.story_id",
        "public.stories.display_name",
        "public.stories.genre",
        "public.stories.id",
      ]);
    } finally {
      await client.query("DROP TABLE IF EXISTS public.scenelets");
      await client.end();
    }
  });
});

describe("pnpm db:apply on a PostgreSQL without the stand-ins", () => {
  let database: TestDatabase;

  beforeAll(async () => {
    database = await createEmptyDatabase("bare");
  });
  afterAll(async () => {
    await database?.drop();
  });

  it("refuses with one sentence naming the missing tables and the command to run", () => {
    const apply = runScript("db:apply", [], database.url);
    expect(apply.status).toBe(1);
    expect(apply.stderr.trim()).toMatch(/has no auth\.users or public\.stories: on a plain PostgreSQL run `pnpm db:stand-ins` first\.$/);
    expect(apply.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it("says, without failing, that realtime is off when the publication is missing", async () => {
    runScriptOrThrow("db:stand-ins", [], database.url);
    const client = await connect(database.url);
    try {
      await client.query("DROP PUBLICATION supabase_realtime");
    } finally {
      await client.end();
    }
    const apply = runScriptOrThrow("db:apply", [], database.url);
    expect(apply.stdout).toContain("notice: publication supabase_realtime does not exist: story task changes will not be broadcast");
  });
});
