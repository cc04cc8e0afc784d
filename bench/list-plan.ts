// listRecentByStory at scale: bulk-loads tasks over 10,000 stories with generate_series, then
// reads the plan of the query the repository makes PostgREST run, and times the repository call.
import { createStoryTasksRepository } from "../src/repository/index.ts";
import type { BenchStack } from "./bench-stack.ts";
import { type LatencySummary, median, round, summarize } from "./stats.ts";
import type { Table } from "./table.ts";

export const listQuery = "SELECT * FROM public.story_tasks WHERE story_id = $1 ORDER BY created_at DESC LIMIT 20";
const indexName = "story_tasks_story_id_created_at_idx";
const storyCount = 10_000;
/** Rows per INSERT ... SELECT: big enough to be bulk, small enough to keep PGlite's memory flat. */
const chunkRows = 100_000;
/** A 1M load on PGlite projected to take longer than this is skipped (and said so). */
const pgliteLoadBudgetSeconds = 180;

export interface PlanCheck {
  /** Tasks in story_tasks when measured (the bulk load plus what earlier sections wrote). */
  tableRows: number;
  tasksPerStory: number;
  /** Seconds to load this step's rows (the INSERTs only) and to ANALYZE afterwards. */
  loadSeconds: number;
  analyzeSeconds: number;
  /** Any scan node reads story_tasks_story_id_created_at_idx (a Bitmap Index Scan counts). */
  indexUsed: boolean;
  /** An (ordered) Index Scan or Index Only Scan on that index: what serves ORDER BY without a Sort. */
  indexScan: boolean;
  /** No Sort (nor Incremental Sort) node anywhere in the plan. */
  noSort: boolean;
  /** The nodes, outermost first, e.g. "Limit > Index Scan (story_tasks_story_id_created_at_idx)". */
  plan: string;
  executionMs: number;
  planningMs: number;
  /** The planner's total cost of the plan it chose. */
  cost: number;
  /**
   * The same query with bitmap scans turned off (SET LOCAL, for comparison only): the ordered
   * index plan the planner passed over, and what it would have cost.
   */
  orderedIndexPlan: { plan: string; noSort: boolean; executionMs: number; cost: number };
  /** Median over the EXPLAIN ANALYZE runs. */
  explainRuns: number;
  repositoryCall: LatencySummary;
}

export interface ListPlanResult {
  storyCount: number;
  storiesLoadSeconds: number;
  query: string;
  steps: { targetRows: number; check: PlanCheck | null; skipped: string | null }[];
}

interface PlanNode {
  "Node Type": string;
  "Total Cost": number;
  "Index Name"?: string;
  Plans?: PlanNode[];
}

function planNodes(node: PlanNode): PlanNode[] {
  return [node, ...(node.Plans ?? []).flatMap(planNodes)];
}

function describe(node: PlanNode): string {
  return planNodes(node)
    .map((each) => (each["Index Name"] ? `${each["Node Type"]} (${each["Index Name"]})` : each["Node Type"]))
    .join(" > ");
}

/** The deterministic id of bench story `n` (0 .. 9,999), so task rows can point at it without a join. */
const storyIdSql = (n: string) => `md5('bench-story-' || (${n}))::uuid`;

async function loadTasks(bench: BenchStack, from: number, to: number): Promise<number> {
  const start = performance.now();
  for (let first = from; first < to; first += chunkRows) {
    const last = Math.min(first + chunkRows, to) - 1;
    // Triggers and foreign keys stay on: the load costs what inserting these rows really costs.
    await bench.stack.query(
      `INSERT INTO public.story_tasks (story_id, operation, status, progress, payload, created_at)
       SELECT ${storyIdSql(`g % ${storyCount}`)},
              'CREATE_SHOT_IMAGES',
              CASE WHEN g % 4 = 0 THEN 'running' ELSE 'queued' END,
              CASE WHEN g % 4 = 0 THEN g % 100 ELSE 0 END,
              jsonb_build_object('scenelets', g % 20),
              timestamptz '2026-01-01 00:00:00+00' + g * interval '1 second'
       FROM generate_series($1::int, $2::int) AS g`,
      [first, last],
    );
  }
  return (performance.now() - start) / 1000;
}

