// `--migrate`: the story-tasks CLI and the demo never run DDL on a DATABASE_URL unless told to.
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { projectRoot } from "../scripts/lib/atlas-cli.ts";
import { type TestDatabase, connect, createEmptyDatabase } from "./support/databases.ts";

const execFileAsync = promisify(execFile);

async function script(name: string, args: string[], databaseUrl: string): Promise<{ status: number; stdout: string; stderr: string }> {
  const env = { ...process.env, DATABASE_URL: databaseUrl, SUPABASE_URL: "", SUPABASE_SERVICE_ROLE_KEY: "" };
  try {
    const { stdout, stderr } = await execFileAsync("pnpm", ["-s", name, ...args], { cwd: projectRoot, env, timeout: 120_000 });
    return { status: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { status: failed.code ?? -1, stdout: failed.stdout ?? "", stderr: failed.stderr ?? "" };
  }
}

describe("DATABASE_URL without the schema", () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createEmptyDatabase("cli_migrate");
  });
  afterAll(async () => {
    await database?.drop();
  });

  const hasTables = async () => {
    const client = await connect(database.url);
    try {
      return (await client.query<{ found: boolean }>("SELECT to_regclass('public.story_tasks') IS NOT NULL AS found")).rows[0]!.found;
    } finally {
      await client.end();
    }
  };

  it("story-tasks and the demo refuse it in one line, as a schema failure (exit 7), and create nothing", async () => {
    const runs = [
      { run: await script("story-tasks", ["list", "--story", randomUUID()], database.url), status: 7, line: /story-tasks: database schema: The database "story_tasks_test_cli_migrate_\w+" at .* has no story-task schema .* --migrate/ },
      { run: await script("demo", [], database.url), status: 7, line: /demo: database schema: The database "story_tasks_test_cli_migrate_\w+" at .* has no story-task schema .* --migrate/ },
    ];
    for (const { run, status, line } of runs) {
      expect(run.status).toBe(status);
      expect(run.stderr).toMatch(line);
      expect(run.stderr).not.toMatch(/\n\s+at /);
    }
    expect(await hasTables()).toBe(false);
  });

  it("story-tasks --migrate applies supabase/migrations/ and then works", async () => {
    const storyId = randomUUID();
    const listed = await script("story-tasks", ["--migrate", "list", "--story", storyId], database.url);
    expect(listed.status, listed.stderr).toBe(0);
    expect(listed.stdout.trim()).toBe(`No tasks for story ${storyId}.`);
    expect(await hasTables()).toBe(true);
    expect((await script("story-tasks", ["list", "--story", storyId], database.url)).status).toBe(0);
  });
});
