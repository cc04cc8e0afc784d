// The whole chain on a throwaway copy of the project: one line added to schema/ (an operation;
// then a status with a transition), then `pnpm db:diff` and `pnpm codegen`; and `pnpm codegen
// --check` catching stale bindings.
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestDatabase, connect, createEmptyDatabase, runScript, runScriptOrThrow } from "../support/databases.ts";
import { type ProjectCopy, copyProject } from "../support/project-copy.ts";

describe("changing schema/, end to end", () => {
  let project: ProjectCopy;
  let scratch: TestDatabase;

  beforeAll(async () => {
    project = copyProject();
    scratch = await createEmptyDatabase("codegen_e2e");
  });
  afterAll(async () => {
    project?.remove();
    await scratch?.drop();
  });

  const read = (file: string) => readFileSync(path.join(project.root, file), "utf8");
  /** Runs `use` on a fresh database built by `pnpm db:migrate` from the copy's migrations. */
  async function withMigratedCopy(use: (client: pg.Client) => Promise<void>): Promise<void> {
    const migrated = await createEmptyDatabase("codegen_e2e_migrated");
    try {
      runScriptOrThrow("db:migrate", [], migrated.url, project.root);
      const client = await connect(migrated.url);
      try {
        await use(client);
      } finally {
        await client.end();
      }
    } finally {
      await migrated.drop();
    }
  }
  const write = (file: string, content: string) => writeFileSync(path.join(project.root, file), content);

  it("passes codegen --check on the unchanged copy", () => {
    const check = runScript("codegen", ["--check"], scratch.url, project.root);
    expect(check.stdout).toContain("generated/ is up to date.");
    expect(check.status).toBe(0);
  });

  it("fails codegen --check on a hand-edited generated file, naming it", () => {
    const validators = read("generated/validators.ts");
    write("generated/validators.ts", validators.replace('"chat_message"]', '"chat_message", "debug"]'));
    const check = runScript("codegen", ["--check"], scratch.url, project.root);
    expect(check.status).toBe(1);
    expect(check.stderr).toContain("Stale: generated/validators.ts differ");
    expect(check.stderr).not.toContain("records.ts");
    write("generated/validators.ts", validators);
  });

  it("carries one new line in schema/ to the migration, the CHECK, the zod enum and the union type", async () => {
    write("schema/story_tasks.pg.hcl", read("schema/story_tasks.pg.hcl").replace('"BUILD_PLAYER_BUNDLE",', '"BUILD_PLAYER_BUNDLE",\n    "TRANSLATE_STORY",'));
    const before = readdirSync(path.join(project.root, "supabase", "migrations"));
    runScriptOrThrow("db:diff", ["add_translate_story"], scratch.url, project.root);
    const written = readdirSync(path.join(project.root, "supabase", "migrations")).filter((name) => !before.includes(name));
    expect(written.map((name) => name.slice(14))).toEqual(["_add_translate_story.sql", "_add_translate_story_validate.sql"]);

    expect(runScript("codegen", ["--check"], scratch.url, project.root).status).toBe(1);
    runScriptOrThrow("codegen", [], scratch.url, project.root);
    expect(runScript("codegen", ["--check"], scratch.url, project.root).status).toBe(0);

    // The CHECK, in a database built from the copy's migrations.
    await withMigratedCopy(async (client) => {
      const inserted = await client.query("INSERT INTO public.story_tasks (operation) VALUES ('TRANSLATE_STORY') RETURNING operation");
      expect(inserted.rows[0].operation).toBe("TRANSLATE_STORY");
    });

    // The zod enum and the union type, as the copy's generated code has them.
    write(
      "scripts/uses-new-operation.ts",
      [
        'import type { StoryTaskOperation } from "../generated/records.ts";',
        'import { STORY_TASK_OPERATIONS, storyTaskOperationSchema } from "../generated/validators.ts";',
        'const operation: StoryTaskOperation = "TRANSLATE_STORY";',
        "console.log(JSON.stringify({ last: STORY_TASK_OPERATIONS.at(-1), parsed: storyTaskOperationSchema.parse(operation) }));",
        "",
      ].join("\n"),
    );
    const compiled = runScript("exec", ["tsc", "--noEmit", "-p", "."], scratch.url, project.root);
    expect(compiled.stdout + compiled.stderr).toBe("");
    expect(compiled.status).toBe(0);
    const ran = runScriptOrThrow("exec", ["tsx", "scripts/uses-new-operation.ts"], scratch.url, project.root);
    expect(JSON.parse(ran.stdout)).toEqual({ last: "TRANSLATE_STORY", parsed: "TRANSLATE_STORY" });
  });

  it("carries a status added to the status machine, with one transition in and one out, to the trigger, the CHECK, the zod enum and the union type", async () => {
    write(
      "schema/story_tasks.pg.hcl",
      read("schema/story_tasks.pg.hcl")
        .replace('story_task_statuses = ["queued", "running",', 'story_task_statuses = ["queued", "running", "paused",')
        .replace('running   = ["succeeded", "failed", "cancelled"]', 'running   = ["succeeded", "failed", "cancelled", "paused"]\n    paused    = ["running"]'),
    );
    runScriptOrThrow("db:diff", ["add_paused"], scratch.url, project.root);
    runScriptOrThrow("codegen", [], scratch.url, project.root);

    // The trigger and the CHECK, in a database built from the copy's migrations.
    await withMigratedCopy(async (client) => {
      const task = (await client.query("INSERT INTO public.story_tasks (operation, status) VALUES ('CREATE_STORY', 'running') RETURNING id")).rows[0].id;
      const move = (status: string) => client.query("UPDATE public.story_tasks SET status = $2 WHERE id = $1 RETURNING status", [task, status]);
      expect((await move("paused")).rows).toEqual([{ status: "paused" }]);
      await expect(move("succeeded")).rejects.toMatchObject({ code: "ST001", detail: "from=paused to=succeeded" });
      expect((await move("running")).rows).toEqual([{ status: "running" }]);
      await expect(move("frozen")).rejects.toMatchObject({ code: "23514", constraint: "story_tasks_status_check" });
    });

    // The zod enum, the union type and the generated machine, as the copy's code has them.
    write(
      "scripts/uses-new-status.ts",
      [
        'import type { StoryTaskStatus } from "../generated/records.ts";',
        'import { canMoveTo, isFinalStatus } from "../generated/status-machine.ts";',
        'import { storyTaskStatusSchema } from "../generated/validators.ts";',
        'const status: StoryTaskStatus = "paused";',
        'console.log(JSON.stringify({ parsed: storyTaskStatusSchema.parse(status), in: canMoveTo("running", status), out: canMoveTo(status, "running"), final: isFinalStatus(status), skip: canMoveTo(status, "succeeded") }));',
        "",
      ].join("\n"),
    );
    const compiled = runScript("exec", ["tsc", "--noEmit", "-p", "."], scratch.url, project.root);
    expect(compiled.stdout + compiled.stderr).toBe("");
    const ran = runScriptOrThrow("exec", ["tsx", "scripts/uses-new-status.ts"], scratch.url, project.root);
    expect(JSON.parse(ran.stdout)).toEqual({ parsed: "paused", in: true, out: true, final: false, skip: false });
  });

  it("would not compile a use of an operation the schema does not have", () => {
    write("scripts/uses-unknown-operation.ts", 'import type { StoryTaskOperation } from "../generated/records.ts";\nexport const operation: StoryTaskOperation = "WRITE_POEM";\n');
    const compiled = runScript("exec", ["tsc", "--noEmit", "-p", "."], scratch.url, project.root);
    expect(compiled.status).not.toBe(0);
    expect(compiled.stdout).toContain('Type \'"WRITE_POEM"\' is not assignable to type \'StoryTaskOperation\'');
  });
});
