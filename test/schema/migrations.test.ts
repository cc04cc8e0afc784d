// supabase/migrations/ builds the same database as schema/, Atlas can verify the folder, and
// `pnpm db:diff` turns a one-line schema change into a migration.
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { describeDatabaseObjects } from "../../scripts/lib/catalog.ts";
import { withClient, withDatabaseName } from "../../scripts/lib/postgres.ts";
import {
  type TestDatabase,
  connect,
  createEmptyDatabase,
  createSchemaDatabase,
  runScript,
  runScriptOrThrow,
} from "../support/databases.ts";
import { type ProjectCopy, copyProject } from "../support/project-copy.ts";

describe("supabase/migrations/", () => {
  let fromSchema: TestDatabase;
  let fromMigrations: TestDatabase;

  beforeAll(async () => {
    fromSchema = await createSchemaDatabase("from_schema");
    fromMigrations = await createEmptyDatabase("from_migrations");
    runScriptOrThrow("db:migrate", [], fromMigrations.url);
  });
  afterAll(async () => {
    await fromSchema?.drop();
    await fromMigrations?.drop();
  });

  it("builds a database with no difference from schema/", () => {
    const drift = runScript("db:drift", [], fromMigrations.url);
    expect(drift.stdout).toContain("No drift");
    expect(drift.status).toBe(0);
  });

  it("builds the same policies, grants, triggers, functions and publication membership as db:apply", async () => {
    const viaApply = await withClient(fromSchema.url, describeDatabaseObjects);
    const viaMigrations = await withClient(fromMigrations.url, describeDatabaseObjects);
    expect(viaApply.filter((line) => line.startsWith("policy"))).toHaveLength(4);
    expect(viaApply.filter((line) => line.startsWith("trigger"))).toHaveLength(2);
    expect(viaApply.filter((line) => line.startsWith("publication"))).toHaveLength(2);
    expect(viaMigrations).toEqual(viaApply);
  });

  it("has the same tables, columns, constraints and indexes as db:apply", () => {
    const diff = runScriptOrThrow(
      "atlas",
      ["schema", "diff", "--from", fromSchema.url, "--to", fromMigrations.url, "--schema", "auth,public"],
      fromSchema.url,
    );
    expect(diff.stdout.trim()).toBe("Schemas are synced, no changes to be made.");
  });

  it("passes atlas migrate validate, which fails once a migration is edited by hand", async () => {
    const dev = await createEmptyDatabase("validate_dev");
    const project = copyProject();
    try {
      const validate = (cwd: string) =>
        runScript("atlas", ["migrate", "validate", "--env", "schema", "--var", `dev_url=${dev.url}`], dev.url, cwd);
      expect(validate(project.root)).toMatchObject({ status: 0 });

      const migration = path.join(project.root, "supabase", "migrations", migrationFiles(project).at(-1)!);
      writeFileSync(migration, `${readFileSync(migration, "utf8")}\n-- edited by hand\n`);
      const tampered = validate(project.root);
      expect(tampered.status).not.toBe(0);
      expect(tampered.stderr + tampered.stdout).toMatch(/checksum/i);
    } finally {
      project.remove();
      await dev.drop();
    }
  });

  it("leaves a Supabase-shaped host schema alone", async () => {
    const supabaseLike = await createEmptyDatabase("supabase_like");
    try {
      const client = await connect(supabaseLike.url);
      try {
        // As on Supabase: richer host tables, owned by someone else, already there.
        await client.query(`
          CREATE SCHEMA auth;
          CREATE TABLE auth.users (id uuid PRIMARY KEY, email text, raw_user_meta_data jsonb);
          CREATE FUNCTION auth.uid() RETURNS uuid LANGUAGE sql STABLE AS $$ SELECT '00000000-0000-0000-0000-000000000001'::uuid $$;
          CREATE TABLE public.stories (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), display_name text NOT NULL, owner_id uuid);`);
        runScriptOrThrow("db:migrate", [], supabaseLike.url);
        const uid = await client.query<{ uid: string }>("SELECT auth.uid() AS uid");
        expect(uid.rows[0]?.uid).toBe("00000000-0000-0000-0000-000000000001");
        const columns = await client.query<{ name: string }>(
          `SELECT table_name || '.' || column_name AS name FROM information_schema.columns
           WHERE table_schema IN ('auth', 'public') AND table_name IN ('users', 'stories') ORDER BY 1`,
        );
        expect(columns.rows.map((row) => row.name)).toEqual([
          "stories.display_name",
          "stories.id",
          "stories.owner_id",
          "users.email",
          "users.id",
          "users.raw_user_meta_data",
        ]);
        const tasks = await client.query("SELECT to_regclass('public.story_tasks') IS NOT NULL AS created");
        expect(tasks.rows[0]?.created).toBe(true);
      } finally {
        await client.end();
      }
    } finally {
      await supabaseLike.drop();
    }
  });
});

