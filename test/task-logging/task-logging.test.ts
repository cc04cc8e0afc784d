// The task-logging helpers drive a whole lifecycle through the real stack, on both databases.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StoryTaskForeignKeyError, StoryTaskTransitionError, StoryTasksRepositoryError, type StoryTasksRepository, createStoryTasksRepository } from "../../src/repository/index.ts";
import { createProgressReporter, logTaskCompletion, logTaskEvent, logTaskStart } from "../../src/task-logging/index.ts";
import { type TestStack, insertStory, insertUser, stacks } from "../support/stacks.ts";

describe.each(stacks)("task-logging helpers on $name", ({ start }) => {
  let running: TestStack;
  let repo: StoryTasksRepository;

  beforeAll(async () => {
    running = await start("task_logging");
    repo = createStoryTasksRepository(running.stack.service);
  });
  afterAll(async () => {
    await running?.stop();
  });

  it("log a whole run: start, progress, a recoverable error, success at 100", async () => {
    const storyId = await insertStory(running.stack);
    const requestedBy = await insertUser(running.stack);
    const task = await logTaskStart(repo, {
      storyId,
      operation: "CREATE_SHOT_IMAGES",
      payload: { scenelets: 12 },
      requestedBy,
      displayFields: { title: "Shot images" },
    });
    expect(task).toMatchObject({ status: "running", storyId, requestedBy, displayFields: { title: "Shot images" } });
    expect(task.startedAt).not.toBeNull();
    for (let shot = 1; shot <= 3; shot++) {
      await logTaskEvent(repo, task.id, { eventType: "progress", message: `Shot ${shot} of 3`, progressOverride: Math.round((shot / 3) * 90) });
    }
    await logTaskEvent(repo, task.id, { eventType: "error", message: "Shot 2 timed out; retried" });
    const done = await logTaskCompletion(repo, task.id, "succeeded");
    expect(done).toMatchObject({ status: "succeeded", progress: 100 });
    const events = await repo.listEvents(task.id);
    expect(events.map((event) => `${event.eventType}: ${event.message}`)).toEqual([
      "info: Started CREATE_SHOT_IMAGES",
      "progress: Shot 1 of 3",
      "progress: Shot 2 of 3",
      "progress: Shot 3 of 3",
      "error: Shot 2 timed out; retried",
      "info: Succeeded",
    ]);
  });

  it("a failure keeps the caller's message and the progress reached", async () => {
    const task = await logTaskStart(repo, { operation: "CREATE_SHOT_VIDEO" });
    await logTaskEvent(repo, task.id, { eventType: "progress", message: "Encoding", progressOverride: 35 });
    const failed = await logTaskCompletion(repo, task.id, "failed", { message: "Video service refused the request [redacted]" });
    expect(failed).toMatchObject({ status: "failed", progress: 35 });
    expect((await repo.listEvents(task.id, { newestFirst: true, limit: 1 }))[0]).toMatchObject({ eventType: "error", message: "Video service refused the request [redacted]" });
  });

  it("a logging failure throws the typed error by default", async () => {
    await expect(logTaskEvent(repo, randomUUID(), { eventType: "info", message: "orphan" })).rejects.toBeInstanceOf(StoryTaskForeignKeyError);
    const task = await logTaskStart(repo, { operation: "CREATE_STORY" });
    await logTaskCompletion(repo, task.id, "cancelled");
    await expect(logTaskCompletion(repo, task.id, "succeeded")).rejects.toBeInstanceOf(StoryTaskTransitionError);
  });

  it("with onError, a logging failure is reported and the job goes on", async () => {
    const reported: [string, StoryTasksRepositoryError][] = [];
    const onError = (error: StoryTasksRepositoryError, action: string) => reported.push([action, error]);
    const result = await logTaskEvent(repo, randomUUID(), { eventType: "info", message: "orphan" }, { onError });
    expect(result).toBeUndefined();
    const start = await logTaskStart(repo, { operation: "CREATE_STORY", storyId: randomUUID() }, { onError });
    expect(start).toBeUndefined();
    expect(reported.map(([action, error]) => [action, error.constructor.name])).toEqual([
      ["logTaskEvent", "StoryTaskForeignKeyError"],
      ["logTaskStart", "StoryTaskForeignKeyError"],
    ]);
  });

  it("the progress reporter writes far fewer rows than it was given, and keeps the last value", async () => {
    const task = await logTaskStart(repo, { operation: "CONSTITUTION_CHAT_UPDATE" });
    const reporter = createProgressReporter(repo, task.id, { minIntervalMs: 100 });
    const updates = 300;
    for (let i = 1; i <= updates; i++) {
      reporter.report(Math.floor((i / updates) * 99), `delta ${i}`);
      if (i % 30 === 0) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await reporter.flush();
    const progressEvents = (await repo.listEvents(task.id, { limit: 1000 })).filter((event) => event.eventType === "progress");
    expect(progressEvents.length).toBe(reporter.writes);
    expect(progressEvents.length).toBeGreaterThan(0);
    expect(progressEvents.length).toBeLessThan(updates / 10);
    expect(progressEvents.at(-1)).toMatchObject({ message: `delta ${updates}`, progressOverride: 99 });
    expect((await repo.getTask(task.id)).progress).toBe(99);
  });

  it("the progress reporter surfaces a failed write on flush, or to onError", async () => {
    const task = await logTaskStart(repo, { operation: "CREATE_STORY" });
    await logTaskCompletion(repo, task.id, "cancelled");
    const reporter = createProgressReporter(repo, task.id, { minIntervalMs: 10 });
    reporter.report(50, "after the end");
    await expect(reporter.flush()).rejects.toBeInstanceOf(StoryTaskTransitionError);

    const reported: StoryTasksRepositoryError[] = [];
    const tolerant = createProgressReporter(repo, task.id, { minIntervalMs: 10, onError: (error) => reported.push(error) });
    tolerant.report(60, "after the end");
    await tolerant.flush();
    expect(reported.map((error) => error.constructor.name)).toEqual(["StoryTaskTransitionError"]);
  });
});