type Explained = { Plan: PlanNode; "Execution Time": number; "Planning Time": number };

function firstPlan(rows: { "QUERY PLAN": Explained[] }[]): Explained {
  const explained = rows[0]?.["QUERY PLAN"][0];
  if (!explained) throw new Error("EXPLAIN returned no plan");
  return explained;
}

const hasSort = (nodes: PlanNode[]) => nodes.some((node) => node["Node Type"].includes("Sort"));

async function checkPlan(bench: BenchStack, loadSeconds: number, explainRuns: number, listCalls: number): Promise<PlanCheck> {
  const analyzeStart = performance.now();
  await bench.stack.query("ANALYZE public.story_tasks; ANALYZE public.stories");
  const analyzeSeconds = (performance.now() - analyzeStart) / 1000;
  const tableRows = Number((await bench.stack.query<{ n: string }>("SELECT count(*) AS n FROM public.story_tasks")).rows[0]?.n ?? 0);

  const storyIds = (await bench.stack.query<{ id: string }>(`SELECT ${storyIdSql("n")} AS id FROM generate_series(0, 99) AS n`)).rows.map((row) => row.id);
  const explainStory = storyIds[42]!;
  const executions: number[] = [];
  const plannings: number[] = [];
  let root: PlanNode | undefined;
  for (let run = 0; run < explainRuns; run += 1) {
    const explained = firstPlan((await bench.stack.query<{ "QUERY PLAN": Explained[] }>(`EXPLAIN (ANALYZE, FORMAT JSON) ${listQuery}`, [explainStory])).rows);
    root = explained.Plan;
    executions.push(explained["Execution Time"]);
    plannings.push(explained["Planning Time"]);
  }
  const nodes = root ? planNodes(root) : [];

  // No parameters, so several statements: SET LOCAL lasts only for this one transaction.
  const forcedExecutions: number[] = [];
  let forced: PlanNode | undefined;
  for (let run = 0; run < explainRuns; run += 1) {
    const explained = firstPlan(
      (
        await bench.stack.query<{ "QUERY PLAN": Explained[] }>(
          `SET LOCAL enable_bitmapscan = off; EXPLAIN (ANALYZE, FORMAT JSON) ${listQuery.replace("$1", `'${explainStory}'::uuid`)}`,
        )
      ).rows,
    );
    forced = explained.Plan;
    forcedExecutions.push(explained["Execution Time"]);
  }

  // The repository over HTTP on the loaded table, across 100 different stories.
  const repo = createStoryTasksRepository(bench.client);
  const samples: number[] = [];
  for (let i = 0; i < listCalls + 10; i += 1) {
    const start = performance.now();
    await repo.listRecentByStory(storyIds[i % storyIds.length]!, 20);
    if (i >= 10) samples.push(performance.now() - start);
  }

  return {
    tableRows,
    tasksPerStory: round(tableRows / storyCount, 1),
    loadSeconds,
    analyzeSeconds,
    indexUsed: nodes.some((node) => node["Index Name"] === indexName),
    indexScan: nodes.some((node) => (node["Node Type"] === "Index Scan" || node["Node Type"] === "Index Only Scan") && node["Index Name"] === indexName),
    noSort: !hasSort(nodes),
    plan: root ? describe(root) : "(none)",
    executionMs: median(executions),
    planningMs: median(plannings),
    cost: root?.["Total Cost"] ?? Number.NaN,
    orderedIndexPlan: {
      plan: forced ? describe(forced) : "(none)",
      noSort: !hasSort(forced ? planNodes(forced) : []),
      executionMs: median(forcedExecutions),
      cost: forced?.["Total Cost"] ?? Number.NaN,
    },
    explainRuns,
    repositoryCall: summarize(samples),
  };
}

