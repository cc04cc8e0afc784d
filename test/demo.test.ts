// `pnpm demo` (the README's first command) on the embedded default, then the `story-tasks` CLI
// reading what it wrote; and both against a PostgreSQL server through DATABASE_URL.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalStack, startLocalStack } from "../src/local-stack/index.ts";
import { createStoryTasksRepository } from "../src/repository/index.ts";
import { type TestDatabase, createEmptyDatabase } from "./support/databases.ts";
import { script, startScript } from "./support/scripts.ts";

describe("pnpm demo on the embedded default, read back with story-tasks", () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), "story-tasks-demo-"));
  let taskId = "";
  let storyId = "";
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it("runs a task with progress, info and a recoverable error to success, and prints its timeline and record", async () => {
    const demo = await script("demo", ["--data-dir", dataDir, "--step-ms", "8"]);
    expect(demo.status).toBe(0);
    expect(demo.stdout).toContain(`Using embedded PGlite in ${dataDir}, through PostgREST at http://127.0.0.1:`);
    taskId = /Task CREATE_SHOT_IMAGES ([0-9a-f-]{36})/.exec(demo.stdout)?.[1] ?? "";
    storyId = /Story "The Lighthouse Keeper" ([0-9a-f-]{36})/.exec(demo.stdout)?.[1] ?? "";
    expect(taskId).not.toBe("");
    expect(demo.stdout).toMatch(/\[#+\.+\] +47% {2}Shot 6\/12: The stranger's lantern/);
    expect(demo.stdout).toMatch(/\+\d+\.\d\ds +error +Image service timed out on shot 7; retried \(attempt 2 of 3\)/);
    expect(demo.stdout).toMatch(/progress reporter was given 240 reports and wrote \d+\)/);
    expect(demo.stdout).toMatch(/status +succeeded/);
    expect(demo.stdout).toContain("CREATE_SHOT_IMAGES succeeded at 100% after");
  });

  it("story-tasks show prints the task, that it cannot be cancelled, and its latest events newest first", async () => {
    const shown = await script("story-tasks", ["--data-dir", dataDir, "show", taskId]);
    expect(shown.status).toBe(0);
    expect(shown.stdout).toMatch(/status +succeeded/);
    expect(shown.stdout).toMatch(/cancelable +no/);
    const json = JSON.parse((await script("story-tasks", ["--data-dir", dataDir, "--json", "show", taskId])).stdout);
    expect(json.task).toMatchObject({ id: taskId, status: "succeeded", progress: 100 });
    expect(json.cancelable).toBe(false);
    expect(json.events[0].message).toBe("Rendered 12 shots");
    expect(json.events.length).toBeLessThanOrEqual(50);
    const seqs = json.events.map((event: { seq: number }) => event.seq);
    expect(seqs).toEqual([...seqs].sort((a: number, b: number) => b - a));
  });

  it("story-tasks list shows the story's task", async () => {
    const listed = await script("story-tasks", ["--data-dir", dataDir, "list", "--story", storyId]);
    expect(listed.stdout).toMatch(new RegExp(`${taskId} +CREATE_SHOT_IMAGES +succeeded +100%`));
  });

  it("exit codes tell refused, not found, usage and connection failures apart, each with one line", async () => {
    const refused = await script("story-tasks", ["--data-dir", dataDir, "cancel", taskId, "--reason", "too late"]);
    expect(refused.status).toBe(4);
    expect(refused.stderr).toMatch(/story-tasks: refused by the status machine: story task .* is succeeded, which is final/);
    const missing = await script("story-tasks", ["--data-dir", dataDir, "show", "7f1d8f0e-0000-4000-8000-000000000000"]);
    expect(missing.status).toBe(3);
    expect(missing.stderr).toContain("story-tasks: not found: Story task 7f1d8f0e-0000-4000-8000-000000000000 not found");
    const malformed = await script("story-tasks", ["--data-dir", dataDir, "show", "task-1"]);
    expect(malformed.status).toBe(2);
    expect(malformed.stderr).toContain("story-tasks: usage: Invalid story task input: taskId must be a UUID");
    const nowhere = await script("story-tasks", ["show", taskId]);
    expect(nowhere.status).toBe(2);
    expect(nowhere.stderr).toContain("story-tasks: usage: say where the tasks are");
    const unreachable = await script("story-tasks", ["show", taskId], { DATABASE_URL: "postgres://postgres@127.0.0.1:1/none" });
    expect(unreachable.status).toBe(5);
    for (const run of [refused, missing, malformed, nowhere, unreachable]) expect(run.stderr).not.toMatch(/\n\s+at /);
  });
});

describe("pnpm demo and story-tasks against a PostgreSQL server", () => {
  let database: TestDatabase;
  let stack: LocalStack;

  beforeAll(async () => {
    database = await createEmptyDatabase("demo_server");
    stack = await startLocalStack({ databaseUrl: database.url, migrate: true });
  });
  afterAll(async () => {
    await stack?.stop();
    await database?.drop();
  });

  it("the demo says which database it uses", async () => {
    const demo = await script("demo", ["--step-ms", "4"], { DATABASE_URL: database.url });
    expect(demo.status).toBe(0);
    expect(demo.stdout).toContain(`Using PostgreSQL at ${database.url}`);
    expect(demo.stdout).toContain("CREATE_SHOT_IMAGES succeeded at 100%");
  });

  it("story-tasks tail prints each event as it arrives, while the task runs, until it ends; cancel stops one", async () => {
    const repo = createStoryTasksRepository(stack.service);
    const task = await repo.createTask({ operation: "CREATE_SHOT_AUDIO", status: "running" });
    const tail = startScript("story-tasks", ["tail", task.id, "--interval-ms", "100"], { DATABASE_URL: database.url });
    try {
      // Each event is appended only once tail has printed the one before: the output is live, not one dump at the end.
      await repo.appendEvent(task.id, { eventType: "progress", message: "Voice 1 of 2", progressOverride: 50 });
      await tail.line(/Voice 1 of 2/);
      await repo.appendEvent(task.id, { eventType: "progress", message: "Voice 2 of 2", progressOverride: 100 });
      await tail.line(/Voice 2 of 2/);
      expect((await repo.getTask(task.id)).status, "printed while the task still runs").toBe("running");
      await repo.updateStatus(task.id, { status: "succeeded", event: { message: "Audio ready" } });
      await tail.line(/Audio ready/);
      await tail.line(/^Task succeeded at 100%\.$/);
      expect(await tail.exited).toBe(0);
    } finally {
      tail.stop();
    }
    expect(tail.lines.join("\n")).toMatch(/Voice 1 of 2[\s\S]*Voice 2 of 2[\s\S]*Audio ready[\s\S]*Task succeeded at 100%\./);

    const queued = await repo.createTask({ operation: "CREATE_SHOT_AUDIO" });
    const cancelled = await script("story-tasks", ["cancel", queued.id, "--reason", "Story deleted"], { DATABASE_URL: database.url });
    expect(cancelled.status).toBe(0);
    expect((await repo.getTask(queued.id)).status).toBe("cancelled");
    expect((await repo.listEvents(queued.id)).at(-1)?.message).toBe("Story deleted");
  });
});
