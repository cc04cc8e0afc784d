// Every invariant holds however a row is written: here straight through PostgREST as
// service_role (the agent backend's key), bypassing the repository and its rpc functions, on
// both stacks. The database refuses each write, or corrects what it owns (the timestamps).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StoryTaskRecord } from "../../generated/records.ts";
import { type StoryTasksRepository, createStoryTasksRepository } from "../../src/repository/index.ts";
import { logTaskCompletion, logTaskStart } from "../../src/task-logging/index.ts";
import { type TestStack, insertStory, insertUser, stacks } from "../support/stacks.ts";

describe.each(stacks)("invariants, written straight through PostgREST on $name", ({ start }) => {
  let running: TestStack;
  let repo: StoryTasksRepository;
  let succeeded: StoryTaskRecord;

  beforeAll(async () => {
    running = await start("invariants");
    repo = createStoryTasksRepository(running.stack.service);
    const storyId = await insertStory(running.stack);
    const requestedBy = await insertUser(running.stack);
    const task = await logTaskStart(repo, { operation: "CREATE_SHOT_IMAGES", storyId, requestedBy, payload: { shots: 12 } });
    succeeded = await logTaskCompletion(repo, task.id, "succeeded");
  });
  afterAll(async () => {
    await running?.stop();
  });

  const tasks = () => running.stack.service.from("story_tasks");

  /** Expects the write to be refused with `code`, and the task to be as it was. */
  async function expectRefused(taskId: string, write: PromiseLike<{ error: { code: string } | null }>, code: string): Promise<void> {
    const before = await repo.getTask(taskId);
    const { error } = await write;
    expect(error?.code).toBe(code);
    expect(await repo.getTask(taskId)).toEqual(before);
  }

  it("a running task's progress cannot go back (40 -> 5)", async () => {
    const task = await repo.createTask({ operation: "CREATE_SHOT_VIDEO", status: "running", progress: 40 });
    await expectRefused(task.id, tasks().update({ progress: 5 }).eq("id", task.id), "ST001");
    expect((await tasks().update({ progress: 41 }).eq("id", task.id).select().single()).data?.progress).toBe(41);
  });

  it("nor when it leaves running: failed or cancelled keep the progress made; succeeded is 100 whatever is written", async () => {
    for (const status of ["failed", "cancelled"] as const) {
      const task = await repo.createTask({ operation: "CREATE_SHOT_VIDEO", status: "running", progress: 40 });
      await expectRefused(task.id, tasks().update({ status, progress: 5 }).eq("id", task.id), "ST001");
      expect((await tasks().update({ status, progress: 40 }).eq("id", task.id).select().single()).data).toMatchObject({ status, progress: 40 });
    }
    const task = await repo.createTask({ operation: "CREATE_SHOT_VIDEO", status: "running", progress: 40 });
    expect((await tasks().update({ status: "succeeded", progress: 5 }).eq("id", task.id).select().single()).data).toMatchObject({ status: "succeeded", progress: 100 });
  });

  it("no progress event reaches a final task", async () => {
    const { error } = await running.stack.service.from("story_task_events").insert({ task_id: succeeded.id, event_type: "progress", message: "late", progress_override: 50 });
    expect(error?.code).toBe("ST001");
    expect((await repo.listEvents(succeeded.id)).map((event) => event.message)).toEqual(["Started CREATE_SHOT_IMAGES", "Succeeded"]);
    // A note after the end is fine.
    expect((await running.stack.service.from("story_task_events").insert({ task_id: succeeded.id, event_type: "info", message: "archived" })).error).toBeNull();
  });

  it.each([
    ["id", { id: "5d0f5a6e-0000-4000-8000-000000000001" }, "ST002"],
    ["payload", { payload: { shots: 1 } }, "ST002"],
    ["operation", { operation: "DELETE_STORY" }, "ST002"],
    ["story_id", { story_id: null }, "ST002"],
    ["requested_by", { requested_by: null }, "ST002"],
    ["status", { status: "running" }, "ST001"],
    ["progress", { progress: 99 }, "ST001"],
  ] as const)("a succeeded task's %s cannot change", async (_, patch, code) => {
    await expectRefused(succeeded.id, tasks().update(patch).eq("id", succeeded.id), code);
  });

  it.each([
    ["id", { id: "5d0f5a6e-0000-4000-8000-000000000002" }],
    ["operation", { operation: "DELETE_STORY" }],
    ["requested_by", { requested_by: null }],
  ] as const)("a queued task's %s cannot change either", async (_, patch) => {
    const requestedBy = await insertUser(running.stack);
    const task = await repo.createTask({ operation: "CREATE_STORY", requestedBy });
    await expectRefused(task.id, tasks().update(patch).eq("id", task.id), "ST002");
  });

  it("a final task's display fields may still change: they cache a card's title", async () => {
    const { data, error } = await tasks().update({ display_fields: { title: "Renamed story" } }).eq("id", succeeded.id).select().single();
    expect(error).toBeNull();
    expect(data?.display_fields).toEqual({ title: "Renamed story" });
  });

  it("the timestamps are the database's: created_at, updated_at on insert and update; an event's created_at", async () => {
    const inserted = await tasks().insert({ operation: "CREATE_STORY", created_at: "2999-01-01T00:00:00Z", updated_at: "1999-01-01T00:00:00Z" }).select().single();
    expect(inserted.error).toBeNull();
    const [row] = (
      await running.stack.query<{ fresh: boolean; same: boolean }>(
        "SELECT created_at > now() - interval '1 hour' AND created_at <= now() AS fresh, updated_at = created_at AS same FROM public.story_tasks WHERE id = $1",
        [inserted.data!.id],
      )
    ).rows;
    expect(row).toEqual({ fresh: true, same: true });
    await expectCreatedAtKept(inserted.data!.id);
    const event = await running.stack.service.from("story_task_events").insert({ task_id: inserted.data!.id, event_type: "info", message: "backdated?", created_at: "1999-01-01T00:00:00Z" }).select().single();
    expect(event.error).toBeNull();
    const [stored] = (await running.stack.query<{ fresh: boolean }>("SELECT created_at > now() - interval '1 hour' AS fresh FROM public.story_task_events WHERE id = $1", [event.data!.id])).rows;
    expect(stored).toEqual({ fresh: true });
  });

  /** An update's created_at is replaced by the stored one. */
  async function expectCreatedAtKept(taskId: string): Promise<void> {
    const before = (await repo.getTask(taskId)).createdAt;
    const { error } = await tasks().update({ created_at: "2000-01-01T00:00:00Z", display_fields: { title: "touched" } }).eq("id", taskId);
    expect(error).toBeNull();
    expect((await repo.getTask(taskId)).createdAt).toBe(before);
  }

  it("deleting its story or its requester still nulls a final task's story_id and requested_by (the foreign keys' ON DELETE SET NULL)", async () => {
    const storyId = await insertStory(running.stack);
    const requestedBy = await insertUser(running.stack);
    const task = await logTaskStart(repo, { operation: "CREATE_STORY", storyId, requestedBy });
    await logTaskCompletion(repo, task.id, "failed");
    await running.stack.query("DELETE FROM public.stories WHERE id = $1", [storyId]);
    await running.stack.query("DELETE FROM auth.users WHERE id = $1", [requestedBy]);
    expect(await repo.getTask(task.id)).toMatchObject({ storyId: null, requestedBy: null, status: "failed" });
  });
});
