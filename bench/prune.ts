// pruneFinishedTasks over 10,000 finished tasks with their events: how fast, and how long its
// longest single statement (one batch, one transaction) runs, next to running tasks it leaves alone.
import { createNodeSupabaseClient } from "../src/local-stack/index.ts";
import { createStoryTasksRepository } from "../src/repository/index.ts";
import type { BenchStack } from "./bench-stack.ts";
import { round } from "./stats.ts";
import type { Table } from "./table.ts";

export interface PruneResult {
  tasks: number;
  eventsPerTask: number;
  batchSize: number;
  pruned: { tasks: number; events: number; batches: number };
  seconds: number;
  tasksPerSecond: number;
  /** The slowest batch, timed at the client: one rpc call, one transaction. */
  longestStatementMs: number;
  medianStatementMs: number;
  runningTasksKept: boolean;
}

export async function benchPrune(bench: BenchStack, options: { tasks: number; eventsPerTask: number; batchSize: number }): Promise<PruneResult> {
  const kept = await bench.stack.query<{ id: string }>("INSERT INTO public.story_tasks (operation, status) SELECT 'CREATE_STORY', 'running' FROM generate_series(1, 20) RETURNING id");
  // Tasks that finished 40 days ago, written as a superuser with the triggers off (their clock is the database's).
  await bench.stack.query(`
    SET LOCAL session_replication_role = replica;
    WITH old AS (
      INSERT INTO public.story_tasks (operation, status, progress, started_at, finished_at)
      SELECT 'CREATE_STORY', 'succeeded', 100, now() - interval '41 days', now() - interval '40 days' - g * interval '1 second'
      FROM generate_series(1, ${options.tasks}) AS g
      RETURNING id
    )
    INSERT INTO public.story_task_events (task_id, event_type, message)
    SELECT id, 'info', 'event ' || n FROM old, generate_series(1, ${options.eventsPerTask}) AS n;`);

  const durations: number[] = [];
  const timing: typeof fetch = async (input, init) => {
    const start = performance.now();
    try {
      return await bench.stack.fetch(input, init);
    } finally {
      durations.push(performance.now() - start);
    }
  };
  const repo = createStoryTasksRepository(createNodeSupabaseClient(bench.stack.url, bench.stack.serviceRoleKey, { fetch: timing, retry: false }));
  const start = performance.now();
  const pruned = await repo.pruneFinishedTasks({ finishedBefore: new Date(Date.now() - 30 * 24 * 3600 * 1000), batchSize: options.batchSize });
  const seconds = (performance.now() - start) / 1000;
  const left = await bench.stack.query<{ n: number }>("SELECT count(*)::int AS n FROM public.story_tasks WHERE id = ANY($1::uuid[]) AND status = 'running'", [kept.rows.map((row) => row.id)]);
  const sorted = [...durations].sort((a, b) => a - b);
  return {
    tasks: options.tasks,
    eventsPerTask: options.eventsPerTask,
    batchSize: options.batchSize,
    pruned,
    seconds: round(seconds, 3),
    tasksPerSecond: round(pruned.tasks / seconds, 0),
    longestStatementMs: round(sorted.at(-1) ?? Number.NaN, 1),
    medianStatementMs: round(sorted[Math.floor(sorted.length / 2)] ?? Number.NaN, 1),
    runningTasksKept: left.rows[0]?.n === 20,
  };
}

export function pruneTables(result: PruneResult): Table[] {
  return [
    {
      title: "Retention: pruneFinishedTasks",
      headers: ["finished tasks", "events each", "batch", "batches", "tasks pruned", "events pruned", "seconds", "tasks/s", "longest batch ms", "median batch ms", "running kept"],
      rows: [[result.tasks, result.eventsPerTask, result.batchSize, result.pruned.batches, result.pruned.tasks, result.pruned.events, result.seconds, result.tasksPerSecond, result.longestStatementMs, result.medianStatementMs, result.runningTasksKept]],
      notes: ["A batch is one rpc call and one transaction (the locks it holds last that long), timed at the client."],
    },
  ];
}
