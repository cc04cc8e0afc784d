// supabase/migrations/ as the deploy tools see it: Atlas's checksums, the stand-ins migration
// (a no-op on a Supabase project), and one transaction per migration, so that a table never
// exists without its RLS and grants, not even when a migration fails half way.
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runSqlScript, withClient } from "../../scripts/lib/postgres.ts";
import { standInsMigration } from "../../scripts/lib/schema-sources.ts";
import { createEmptyDatabase, runScript, runScriptOrThrow } from "../support/databases.ts";
import { type ProjectCopy, copyProject } from "../support/project-copy.ts";
import { type SupabaseProject, createSupabaseProject, dumpHostSchema, dumpLibraryObjects, supabaseEnv } from "../support/supabase-project.ts";

function migrationFiles(project: ProjectCopy): string[] {
  return readdirSync(path.join(project.root, "supabase", "migrations"))
    .filter((name) => name.endsWith(".sql"))
    .sort();
}


describe("supabase/migrations/", () => {
  it("passes atlas migrate validate, which fails once a migration is edited by hand", async () => {
    const dev = await createEmptyDatabase("validate_dev");
    const project = copyProject();
    try {
      const validate = (cwd: string) => runScript("atlas", ["migrate", "validate", "--env", "schema", "--var", `dev_url=${dev.url}`], dev.url, cwd);
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

  it("starts with the stand-ins, which change nothing on a Supabase-shaped database", async () => {
    const supabase = await createSupabaseProject("stand_ins_noop");
    try {
      const before = await dumpHostSchema(supabase.adminUrl);
      await runSqlScript(supabase.url, readFileSync(path.join("supabase", "migrations", standInsMigration), "utf8"));
      expect(await dumpHostSchema(supabase.adminUrl)).toEqual(before);
      expect(await dumpLibraryObjects(supabase.url)).toEqual([]);
    } finally {
      await supabase.drop();
    }
  });
});

describe("a migration that fails half way", () => {
  let project: ProjectCopy;

  beforeAll(async () => {
    project = copyProject();
    // The migration that creates the tables, failing after everything else in it has run.
    const creating = migrationFiles(project).find((name) => /^CREATE TABLE /m.test(readFileSync(path.join(project.root, "supabase", "migrations", name), "utf8")));
    const migration = path.join(project.root, "supabase", "migrations", creating!);
    writeFileSync(migration, `${readFileSync(migration, "utf8")}\nSELECT 1 / 0;\n`);
    runScriptOrThrow("atlas", ["migrate", "hash", "--env", "schema"], "", project.root);
  });
  afterAll(() => {
    project?.remove();
  });

  it.each(["db:migrate", "db:push"])("leaves nothing of it behind through %s", async (deploy) => {
    const supabase: SupabaseProject = await createSupabaseProject(`failing_${deploy.replace(":", "_")}`);
    try {
      const failed = runScript(deploy, ["--env", "supabase"], "", project.root, supabaseEnv(supabase));
      expect(failed.status).toBe(1);
      expect(failed.stdout + failed.stderr).toMatch(/division by zero/);
      expect(await dumpLibraryObjects(supabase.url)).toEqual([]);
      const tables = await withClient(supabase.url, async (client) => (await client.query("SELECT to_regclass('public.story_tasks') AS tasks")).rows[0]);
      expect(tables).toEqual({ tasks: null });
    } finally {
      await supabase.drop();
    }
  });
});