export async function benchListPlan(bench: BenchStack, options: { sizes: number[]; explainRuns: number; listCalls: number }): Promise<ListPlanResult> {
  const storiesStart = performance.now();
  await bench.stack.query(
    `INSERT INTO public.stories (id, display_name) SELECT ${storyIdSql("n")}, 'Bench story ' || n FROM generate_series(0, ${storyCount - 1}) AS n`,
  );
  const storiesLoadSeconds = (performance.now() - storiesStart) / 1000;

  const steps: ListPlanResult["steps"] = [];
  let loaded = 0;
  let secondsPerRow = 0;
  for (const target of [...options.sizes].sort((a, b) => a - b)) {
    const projected = secondsPerRow * (target - loaded);
    if (bench.kind === "pglite" && projected > pgliteLoadBudgetSeconds) {
      steps.push({
        targetRows: target,
        check: null,
        skipped: `PGlite: loading ${(target - loaded).toLocaleString("en-US")} more rows projects to ${Math.round(projected)} s (> ${pgliteLoadBudgetSeconds} s); run with --server for this size`,
      });
      continue;
    }
    const loadSeconds = await loadTasks(bench, loaded, target);
    secondsPerRow = loadSeconds / (target - loaded);
    loaded = target;
    steps.push({ targetRows: target, check: await checkPlan(bench, loadSeconds, options.explainRuns, options.listCalls), skipped: null });
  }
  return { storyCount, storiesLoadSeconds, query: listQuery, steps };
}

export function listPlanTables(result: ListPlanResult, skippedSizes: { rows: number; reason: string }[]): Table[] {
  const rows = result.steps.map((step) => {
    const check = step.check;
    if (!check) return [step.targetRows, null, null, null, null, null, null, null, null, null, null, null, "skipped"];
    return [
      step.targetRows,
      check.tasksPerStory,
      round(check.loadSeconds, 1),
      round(check.analyzeSeconds, 2),
      check.indexUsed,
      check.indexScan,
      check.noSort,
      round(check.executionMs, 3),
      round(check.planningMs, 3),
      round(check.cost, 2),
      round(check.repositoryCall.p50Ms, 2),
      round(check.repositoryCall.p99Ms, 2),
      check.plan,
    ];
  });
  for (const skipped of skippedSizes) rows.push([skipped.rows, null, null, null, null, null, null, null, null, null, null, null, "skipped"]);
  const compared = result.steps.flatMap((step) => (step.check ? [{ rows: step.targetRows, check: step.check }] : []));
  return [
    {
      title: `listRecentByStory at scale: tasks over ${result.storyCount.toLocaleString("en-US")} stories (stories loaded in ${round(result.storiesLoadSeconds, 2)} s)`,
      headers: ["bulk rows", "tasks/story", "load s", "analyze s", "idx used", "Index Scan on idx", "no Sort", "exec ms", "plan ms", "cost", "repo p50 ms", "repo p99 ms", "plan"],
      rows,
      notes: [
        `EXPLAIN (ANALYZE, FORMAT JSON) ${result.query}  (median of the runs; idx = story_tasks_story_id_created_at_idx).`,
        "load s: INSERT ... SELECT generate_series of that step's rows, triggers and foreign keys on; each size adds to the previous one.",
        "repo p50/p99: the repository's listRecentByStory over HTTP, across 100 stories, after the load.",
        ...result.steps.filter((step) => step.skipped).map((step) => `${step.targetRows.toLocaleString("en-US")} rows skipped: ${step.skipped}.`),
        ...skippedSizes.map((skipped) => `${skipped.rows.toLocaleString("en-US")} rows skipped: ${skipped.reason}.`),
      ],
    },
    {
      title: "listRecentByStory: the plan chosen vs the ordered index plan (bitmap scans off, for comparison only)",
      headers: ["bulk rows", "chosen cost", "chosen exec ms", "ordered-index cost", "ordered-index exec ms", "ordered-index no Sort", "ordered-index plan"],
      rows: compared.map(({ rows: size, check }) => [
        size,
        round(check.cost, 2),
        round(check.executionMs, 3),
        round(check.orderedIndexPlan.cost, 2),
        round(check.orderedIndexPlan.executionMs, 3),
        check.orderedIndexPlan.noSort,
        check.orderedIndexPlan.plan,
      ]),
      notes: compared.some(({ check }) => !check.noSort)
        ? ["Where the chosen plan sorts: the story has about as many tasks as the LIMIT or fewer, so fetching them all through a bitmap and sorting that handful in memory costs the planner less than walking the index in order."]
        : [],
    },
  ];
}
