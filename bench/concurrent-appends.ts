// 8 writers appending progress events at once, all on one task (they queue on its row lock)
// and each on a task of its own; then every resolved call is checked against the stored rows.
import { createStoryTasksRepository } from "../src/repository/index.ts";
import { type BenchStack, insertStory, insertTasks } from "./bench-stack.ts";
import { type LatencySummary, round, summarize } from "./stats.ts";
import type { Table } from "./table.ts";

export interface ConcurrentAppendsScenario {
  scenario: "one task" | "separate tasks";
  writers: number;
  appendsPerWriter: number;
  resolved: number;
  rejected: number;
  /** The first rejection's message, if any. */
  firstError: string | null;
  wallSeconds: number;
  appendsPerSecond: number;
  latency: LatencySummary;
  /** Rows stored per task equal the calls that resolved for it. */
  everyEventLanded: boolean;
  /** seq values: distinct in the table, and exactly the ones the resolved calls returned. */
  seqUnique: boolean;
  seqMatchesReturned: boolean;
  /** Each task's progress is the highest value reported to it. */
  progressIsHighestReported: boolean;
  perTask: { rows: number; resolved: number; distinctSeq: number; progress: number; highestReported: number }[];
}

async function runScenario(bench: BenchStack, scenario: ConcurrentAppendsScenario["scenario"], writers: number, appendsPerWriter: number): Promise<ConcurrentAppendsScenario> {
  const story = await insertStory(bench, `bench: concurrent appends (${scenario})`);
  const tasks = await insertTasks(bench, { count: scenario === "one task" ? 1 : writers, status: "running", storyId: story });
  const taskOf = (writer: number) => tasks[scenario === "one task" ? 0 : writer]!;

  const resolvedPerTask = new Map<string, number>(tasks.map((task) => [task, 0]));
  const highestPerTask = new Map<string, number>(tasks.map((task) => [task, 0]));
  const returnedSeqs: number[] = [];
  const latencies: number[] = [];
  let rejected = 0;
  let firstError: string | null = null;

  // Each writer has its own client, like separate workers would.
  const start = performance.now();
  await Promise.all(
    Array.from({ length: writers }, async (_, writer) => {
      const repo = createStoryTasksRepository(bench.newClient());
      const task = taskOf(writer);
      for (let n = 0; n < appendsPerWriter; n += 1) {
        const progress = Math.min(99, Math.floor(((n + 1) * 99) / appendsPerWriter));
        const callStart = performance.now();
        try {
          const event = await repo.appendEvent(task, { eventType: "progress", message: `writer ${writer} append ${n}`, progressOverride: progress });
          latencies.push(performance.now() - callStart);
          returnedSeqs.push(event.seq);
          resolvedPerTask.set(task, (resolvedPerTask.get(task) ?? 0) + 1);
          highestPerTask.set(task, Math.max(highestPerTask.get(task) ?? 0, progress));
        } catch (error) {
          rejected += 1;
          firstError ??= error instanceof Error ? error.message : String(error);
        }
      }
    }),
  );
  const wallSeconds = (performance.now() - start) / 1000;

  const stored = await bench.stack.query<{ task_id: string; rows: number; distinct_seq: number; progress: number }>(
    `SELECT t.id AS task_id, count(e.id)::int AS rows, count(DISTINCT e.seq)::int AS distinct_seq, t.progress
     FROM public.story_tasks t LEFT JOIN public.story_task_events e ON e.task_id = t.id
     WHERE t.id = ANY($1::uuid[]) GROUP BY t.id, t.progress`,
    [tasks],
  );
  const storedSeqs = (await bench.stack.query<{ seq: string }>("SELECT seq FROM public.story_task_events WHERE task_id = ANY($1::uuid[])", [tasks])).rows.map((row) =>
    Number(row.seq),
  );
  const perTask = tasks.map((task) => {
    const row = stored.rows.find((each) => each.task_id === task);
    return {
      rows: row?.rows ?? 0,
      resolved: resolvedPerTask.get(task) ?? 0,
      distinctSeq: row?.distinct_seq ?? 0,
      progress: row?.progress ?? -1,
      highestReported: highestPerTask.get(task) ?? 0,
    };
  });
  const returnedSet = new Set(returnedSeqs);
  const storedSet = new Set(storedSeqs);
  const resolved = returnedSeqs.length;
  return {
    scenario,
    writers,
    appendsPerWriter,
    resolved,
    rejected,
    firstError,
    wallSeconds,
    appendsPerSecond: resolved / wallSeconds,
    latency: summarize(latencies),
    everyEventLanded: perTask.every((task) => task.rows === task.resolved),
    seqUnique: perTask.every((task) => task.distinctSeq === task.rows) && returnedSet.size === returnedSeqs.length,
    seqMatchesReturned: storedSet.size === returnedSet.size && [...returnedSet].every((seq) => storedSet.has(seq)),
    progressIsHighestReported: perTask.every((task) => task.progress === task.highestReported),
    perTask,
  };
}

export async function benchConcurrentAppends(bench: BenchStack, options: { writers: number; appendsPerWriter: number }): Promise<ConcurrentAppendsScenario[]> {
  return [
    await runScenario(bench, "one task", options.writers, options.appendsPerWriter),
    await runScenario(bench, "separate tasks", options.writers, options.appendsPerWriter),
  ];
}

export function concurrentAppendsTables(results: ConcurrentAppendsScenario[]): Table[] {
  return [
    {
      title: "Concurrent appends (appendEvent with progress through the repository, one client per writer)",
      headers: ["scenario", "writers x appends", "resolved", "rejected", "appends/s", "p50 ms", "p99 ms", "rows = resolved", "seq unique", "seq = returned", "progress = max"],
      rows: results.map((result) => [
        result.scenario,
        `${result.writers} x ${result.appendsPerWriter}`,
        result.resolved,
        result.rejected,
        round(result.appendsPerSecond, 1),
        round(result.latency.p50Ms, 2),
        round(result.latency.p99Ms, 2),
        result.everyEventLanded,
        result.seqUnique,
        result.seqMatchesReturned,
        result.progressIsHighestReported,
      ]),
      notes: [
        "rows = resolved: per task, rows in story_task_events equal the calls that resolved for it.",
        "seq unique / = returned: distinct seq per stored row, and the stored seqs are exactly those the calls returned.",
        "progress = max: each task's stored progress is the highest progressOverride any resolved call sent it.",
        ...results.filter((result) => result.firstError).map((result) => `${result.scenario}: first rejection: ${result.firstError}`),
      ],
    },
  ];
}
