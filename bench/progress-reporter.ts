// createProgressReporter (default interval) fed ~1,000 reports a second: how many rows it
// writes, and whether the task ends at the last value reported.
import { createStoryTasksRepository } from "../src/repository/index.ts";
import { createProgressReporter } from "../src/task-logging/index.ts";
import { type BenchStack, insertStory, insertTasks } from "./bench-stack.ts";
import { round } from "./stats.ts";
import type { Table } from "./table.ts";

export interface ProgressReporterResult {
  targetReportsPerSecond: number;
  seconds: number;
  reports: number;
  /** Reports actually made per second of feeding (the feeder catches up on timer slack in batches). */
  achievedReportsPerSecond: number;
  lastReported: number;
  /** The reporter's own count of writes that reached the database. */
  reporterWrites: number;
  rowsWritten: number;
  /** One write per 250 ms interval over the feeding time, plus the one flush() may add. */
  expectedAtMost: number;
  flushMs: number;
  storedProgress: number;
  finalProgressMatches: boolean;
  lastMessageMatches: boolean;
}

/** Increasing integer progress 0..99 spread over `total` reports, ending exactly at 99. */
function progressAt(index: number, total: number): number {
  return total <= 1 ? 99 : Math.floor((index * 99) / (total - 1));
}

export async function benchProgressReporter(bench: BenchStack, options: { reportsPerSecond: number; seconds: number }): Promise<ProgressReporterResult> {
  const story = await insertStory(bench, "bench: progress reporter");
  const [task] = await insertTasks(bench, { count: 1, status: "running", storyId: story });
  if (!task) throw new Error("no task created");
  const repo = createStoryTasksRepository(bench.client);
  const reporter = createProgressReporter(repo, task);

  const total = options.reportsPerSecond * options.seconds;
  const message = (index: number) => `report ${index + 1} of ${total}`;
  let sent = 0;
  const start = performance.now();
  // Timers fire every ~1 ms at best: each tick sends every report that is due by now.
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - start) * options.reportsPerSecond) / 1000) + 1);
    for (; sent < due; sent += 1) reporter.report(progressAt(sent, total), message(sent));
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  const fedSeconds = (performance.now() - start) / 1000;
  const flushStart = performance.now();
  await reporter.flush();
  const flushMs = performance.now() - flushStart;

  const stored = await bench.stack.query<{ rows: number; progress: number; last_message: string | null }>(
    `SELECT (SELECT count(*)::int FROM public.story_task_events WHERE task_id = $1) AS rows,
            (SELECT progress FROM public.story_tasks WHERE id = $1) AS progress,
            (SELECT message FROM public.story_task_events WHERE task_id = $1 ORDER BY seq DESC LIMIT 1) AS last_message`,
    [task],
  );
  const row = stored.rows[0];
  const lastReported = progressAt(total - 1, total);
  return {
    targetReportsPerSecond: options.reportsPerSecond,
    seconds: options.seconds,
    reports: sent,
    achievedReportsPerSecond: sent / fedSeconds,
    lastReported,
    reporterWrites: reporter.writes,
    rowsWritten: row?.rows ?? 0,
    expectedAtMost: Math.ceil((fedSeconds * 1000) / 250) + 1,
    flushMs,
    storedProgress: row?.progress ?? -1,
    finalProgressMatches: row?.progress === lastReported,
    lastMessageMatches: row?.last_message === message(total - 1),
  };
}

export function progressReporterTables(result: ProgressReporterResult): Table[] {
  return [
    {
      title: `Progress reporter (default interval) fed ${result.targetReportsPerSecond.toLocaleString("en-US")} reports/s for ${result.seconds} s`,
      headers: ["reports", "reports/s", "rows written", "reporter writes", "at most expected", "flush ms", "last reported", "stored progress", "final = last", "last message stored"],
      rows: [
        [
          result.reports,
          round(result.achievedReportsPerSecond, 0),
          result.rowsWritten,
          result.reporterWrites,
          result.expectedAtMost,
          round(result.flushMs, 1),
          result.lastReported,
          result.storedProgress,
          result.finalProgressMatches,
          result.lastMessageMatches,
        ],
      ],
      notes: ["Reports increase from 0 to 99 (a running task's progress never goes back); at most one write per 250 ms, and flush() writes the last one."],
    },
  ];
}
