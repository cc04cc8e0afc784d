// appendEvents in batches of 100 and 1,000 (one rpc, one transaction per batch) against the same
// rows inserted with one multi-row INSERT per batch straight to the database, and with PostgREST's
// own bulk insert (one POST of the rows to the table, no function), in the same run.
import type { CreateStoryTaskEventInput } from "../generated/records.ts";
import { mapCreateStoryTaskEventInputToInsert } from "../generated/records.ts";
import { createStoryTasksRepository } from "../src/repository/index.ts";
import { type BenchStack, insertStory, insertTasks } from "./bench-stack.ts";
import { round } from "./stats.ts";
import type { Table } from "./table.ts";

export interface BatchAppendsResult {
  batchSize: number;
  batches: number;
  events: number;
  repository: { seconds: number; eventsPerSecond: number };
  sql: { seconds: number; eventsPerSecond: number };
  /** The same rows as one POST to /story_task_events: what any write of them through PostgREST costs. */
  postgrest: { seconds: number; eventsPerSecond: number };
  /** repository events/s over the direct statement's. */
  ratio: number;
  /** repository events/s over PostgREST's bulk insert's. */
  ratioToPostgrest: number;
  /** Every event of both runs stored, in order. */
  allStored: boolean;
}

function batchOf(size: number, batch: number): CreateStoryTaskEventInput[] {
  // Chat deltas, the last carrying the progress reached: what a streaming worker sends.
  return Array.from({ length: size }, (_, i): CreateStoryTaskEventInput =>
    i === size - 1
      ? { eventType: "progress", message: `batch ${batch} done`, progressOverride: Math.min(99, batch) }
      : { eventType: "chat_message", message: `delta ${batch}.${i}`, payload: { batch, i } },
  );
}

async function measure(bench: BenchStack, batchSize: number, events: number): Promise<BatchAppendsResult> {
  const story = await insertStory(bench, `bench: batch appends of ${batchSize}`);
  const [viaRepository, viaSql, viaPostgrest] = await insertTasks(bench, { count: 3, status: "running", storyId: story });
  const repo = createStoryTasksRepository(bench.newClient());
  const batches = Math.max(1, Math.round(events / batchSize));

  let start = performance.now();
  for (let batch = 0; batch < batches; batch += 1) await repo.appendEvents(viaRepository!, batchOf(batchSize, batch));
  const repositorySeconds = (performance.now() - start) / 1000;

  start = performance.now();
  for (let batch = 0; batch < batches; batch += 1) {
    const rows = batchOf(batchSize, batch);
    const values = rows.map((_, i) => `($1, $${i * 4 + 2}, $${i * 4 + 3}, $${i * 4 + 4}, $${i * 4 + 5})`).join(", ");
    await bench.sql.query(
      `INSERT INTO public.story_task_events (task_id, event_type, message, payload, progress_override) VALUES ${values}`,
      [viaSql, ...rows.flatMap((row) => [row.eventType, row.message, row.payload === undefined ? null : JSON.stringify(row.payload), row.progressOverride ?? null])],
    );
  }
  const sqlSeconds = (performance.now() - start) / 1000;

  const postgrest = bench.newClient();
  start = performance.now();
  for (let batch = 0; batch < batches; batch += 1) {
    const rows = batchOf(batchSize, batch).map((event) => ({ task_id: viaPostgrest!, ...mapCreateStoryTaskEventInputToInsert(event) }));
    const { error } = await postgrest.from("story_task_events").insert(rows);
    if (error) throw new Error(`PostgREST bulk insert: ${error.message}`);
  }
  const postgrestSeconds = (performance.now() - start) / 1000;

  const stored = await bench.stack.query<{ task_id: string; n: number; ordered: boolean }>(
    `SELECT task_id, count(*)::int AS n, bool_and(next_seq IS NULL OR next_seq > seq) AS ordered
     FROM (SELECT task_id, seq, lead(seq) OVER (PARTITION BY task_id ORDER BY seq) AS next_seq FROM public.story_task_events WHERE task_id = ANY($1::uuid[])) AS e
     GROUP BY task_id`,
    [[viaRepository, viaSql, viaPostgrest]],
  );
  const total = batches * batchSize;
  const repositoryRate = total / repositorySeconds;
  const sqlRate = total / sqlSeconds;
  const postgrestRate = total / postgrestSeconds;
  return {
    batchSize,
    batches,
    events: total,
    repository: { seconds: round(repositorySeconds, 3), eventsPerSecond: round(repositoryRate, 0) },
    sql: { seconds: round(sqlSeconds, 3), eventsPerSecond: round(sqlRate, 0) },
    postgrest: { seconds: round(postgrestSeconds, 3), eventsPerSecond: round(postgrestRate, 0) },
    ratio: round(repositoryRate / sqlRate, 3),
    ratioToPostgrest: round(repositoryRate / postgrestRate, 3),
    allStored: stored.rows.length === 3 && stored.rows.every((row) => row.n === total && row.ordered),
  };
}

export async function benchBatchAppends(bench: BenchStack, options: { events: number; batchSizes: number[] }): Promise<BatchAppendsResult[]> {
  const results: BatchAppendsResult[] = [];
  for (const batchSize of options.batchSizes) results.push(await measure(bench, batchSize, options.events));
  return results;
}

export function batchAppendsTables(results: BatchAppendsResult[], sqlDescription: string): Table[] {
  return [
    {
      title: "Batch appends: appendEvents vs one multi-row INSERT per batch",
      headers: ["batch", "batches", "events", "repository events/s", "SQL events/s", "ratio", "PostgREST insert events/s", "ratio", "all stored, in order"],
      rows: results.map((result) => [
        result.batchSize,
        result.batches,
        result.events,
        result.repository.eventsPerSecond,
        result.sql.eventsPerSecond,
        result.ratio,
        result.postgrest.eventsPerSecond,
        result.ratioToPostgrest,
        result.allStored,
      ]),
      notes: [
        "Each batch: chat deltas with a small payload, the last one a progress event. The repository also moves the task's progress; the SQL only inserts.",
        `SQL: ${sqlDescription}.`,
        "PostgREST insert: the same rows as one POST to /story_task_events (no function, no ids checked, no progress): the floor of any write through the API.",
      ],
    },
  ];
}
