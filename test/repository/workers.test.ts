// What a worker that retries, runs twice or crashes needs of the repository, on both stacks:
// writes identified by the caller's ids (a retry stores nothing twice), guarded transitions
// (claims), batch appends, rescuing the tasks of dead workers, and retention.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  StoryTaskConflictError,
  StoryTaskTransitionError,
  StoryTaskValidationError,
  type StoryTasksRepository,
  createStoryTasksRepository,
} from "../../src/repository/index.ts";
import { logTaskCompletion, logTaskStart } from "../../src/task-logging/index.ts";
import { interceptedRepository } from "../support/intercepted.ts";
import { type TestStack, expectRefusedUnchanged, insertStory, stacks, tableState } from "../support/stacks.ts";

describe.each(stacks)("workers on $name", ({ start }) => {
  let running: TestStack;
  let repo: StoryTasksRepository;

  beforeAll(async () => {
    running = await start("workers");
    repo = createStoryTasksRepository(running.stack.service);
  });
  afterAll(async () => {
    await running?.stop();
  });

  const refused = <E extends Error>(call: () => Promise<unknown>, type: new (...args: never[]) => E) => expectRefusedUnchanged(running.stack, call, type);

  describe("createTask with an id", () => {
    it("a retry with the same content returns the stored task and writes nothing", async () => {
      const id = randomUUID();
      const storyId = await insertStory(running.stack);
      const input = { id, storyId, operation: "CREATE_SHOT_IMAGES", payload: { shots: 12 } } as const;
      const created = await repo.createTask(input, { event: { eventType: "info", message: "Queued by the API" } });
      expect(created).toMatchObject({ id, storyId, status: "queued" });
      const before = await tableState(running.stack);
      expect(await repo.createTask(input, { event: { eventType: "info", message: "Queued by the API" } })).toEqual(created);
      expect(await tableState(running.stack)).toEqual(before);
      expect((await repo.listEvents(id)).map((event) => event.message)).toEqual(["Queued by the API"]);
    });

    it("comes back as it is now, even after it moved on", async () => {
      const id = randomUUID();
      await repo.createTask({ id, operation: "CREATE_STORY" });
      const started = await repo.updateStatus(id, { status: "running", progress: 30 });
      expect(await repo.createTask({ id, operation: "CREATE_STORY" })).toEqual(started);
    });

    it("the same id with other content is a StoryTaskConflictError naming the id and the fields, and changes nothing", async () => {
      const id = randomUUID();
      await repo.createTask({ id, operation: "CREATE_STORY", payload: { title: "A" } });
      const error = await refused(() => repo.createTask({ id, operation: "RENAME_STORY", payload: { title: "B" } }), StoryTaskConflictError);
      expect(error).toMatchObject({ id, fields: ["operation", "payload"], retryable: false, code: "ST409" });
      expect(error.message).toContain(id);
    });

    it("a retry that leaves out a field it first sent asks for that field's default, which is other content", async () => {
      const id = randomUUID();
      const storyId = await insertStory(running.stack);
      await repo.createTask({ id, storyId, operation: "CREATE_STORY", payload: { title: "A" } });
      const error = await refused(() => repo.createTask({ id, operation: "CREATE_STORY" }), StoryTaskConflictError);
      expect(error).toMatchObject({ id, fields: ["payload", "storyId"] });
      const bare = randomUUID();
      const created = await repo.createTask({ id: bare, operation: "CREATE_STORY" });
      expect(await repo.createTask({ id: bare, operation: "CREATE_STORY", payload: {}, storyId: null })).toEqual(created);
    });
  });

  describe("appendEvent and appendEvents with ids", () => {
    it("a retried event is stored once, and its progress applied once", async () => {
      const task = await repo.createTask({ operation: "CREATE_SHOT_VIDEO", status: "running" });
      const event = { id: randomUUID(), eventType: "progress", message: "Shot 3", progressOverride: 25 } as const;
      const first = await repo.appendEvent(task.id, event);
      await repo.appendEvent(task.id, { eventType: "progress", message: "Shot 4", progressOverride: 30 });
      expect(await repo.appendEvent(task.id, event)).toEqual(first);
      expect((await repo.listEvents(task.id)).map((stored) => stored.message)).toEqual(["Shot 3", "Shot 4"]);
      expect((await repo.getTask(task.id)).progress).toBe(30);
    });

    it("an event id stored with other content is a StoryTaskConflictError", async () => {
      const task = await repo.createTask({ operation: "CREATE_SHOT_VIDEO", status: "running" });
      const id = randomUUID();
      await repo.appendEvent(task.id, { id, eventType: "info", message: "one" });
      const error = await refused(() => repo.appendEvent(task.id, { id, eventType: "error", message: "two" }), StoryTaskConflictError);
      expect(error).toMatchObject({ id, fields: ["eventType", "message"] });
    });

    it("appendEvents stores 1,000 events in the order given, in one round trip, the progress at the highest override", async () => {
      const task = await repo.createTask({ operation: "CONSTITUTION_CHAT_UPDATE", status: "running" });
      let requests = 0;
      const counted = interceptedRepository(running.stack);
      counted.intercept((forward) => {
        requests += 1;
        return forward();
      });
      const events = Array.from({ length: 1000 }, (_, i) =>
        i % 100 === 0 ? { eventType: "progress" as const, message: `step ${i}`, progressOverride: Math.round(i / 20) } : { eventType: "chat_message" as const, message: `delta ${i}`, payload: { i } },
      );
      const stored = await counted.repo.appendEvents(task.id, events);
      expect(requests).toBe(1);
      expect(stored.map((event) => event.message)).toEqual(events.map((event) => event.message));
      const seqs = stored.map((event) => event.seq);
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
      expect((await repo.listEvents(task.id, { limit: 1000 })).map((event) => event.id)).toEqual(stored.map((event) => event.id));
      expect((await repo.getTask(task.id)).progress).toBe(45);
    });

    it("a retried batch is stored once; new events in it are appended", async () => {
      const task = await repo.createTask({ operation: "CREATE_SHOT_AUDIO", status: "running" });
      const batch = [1, 2, 3].map((n) => ({ id: randomUUID(), eventType: "progress" as const, message: `voice ${n}`, progressOverride: n * 10 }));
      const first = await repo.appendEvents(task.id, batch);
      const again = await repo.appendEvents(task.id, [...batch, { eventType: "info", message: "voices mixed" }]);
      expect(again.slice(0, 3)).toEqual(first);
      expect((await repo.listEvents(task.id)).map((event) => event.message)).toEqual(["voice 1", "voice 2", "voice 3", "voices mixed"]);
      expect((await repo.getTask(task.id)).progress).toBe(30);
    });

    it("the same batch sent twice at once (a retry racing the original) is stored once, and both calls succeed", async () => {
      const task = await repo.createTask({ operation: "CREATE_SHOT_AUDIO", status: "running" });
      const batch = Array.from({ length: 200 }, (_, n) => ({ id: randomUUID(), eventType: "chat_message" as const, message: `delta ${n}` }));
      const racers = [createStoryTasksRepository(running.stack.client(running.stack.serviceRoleKey)), createStoryTasksRepository(running.stack.client(running.stack.serviceRoleKey))];
      for (let round = 0; round < 5; round++) {
        const events = batch.map((event) => ({ ...event, id: randomUUID(), message: `${event.message} r${round}` }));
        const [first, second] = await Promise.all(racers.map((racer) => racer.appendEvents(task.id, events)));
        expect(second).toEqual(first);
        expect(first!.map((event) => event.message)).toEqual(events.map((event) => event.message));
      }
      expect((await repo.listEvents(task.id, { limit: 1000 })).length).toBe(1000);
    });

    it("validates every event before anything is sent, naming the event and the field", async () => {
      const task = await repo.createTask({ operation: "CREATE_SHOT_AUDIO", status: "running" });
      const id = randomUUID();
      const cases: [string, unknown[], string][] = [
        ["an empty message", [{ eventType: "info", message: "fine" }, { eventType: "info", message: "" }], "events.1.message"],
        ["a progress of 101", [{ eventType: "progress", message: "x", progressOverride: 101 }], "events.0.progressOverride"],
        ["an id twice", [{ id, eventType: "info", message: "a" }, { id, eventType: "info", message: "b" }], "events.1.id"],
        ["no events", [], "events"],
        ["1,001 events", Array.from({ length: 1001 }, () => ({ eventType: "info", message: "x" })), "events"],
      ];
      for (const [label, events, field] of cases) {
        const error = await refused(() => repo.appendEvents(task.id, events as never), StoryTaskValidationError);
        expect(error.issues.map((issue) => issue.field), label).toContain(field);
        expect(error.cause, label).toBeUndefined();
      }
    });
  });

  describe("guarded transitions", () => {
    it("with expectedStatus, a task in another status is a StoryTaskTransitionError from the status it has, and nothing changes", async () => {
      const task = await repo.createTask({ operation: "RUN_WORKFLOW_TASK" });
      await repo.updateStatus(task.id, { status: "cancelled" });
      const error = await refused(() => repo.updateStatus(task.id, { status: "running", expectedStatus: "queued", event: { message: "claimed" } }), StoryTaskTransitionError);
      expect(error).toMatchObject({ from: "cancelled", to: "running", retryable: false });
    });

    it("a retried completion returns the task unchanged and writes no second event", async () => {
      const task = await logTaskStart(repo, { operation: "CREATE_PLAYER_BUNDLE" });
      const done = await logTaskCompletion(repo, task.id, "succeeded", { message: "Bundle ready" });
      const before = await tableState(running.stack);
      expect(await logTaskCompletion(repo, task.id, "succeeded", { message: "Bundle ready" })).toEqual(done);
      expect(await tableState(running.stack)).toEqual(before);
      await expect(logTaskCompletion(repo, task.id, "failed")).rejects.toBeInstanceOf(StoryTaskTransitionError);
    });

    it("a retried change whose event id is stored changes nothing, even once its expectedStatus no longer holds", async () => {
      const task = await repo.createTask({ operation: "CREATE_STORY" });
      const claim = { status: "running", expectedStatus: "queued", event: { id: randomUUID(), message: "Picked up by worker 1" } } as const;
      const claimed = await repo.updateStatus(task.id, claim);
      expect(await repo.updateStatus(task.id, claim)).toEqual(claimed);
      expect((await repo.listEvents(task.id)).map((event) => event.message)).toEqual(["Picked up by worker 1"]);
    });

    it("a retried claim racing its original (the same event id, at once) succeeds with it, 20 rounds over", async () => {
      const racers = [createStoryTasksRepository(running.stack.client(running.stack.serviceRoleKey)), createStoryTasksRepository(running.stack.client(running.stack.serviceRoleKey))];
      for (let round = 0; round < 20; round++) {
        const task = await repo.createTask({ operation: "RUN_WORKFLOW_TASK" });
        const claim = { status: "running", expectedStatus: "queued", event: { id: randomUUID(), message: "Picked up" } } as const;
        const [original, retry] = await Promise.all(racers.map((racer) => racer.updateStatus(task.id, claim)));
        expect(retry).toEqual(original);
        expect(original).toMatchObject({ status: "running" });
        expect((await repo.listEvents(task.id)).map((event) => event.message)).toEqual(["Picked up"]);
      }
    });

    it("of two workers claiming the same queued task at once, exactly one wins, 100 rounds over", async () => {
      const workers = [createStoryTasksRepository(running.stack.client(running.stack.serviceRoleKey)), createStoryTasksRepository(running.stack.client(running.stack.serviceRoleKey))];
      const tasks = await Promise.all(Array.from({ length: 100 }, () => repo.createTask({ operation: "RUN_WORKFLOW_TASK" })));
      let wins = [0, 0];
      for (const task of tasks) {
        const outcomes = await Promise.allSettled(workers.map((worker, n) => worker.updateStatus(task.id, { status: "running", expectedStatus: "queued", event: { message: `started by worker ${n}` } })));
        expect(outcomes.filter((outcome) => outcome.status === "fulfilled")).toHaveLength(1);
        const lost = outcomes.find((outcome) => outcome.status === "rejected");
        expect(lost?.reason).toBeInstanceOf(StoryTaskTransitionError);
        expect(lost?.reason).toMatchObject({ from: "running", to: "running" });
        wins = wins.map((count, n) => count + (outcomes[n]!.status === "fulfilled" ? 1 : 0));
      }
      const started = await running.stack.query<{ task_id: string; n: number }>(
        "SELECT task_id, count(*)::int AS n FROM public.story_task_events WHERE task_id = ANY($1::uuid[]) AND message LIKE 'started by worker %' GROUP BY task_id",
        [tasks.map((task) => task.id)],
      );
      expect(started.rows).toHaveLength(100);
      expect(started.rows.every((row) => row.n === 1)).toBe(true);
      expect(wins[0]! + wins[1]!).toBe(100);
    });
  });

  describe("rescueStaleTasks", () => {
    it("from 4 clients at once, fails the 50 stale running tasks exactly once each and leaves the 50 live ones alone", async () => {
      const stale = await Promise.all(Array.from({ length: 50 }, (_, i) => repo.createTask({ operation: "CREATE_SHOT_IMAGES", status: "running", progress: i })));
      const live = await Promise.all(Array.from({ length: 50 }, () => repo.createTask({ operation: "CREATE_SHOT_IMAGES", status: "running" })));
      await Promise.all(stale.slice(0, 25).map((task) => repo.appendEvent(task.id, { eventType: "info", message: "last words" })));
      // Silent for an hour: the clock the triggers keep is set back, as a superuser can.
      await running.admin(`
        SET LOCAL session_replication_role = replica;
        UPDATE public.story_tasks SET updated_at = now() - interval '1 hour', started_at = now() - interval '2 hours' WHERE id = ANY('{${stale.map((task) => task.id).join(",")}}'::uuid[]);
        UPDATE public.story_task_events SET created_at = now() - interval '1 hour' WHERE task_id = ANY('{${stale.map((task) => task.id).join(",")}}'::uuid[]);`);
      const clients = Array.from({ length: 4 }, () => createStoryTasksRepository(running.stack.client(running.stack.serviceRoleKey)));
      const rescued = (await Promise.all(clients.map((client) => client.rescueStaleTasks({ staleAfterMs: 15 * 60_000 })))).flat();
      // Other files' tasks are not on this database; this file's earlier running tasks are fresh.
      expect(rescued.map((task) => task.id).sort()).toEqual(stale.map((task) => task.id).sort());
      expect(rescued.every((task) => task.status === "failed" && task.finishedAt !== null)).toBe(true);
      for (const task of stale) {
        const errors = (await repo.listEvents(task.id)).filter((event) => event.eventType === "error");
        expect(errors).toHaveLength(1);
        expect(errors[0]!.message).toMatch(/^No activity for 01:00:\d\d: the worker is presumed dead$/);
        expect(errors[0]!.payload).toMatchObject({ silentForMs: expect.any(Number) });
      }
      for (const task of live) expect(await repo.getTask(task.id)).toEqual(task);
      expect(await repo.rescueStaleTasks({ staleAfterMs: 15 * 60_000 })).toEqual([]);
    });

    it("refuses a staleAfterMs that is not a positive integer before sending anything", async () => {
      for (const staleAfterMs of [0, -1, 1.5, Number.NaN]) {
        const error = await refused(() => repo.rescueStaleTasks({ staleAfterMs }), StoryTaskValidationError);
        expect(error.issues[0]?.field).toBe("staleAfterMs");
      }
    });
  });

  describe("pruneFinishedTasks", () => {
    it("deletes 10,000 finished tasks and their events in batches, and leaves running and recent tasks alone", async () => {
      const keep = [await repo.createTask({ operation: "CREATE_STORY", status: "running" }), await logTaskStart(repo, { operation: "CREATE_STORY" })];
      await logTaskCompletion(repo, keep[1]!.id, "succeeded");
      await running.admin(`
        SET LOCAL session_replication_role = replica;
        WITH old AS (
          INSERT INTO public.story_tasks (operation, status, progress, started_at, finished_at)
          SELECT 'CREATE_STORY', 'succeeded', 100, now() - interval '41 days', now() - interval '40 days' - g * interval '1 second'
          FROM generate_series(1, 10000) AS g
          RETURNING id
        )
        INSERT INTO public.story_task_events (task_id, event_type, message)
        SELECT id, 'info', message FROM old, unnest(ARRAY['Started', 'Succeeded']) AS message;
        INSERT INTO public.story_task_events (task_id, event_type, message) VALUES ('${keep[0]!.id}', 'info', 'still going');`);
      const before = await tableState(running.stack);
      const report = await repo.pruneFinishedTasks({ finishedBefore: new Date(Date.now() - 30 * 24 * 3600 * 1000), batchSize: 1000 });
      expect(report).toEqual({ tasks: 10_000, events: 20_000, batches: 11 });
      const after = await tableState(running.stack);
      expect({ tasks: after.tasks, events: after.events }).toEqual({ tasks: before.tasks - 10_000, events: before.events - 20_000 });
      for (const task of keep) await repo.getTask(task.id);
      expect((await repo.listEvents(keep[0]!.id)).map((event) => event.message)).toEqual(["still going"]);
    });

    it("refuses a bad date or batch size before sending anything", async () => {
      await refused(() => repo.pruneFinishedTasks({ finishedBefore: new Date("not a date") }), StoryTaskValidationError);
      await refused(() => repo.pruneFinishedTasks({ finishedBefore: new Date(), batchSize: 0 }), StoryTaskValidationError);
    });
  });

  describe("logTaskStart", () => {
    it("is one round trip, and with an id, starting again (a redelivered job) returns the same task and writes nothing", async () => {
      let requests = 0;
      const counted = interceptedRepository(running.stack);
      counted.intercept((forward) => {
        requests += 1;
        return forward();
      });
      const id = randomUUID();
      const task = await logTaskStart(counted.repo, { id, operation: "CREATE_CONSTITUTION", payload: { draft: 1 } });
      expect(requests).toBe(1);
      expect(task).toMatchObject({ id, status: "running" });
      expect((await repo.listEvents(id)).map((event) => event.message)).toEqual(["Started CREATE_CONSTITUTION"]);
      const before = await tableState(running.stack);
      expect(await logTaskStart(counted.repo, { id, operation: "CREATE_CONSTITUTION", payload: { draft: 1 } })).toEqual(task);
      expect(await tableState(running.stack)).toEqual(before);
    });
  });
});
