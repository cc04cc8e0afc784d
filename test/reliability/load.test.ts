// 200 concurrent operations over 20 tasks, on both stacks: appendEvent with and without a
// progress, updateStatus to any status (the status machine refuses some), getTask and
// listEvents, all started at once. Only refused transitions may fail; every resolved write is
// stored once, no refused one at all, and every task ends in a state the status machine allows.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StoryTaskEventRecord, StoryTaskRecord } from "../../generated/records.ts";
import { StoryTaskTransitionError, type StoryTasksRepository, createStoryTasksRepository } from "../../src/repository/index.ts";
import { type TestStack, stacks } from "../support/stacks.ts";
import { type Outcome, countBy, createTasks, describeError, planWrites, report, seededRandom, settleWithin, storedState, verifyHistories } from "./helpers.ts";
import { isFinalStatus } from "../../generated/status-machine.ts";

const hangMs = 30_000;

describe.each(stacks)("200 concurrent operations on $name", ({ start }) => {
  let running: TestStack;
  let repo: StoryTasksRepository;

  beforeAll(async () => {
    running = await start("reliability_load");
    repo = createStoryTasksRepository(running.stack.service);
  });
  afterAll(async () => {
    await running?.stop();
  });

  it("all complete; only refused transitions fail; resolved events stored once, refused ones never; final states follow the status machine", async () => {
    const { stack } = running;
    const tasks = await createTasks(repo, 20);
    // 150 writes (about a third of them updateStatus) and 50 reads, interleaved in a seeded order.
    const writes = planWrites("load", tasks, 150, { status: 0.3, plain: 0.3 }, 42);
    const random = seededRandom(7);
    const reads = Array.from({ length: 50 }, (_, index) => {
      const taskId = tasks[Math.floor(random() * tasks.length)]!.id;
      const newestFirst = index % 4 === 0;
      const outcome = undefined as Outcome<unknown> | undefined;
      return index % 2
        ? { kind: "getTask" as const, taskId, newestFirst, run: (): Promise<unknown> => repo.getTask(taskId), outcome }
        : { kind: "listEvents" as const, taskId, newestFirst, run: (): Promise<unknown> => repo.listEvents(taskId, { limit: 1000, newestFirst }), outcome };
    });
    const operations = [...writes.map((write) => ({ write, read: undefined })), ...reads.map((read) => ({ write: undefined, read }))];
    // Shuffle (seeded) so reads and writes to the same task are mixed in the order they start.
    for (let i = operations.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [operations[i], operations[j]] = [operations[j]!, operations[i]!];
    }
    expect(operations).toHaveLength(200);

    const startedAt = Date.now();
    await Promise.all(
      operations.map(async ({ write, read }) => {
        if (write) write.call.outcome = await settleWithin(write.run(repo), hangMs);
        if (read) read.outcome = await settleWithin(read.run(), hangMs);
      }),
    );
    const elapsed = Date.now() - startedAt;
    report(`${stack.kind}: 200 operations in ${elapsed} ms`, countBy(writes, (write) => (write.call.outcome.status === "rejected" ? describeError(write.call.outcome.reason).split(":")[0]! : write.call.outcome.status)));

    // Reads: all resolve, each well formed (a read never fails for a task that exists).
    for (const read of reads) {
      expect(read.outcome?.status, `${read.kind} ${read.taskId}: ${read.outcome?.status === "rejected" ? describeError(read.outcome.reason) : ""}`).toBe("fulfilled");
      if (read.outcome?.status !== "fulfilled") continue;
      if (read.kind === "getTask") {
        expect((read.outcome.value as StoryTaskRecord).id).toBe(read.taskId);
      } else {
        const events = read.outcome.value as StoryTaskEventRecord[];
        expect(events.every((event) => event.taskId === read.taskId)).toBe(true);
        // In append order (or its reverse), never tied.
        const seqs = events.map((event) => event.seq);
        const ascending = [...seqs].sort((a, b) => a - b);
        expect(new Set(seqs).size).toBe(seqs.length);
        expect(seqs).toEqual(read.newestFirst ? ascending.reverse() : ascending);
      }
    }

    // Writes: only the status machine refuses, as a StoryTaskTransitionError; the rest resolve.
    for (const write of writes) {
      const { outcome } = write.call;
      expect(outcome.status, write.call.message).not.toBe("hung");
      if (outcome.status === "rejected") expect(outcome.reason, `${write.call.message}: ${describeError(outcome.reason)}`).toBeInstanceOf(StoryTaskTransitionError);
    }
    const refused = writes.filter((write) => write.call.outcome.status === "rejected").length;
    expect(refused, "some transitions were refused (the mix makes many impossible)").toBeGreaterThan(0);
    expect(refused, "most writes went through").toBeLessThan(writes.length);

    // What resolved is stored exactly once, what was refused is not, and the states add up.
    await verifyHistories(stack, tasks, writes.map((write) => write.call), { ambiguousFailures: false });

    // The repository's own reads agree with the database, in append order.
    const { events } = await storedState(stack, tasks.map((task) => task.id));
    for (const task of tasks) {
      const listed = await repo.listEvents(task.id, { limit: 1000 });
      expect(listed.map((event) => event.id)).toEqual((events.get(task.id) ?? []).map((event) => event.id));
      const record = await repo.getTask(task.id);
      expect(record.finishedAt !== null).toBe(isFinalStatus(record.status));
      if (record.status === "succeeded") expect(record.progress).toBe(100);
    }
  });
});
