// The repository end to end: supabase-js -> a real PostgREST -> PostgreSQL, the same suite on
// the PostgreSQL server and on the embedded PGlite.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StoryTaskStatus } from "../../generated/records.ts";
import {
  StoryTaskForeignKeyError,
  StoryTaskNotFoundError,
  StoryTaskTransitionError,
  StoryTaskValidationError,
  StoryTaskError,
  type StoryTasksRepository,
  createStoryTasksRepository,
} from "../../src/repository/index.ts";
import { type TestStack, expectRefusedUnchanged, insertStory, insertUser, stacks, tableState } from "../support/stacks.ts";
import { pathTo, terminalStatuses, transitionPairs } from "../support/status-machine.ts";

describe.each(stacks)("story-task repository on $name", ({ start }) => {
  let running: TestStack;
  let repo: StoryTasksRepository;

  beforeAll(async () => {
    running = await start("repository");
    repo = createStoryTasksRepository(running.stack.service);
  });
  afterAll(async () => {
    await running?.stop();
  });

  const refused = <E extends Error>(call: () => Promise<unknown>, type: new (...args: never[]) => E) => expectRefusedUnchanged(running.stack, call, type);

  describe("success paths, read back", () => {
    it("createTask with only an operation, then getTask", async () => {
      const task = await repo.createTask({ operation: "CREATE_CONSTITUTION" });
      expect(task).toMatchObject({ operation: "CREATE_CONSTITUTION", status: "queued", progress: 0, payload: {}, storyId: null, startedAt: null, finishedAt: null });
      expect(await repo.getTask(task.id)).toEqual(task);
    });

    it("createTask with every field, running", async () => {
      const storyId = await insertStory(running.stack);
      const userId = await insertUser(running.stack);
      const payload = { scenelets: ["s1", "s2"], options: { style: "aquarelle — «douce» 🎨", seed: 42, ratio: 1.5, draft: false, notes: null } };
      const task = await repo.createTask({
        storyId,
        operation: "CREATE_SHOT_IMAGES",
        status: "running",
        progress: 10,
        payload,
        requestedBy: userId,
        displayFields: { title: "Shot images", description: "12 scenelets" },
      });
      expect(task).toMatchObject({ storyId, requestedBy: userId, status: "running", progress: 10, payload, displayFields: { title: "Shot images", description: "12 scenelets" } });
      expect(task.startedAt).not.toBeNull();
      const stored = await running.stack.query<{ payload: unknown; story_id: string }>("SELECT payload, story_id FROM public.story_tasks WHERE id = $1", [task.id]);
      expect(stored.rows[0]).toEqual({ payload, story_id: storyId });
      expect(await repo.getTask(task.id)).toEqual(task);
    });

    it("appendEvent, and listEvents in append order both ways", async () => {
      const task = await repo.createTask({ operation: "CREATE_AUDIO_DESIGN", status: "running" });
      const first = await repo.appendEvent(task.id, { eventType: "info", message: "Started" });
      const second = await repo.appendEvent(task.id, { eventType: "chat_message", message: "**Bonjour**", payload: { delta: "Bon" } });
      const third = await repo.appendEvent(task.id, { eventType: "error", message: "Retrying after a timeout" });
      expect(first).toMatchObject({ taskId: task.id, eventType: "info", message: "Started", payload: null, progressOverride: null });
      expect((await repo.listEvents(task.id)).map((event) => event.id)).toEqual([first.id, second.id, third.id]);
      expect((await repo.listEvents(task.id, { newestFirst: true, limit: 2 })).map((event) => event.id)).toEqual([third.id, second.id]);
      expect(await repo.listEvents(randomUUID())).toEqual([]);
    });

    it("appendEvent with a progressOverride moves the task's progress in the same call", async () => {
      const task = await repo.createTask({ operation: "CREATE_SHOT_VIDEO", status: "running" });
      const event = await repo.appendEvent(task.id, { eventType: "progress", message: "Shot 6 of 12", progressOverride: 50 });
      expect(event.progressOverride).toBe(50);
      expect((await repo.getTask(task.id)).progress).toBe(50);
    });

    it("updateStatus with progress and its explaining event", async () => {
      const task = await repo.createTask({ operation: "CREATE_PLAYER_BUNDLE" });
      const started = await repo.updateStatus(task.id, { status: "running", progress: 5, event: { message: "Picked up by a worker" } });
      expect(started).toMatchObject({ status: "running", progress: 5 });
      expect(started.startedAt).not.toBeNull();
      const done = await repo.updateStatus(task.id, { status: "succeeded", event: { message: "Bundle ready", payload: { bytes: 1048576 } } });
      expect(done).toMatchObject({ status: "succeeded", progress: 100 });
      expect(done.finishedAt).not.toBeNull();
      const events = await repo.listEvents(task.id);
      expect(events.map((event) => [event.eventType, event.message, event.payload])).toEqual([
        ["info", "Picked up by a worker", null],
        ["info", "Bundle ready", { bytes: 1048576 }],
      ]);
    });

    it("listRecentByStory: the story's tasks, newest first, limited", async () => {
      const storyId = await insertStory(running.stack);
      const otherStory = await insertStory(running.stack);
      const created = [];
      for (const operation of ["CREATE_CONSTITUTION", "CREATE_INTERACTIVE_SCRIPT", "CREATE_VISUAL_DESIGN"] as const) {
        // "Newest" is created_at, whose clock moves in milliseconds on PGlite: let it move on between two tasks.
        if (created.length > 0) await running.stack.query("SELECT pg_sleep(0.001)");
        created.push(await repo.createTask({ storyId, operation }));
      }
      await repo.createTask({ storyId: otherStory, operation: "CREATE_STORY" });
      const recent = await repo.listRecentByStory(storyId);
      expect(recent.map((task) => task.id)).toEqual(created.map((task) => task.id).reverse());
      expect((await repo.listRecentByStory(storyId, 2)).map((task) => task.operation)).toEqual(["CREATE_VISUAL_DESIGN", "CREATE_INTERACTIVE_SCRIPT"]);
    });
  });

  describe("validation, before any request", () => {
    const nan = Number.NaN;
    const cases: [string, (repo: StoryTasksRepository, taskId: string) => Promise<unknown>, string, RegExp][] = [
      ["an unknown operation", (r) => r.createTask({ operation: "WRITE_POEM" as never }), "operation", /must be one of CREATE_CONSTITUTION/],
      ["an unknown status", (r) => r.createTask({ operation: "CREATE_STORY", status: "paused" as never }), "status", /must be one of queued, running/],
      ["progress 101", (r) => r.createTask({ operation: "CREATE_STORY", progress: 101 }), "progress", /integer from 0 to 100/],
      ["progress -1", (r) => r.createTask({ operation: "CREATE_STORY", progress: -1 }), "progress", /integer from 0 to 100/],
      ["progress 2.5", (r) => r.createTask({ operation: "CREATE_STORY", progress: 2.5 }), "progress", /integer from 0 to 100/],
      ["a malformed story id", (r) => r.createTask({ operation: "CREATE_STORY", storyId: "story-42" }), "storyId", /UUID/],
      ["a malformed user id", (r) => r.createTask({ operation: "CREATE_STORY", requestedBy: "42" }), "requestedBy", /UUID/],
      ["a NaN in the payload", (r) => r.createTask({ operation: "CREATE_STORY", payload: { seed: nan } }), "payload", /NaN at \$\.seed/],
      ["a NUL in the payload", (r) => r.createTask({ operation: "CREATE_STORY", payload: { text: "a\u0000" } }), "payload", /NUL/],
      ["a Date in display fields", (r) => r.createTask({ operation: "CREATE_STORY", displayFields: { at: new Date() as never } }), "displayFields", /Date/],
      ["an unknown field", (r) => r.createTask({ operation: "CREATE_STORY", colour: "red" } as never), "colour", /not a known field/],
      ["a malformed task id", (r) => r.appendEvent("task-1", { eventType: "info", message: "x" }), "taskId", /UUID/],
      ["an unknown event type", (r, id) => r.appendEvent(id, { eventType: "debug" as never, message: "x" }), "eventType", /must be one of info, progress, error, chat_message/],
      ["an empty message", (r, id) => r.appendEvent(id, { eventType: "info", message: "" }), "message", /must not be empty/],
      ["a NUL in a message", (r, id) => r.appendEvent(id, { eventType: "info", message: "a\u0000b" }), "message", /NUL/],
      ["progressOverride 101", (r, id) => r.appendEvent(id, { eventType: "progress", message: "x", progressOverride: 101 }), "progressOverride", /0 to 100/],
      ["an unknown status in a patch", (r, id) => r.updateStatus(id, { status: "done" as never }), "status", /must be one of/],
      ["progress 101 in a patch", (r, id) => r.updateStatus(id, { status: "running", progress: 101 }), "progress", /0 to 100/],
      ["an empty event message in a patch", (r, id) => r.updateStatus(id, { status: "running", event: { message: "" } }), "event.message", /must not be empty/],
      ["a malformed story id to list", (r) => r.listRecentByStory("nope"), "storyId", /UUID/],
      ["a list limit of 0", (r) => r.listRecentByStory(randomUUID(), 0), "limit", /1 to 1000/],
      ["an events limit of 1001", (r, id) => r.listEvents(id, { limit: 1001 }), "limit", /1 to 1000/],
      ["a malformed id to get", (r) => r.getTask("1"), "taskId", /UUID/],
    ];
    it.each(cases)("refuses %s, naming the field and rule, with nothing written", async (_, call, field, rule) => {
      const task = await repo.createTask({ operation: "CREATE_SHOT_AUDIO", status: "running", progress: 20 });
      const error = await refused(() => call(repo, task.id), StoryTaskValidationError);
      expect(error.issues).toContainEqual({ field, rule: expect.stringMatching(rule) });
      expect(error.message).toContain(field);
      expect(error.cause).toBeUndefined(); // refused here: no PostgREST error behind it
    });
  });

  describe("references and missing rows", () => {
    it("an unknown story is a StoryTaskForeignKeyError naming the story", async () => {
      const storyId = randomUUID();
      const error = await refused(() => repo.createTask({ storyId, operation: "CREATE_STORY" }), StoryTaskForeignKeyError);
      expect(error).toMatchObject({ reference: "story", field: "storyId", code: "23503" });
      expect(error.message).toBe(`Unknown story: storyId ${storyId} does not exist`);
      expect(error.cause).toMatchObject({ code: "23503" });
    });
    it("an unknown requesting user is a StoryTaskForeignKeyError naming the user", async () => {
      const error = await refused(() => repo.createTask({ requestedBy: randomUUID(), operation: "CREATE_STORY" }), StoryTaskForeignKeyError);
      expect(error).toMatchObject({ reference: "requestingUser", field: "requestedBy" });
    });
    it("an event for an unknown task is a StoryTaskForeignKeyError naming the task", async () => {
      const error = await refused(() => repo.appendEvent(randomUUID(), { eventType: "info", message: "orphan" }), StoryTaskForeignKeyError);
      expect(error).toMatchObject({ reference: "task", field: "taskId" });
    });
    it("getTask and updateStatus of an unknown task are StoryTaskNotFoundError", async () => {
      const taskId = randomUUID();
      expect(await refused(() => repo.getTask(taskId), StoryTaskNotFoundError)).toMatchObject({ taskId, message: `Story task ${taskId} not found` });
      const viaUpdate = await refused(() => repo.updateStatus(taskId, { status: "running", event: { message: "x" } }), StoryTaskNotFoundError);
      expect(viaUpdate).toMatchObject({ taskId, code: "ST404" });
    });
  });

  describe("status transitions through the repository", () => {
    async function taskIn(status: StoryTaskStatus) {
      let task = await repo.createTask({ operation: "RUN_WORKFLOW_TASK" });
      for (const step of pathTo[status]) task = await repo.updateStatus(task.id, { status: step, progress: step === "running" ? 40 : undefined });
      return task;
    }
    const pairs = transitionPairs;

    it.each(pairs.filter((pair) => pair.ok))("$from -> $to is allowed", async ({ from, to }) => {
      const before = await taskIn(from);
      const after = await repo.updateStatus(before.id, { status: to, event: { message: `${from} to ${to}` } });
      expect(after.status).toBe(to);
      expect(after.finishedAt !== null).toBe(terminalStatuses.includes(to));
      expect((await repo.listEvents(before.id)).at(-1)?.message).toBe(`${from} to ${to}`);
    });

    it.each(pairs.filter((pair) => !pair.ok))("$from -> $to is a StoryTaskTransitionError, and changes nothing", async ({ from, to }) => {
      const before = await taskIn(from);
      const error = await refused(() => repo.updateStatus(before.id, { status: to, event: { message: "should not be stored" } }), StoryTaskTransitionError);
      expect(error).toMatchObject({ from, to, code: "ST001" });
      expect(error.message).toContain(from);
      expect(await repo.getTask(before.id)).toEqual(before);
    });

    it("progress never goes backwards while running", async () => {
      const task = await taskIn("running");
      await repo.appendEvent(task.id, { eventType: "progress", message: "70%", progressOverride: 70 });
      expect((await repo.updateStatus(task.id, { status: "running", progress: 20 })).progress).toBe(70);
      await repo.appendEvent(task.id, { eventType: "progress", message: "late 30%", progressOverride: 30 });
      expect((await repo.getTask(task.id)).progress).toBe(70);
    });

    it("a finished task takes no more progress: the event is refused with it", async () => {
      const task = await taskIn("failed");
      const error = await refused(
        () => repo.appendEvent(task.id, { eventType: "progress", message: "too late", progressOverride: 90 }),
        StoryTaskTransitionError,
      );
      expect(error).toMatchObject({ from: "failed", to: "failed" });
      await repo.appendEvent(task.id, { eventType: "info", message: "a note after the end is fine" });
    });
  });

  describe("concurrency", () => {
    it("50 concurrent appendEvent calls with progress: 50 events, a stable order, the highest progress", async () => {
      const task = await repo.createTask({ operation: "CREATE_SHOT_IMAGES", status: "running" });
      const reports = Array.from({ length: 50 }, (_, i) => ((i * 37) % 50) + 1); // 1..50, shuffled
      const events = await Promise.all(reports.map((progress) => repo.appendEvent(task.id, { eventType: "progress", message: `at ${progress}`, progressOverride: progress })));
      const listed = await repo.listEvents(task.id, { limit: 100 });
      expect(listed).toHaveLength(50);
      expect(new Set(listed.map((event) => event.message))).toEqual(new Set(reports.map((progress) => `at ${progress}`)));
      const seqs = listed.map((event) => event.seq);
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
      expect(new Set(seqs).size).toBe(50);
      expect((await repo.listEvents(task.id, { limit: 100 })).map((event) => event.id)).toEqual(listed.map((event) => event.id));
      expect(new Set(events.map((event) => event.id))).toEqual(new Set(listed.map((event) => event.id)));
      expect((await repo.getTask(task.id)).progress).toBe(50);
    });
  });

  describe("row-level security through PostgREST", () => {
    let alice: string;
    let bob: string;
    let aliceTask: string;
    let bobTask: string;

    beforeAll(async () => {
      alice = await insertUser(running.stack);
      bob = await insertUser(running.stack);
      aliceTask = (await repo.createTask({ operation: "CREATE_STORY", requestedBy: alice })).id;
      bobTask = (await repo.createTask({ operation: "CREATE_STORY", requestedBy: bob })).id;
      await repo.appendEvent(aliceTask, { eventType: "info", message: "alice's" });
      await repo.appendEvent(bobTask, { eventType: "info", message: "bob's" });
    });

    it("anon reads and changes nothing", async () => {
      const read = await running.stack.anon.from("story_tasks").select();
      expect(read.error?.code).toBe("42501");
      const events = await running.stack.anon.from("story_task_events").select();
      expect(events.error?.code).toBe("42501");
      const before = await tableState(running.stack);
      const anonRepo = createStoryTasksRepository(running.stack.anon);
      await expect(anonRepo.createTask({ operation: "CREATE_STORY" })).rejects.toBeInstanceOf(StoryTaskError);
      await expect(anonRepo.appendEvent(aliceTask, { eventType: "info", message: "x" })).rejects.toBeInstanceOf(StoryTaskError);
      expect(await tableState(running.stack)).toEqual(before);
    });

    it("an authenticated user sees only the tasks they requested, and those tasks' events", async () => {
      const asAlice = createStoryTasksRepository(running.stack.asUser(alice));
      const tasks = await running.stack.asUser(alice).from("story_tasks").select("id");
      expect(tasks.data?.map((row) => row.id)).toEqual([aliceTask]);
      expect((await asAlice.listEvents(aliceTask)).map((event) => event.message)).toEqual(["alice's"]);
      expect(await asAlice.listEvents(bobTask)).toEqual([]);
      await expect(asAlice.getTask(bobTask)).rejects.toBeInstanceOf(StoryTaskNotFoundError);
      expect((await asAlice.getTask(aliceTask)).requestedBy).toBe(alice);
    });

    it("an authenticated user cannot write, not even to their own task", async () => {
      const before = await tableState(running.stack);
      const asAlice = createStoryTasksRepository(running.stack.asUser(alice));
      await expect(asAlice.createTask({ operation: "CREATE_STORY", requestedBy: alice })).rejects.toBeInstanceOf(StoryTaskError);
      await expect(asAlice.updateStatus(aliceTask, { status: "cancelled" })).rejects.toBeInstanceOf(StoryTaskError);
      await expect(asAlice.appendEvent(aliceTask, { eventType: "info", message: "x" })).rejects.toBeInstanceOf(StoryTaskError);
      expect(await tableState(running.stack)).toEqual(before);
    });

    it("service_role sees every task", async () => {
      const all = await running.stack.service.from("story_tasks").select("id").in("id", [aliceTask, bobTask]);
      expect(new Set(all.data?.map((row) => row.id))).toEqual(new Set([aliceTask, bobTask]));
    });
  });
});