function migrationFiles(project: ProjectCopy): string[] {
  return readdirSync(path.join(project.root, "supabase", "migrations"))
    .filter((name) => name.endsWith(".sql"))
    .sort();
}

describe("pnpm db:diff", () => {
  let project: ProjectCopy;
  let scratchServer: TestDatabase;

  beforeAll(async () => {
    project = copyProject();
    // db:diff names its scratch database after DATABASE_URL's; give it a unique one.
    scratchServer = await createEmptyDatabase("diff");
  });
  afterAll(async () => {
    project?.remove();
    await scratchServer?.drop();
  });

  it("writes nothing when supabase/migrations/ already matches schema/", () => {
    const before = migrationFiles(project);
    const diff = runScriptOrThrow("db:diff", ["nothing_new"], scratchServer.url, project.root);
    expect(diff.stdout).toContain("No new migration");
    expect(migrationFiles(project)).toEqual(before);
  });

  it("turns a one-line operation added to schema/ into a migration the database then enforces", async () => {
    const schemaFile = path.join(project.root, "schema", "story_tasks.pg.hcl");
    const hcl = readFileSync(schemaFile, "utf8");
    writeFileSync(schemaFile, hcl.replace('"BUILD_PLAYER_BUNDLE",', '"BUILD_PLAYER_BUNDLE",\n    "TRANSLATE_STORY",'));

    const before = migrationFiles(project);
    runScriptOrThrow("db:diff", ["add_translate_story"], scratchServer.url, project.root);
    const written = migrationFiles(project).filter((name) => !before.includes(name));
    expect(written).toEqual([expect.stringMatching(/^\d{14}_add_translate_story_checks\.sql$/)]);

    const upgraded = await createEmptyDatabase("upgraded");
    try {
      runScriptOrThrow("db:migrate", [], upgraded.url, project.root);
      const client = await connect(upgraded.url);
      try {
        const inserted = await client.query("INSERT INTO public.story_tasks (operation) VALUES ('TRANSLATE_STORY') RETURNING operation");
        expect(inserted.rows[0]?.operation).toBe("TRANSLATE_STORY");
        await expect(client.query("INSERT INTO public.story_tasks (operation) VALUES ('TRANSLATE_POEM')")).rejects.toMatchObject({
          code: "23514",
          constraint: "story_tasks_operation_check",
        });
      } finally {
        await client.end();
      }
    } finally {
      await upgraded.drop();
    }
  });

  it("writes the idempotent SQL as a new migration when schema/sql/ changes", () => {
    const policyFile = path.join(project.root, "schema", "sql", "30_row_level_security.sql");
    writeFileSync(policyFile, `${readFileSync(policyFile, "utf8")}\nCOMMENT ON TABLE public.story_tasks IS 'story tasks';\n`);
    const before = migrationFiles(project);
    runScriptOrThrow("db:diff", ["comment_tasks"], scratchServer.url, project.root);
    const written = migrationFiles(project).filter((name) => !before.includes(name));
    expect(written).toEqual([expect.stringMatching(/^\d{14}_comment_tasks_database_objects\.sql$/)]);
    const content = readFileSync(path.join(project.root, "supabase", "migrations", written[0]!), "utf8");
    expect(content).toContain("COMMENT ON TABLE public.story_tasks IS 'story tasks';");
  });
});
