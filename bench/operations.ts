// Per operation: the repository, plain supabase-js sending the same request, and the same SQL
// sent straight to the database, interleaved call by call against one database, after a warm-up.
// Then the repository's own client-side cost, with the network taken out (replayed responses).
import type { SupabaseClient } from "@supabase/supabase-js";
import type { Database } from "../generated/database.types.ts";
import { createNodeSupabaseClient } from "../src/local-stack/index.ts";
import { createStoryTasksRepository } from "../src/repository/index.ts";
import type { StoryTasksRepository } from "../src/repository/interfaces.ts";
import { type BenchStack, type SqlBaseline, insertStory, insertTasks } from "./bench-stack.ts";
import { type LatencySummary, median, round, summarize } from "./stats.ts";
import type { Table } from "./table.ts";

export const variants = ["repository", "supabase-js", "pg"] as const;
export type Variant = (typeof variants)[number];

type Client = SupabaseClient<Database>;

/** One operation, three ways; `i` picks the row a call works on, so no two calls collide. */
interface Operation {
  name: string;
  what: string;
  repository(repo: StoryTasksRepository, i: number): Promise<unknown>;
  supabase(client: Client, i: number): Promise<unknown>;
  sql(sql: SqlBaseline, i: number): Promise<unknown>;
}

export interface OperationResult {
  operation: string;
  what: string;
  latency: Record<Variant, LatencySummary>;
  /** HTTP requests per call, counted by the client's fetch. */
  requestsPerCall: { repository: number; "supabase-js": number };
  ratios: { repositoryOverSupabaseP50: number; repositoryOverSupabaseMean: number; repositoryOverPgP50: number; repositoryOverPgMean: number };
  /** Median of (repository - supabase-js) over the calls of one iteration, which ran back to back: drifts in machine load cancel. */
  pairedAddedMs: number;
  /** pairedAddedMs as a fraction of supabase-js's p50. */
  pairedAddedFraction: number;
  /** The repository adds at most 10% over plain supabase-js: by the p50 ratio and by the paired median. */
  targetMet: boolean;
}

export interface ClientCostResult {
  operation: string;
  /** Median microseconds per call with the response replayed from memory (no network, no database). */
  repositoryUs: number;
  supabaseUs: number;
  addedUs: number;
  /** The repository and plain supabase-js sent the same method, URL, headers and JSON body. */
  sameRequest: boolean;
}

export interface OperationsResult {
  stackKind: BenchStack["kind"];
  warmupPerVariant: number;
  callsPerVariant: number;
  sqlBaseline: string;
  sqlRoundTripsPerCall: number;
  operations: OperationResult[];
  clientCost: { callsPerVariant: number; operations: ClientCostResult[] };
}

function unwrap<T>(result: { data: T; error: unknown }): T {
  if (result.error) throw new Error(`supabase-js call failed: ${JSON.stringify(result.error)}`);
  return result.data;
}

function pick(ids: readonly string[], i: number): string {
  const id = ids[i % ids.length];
  if (!id) throw new Error("no task prepared for this call");
  return id;
}

async function defineOperations(bench: BenchStack, callsPerVariant: number): Promise<Operation[]> {
  const createStory = await insertStory(bench, "bench: createTask");
  const listStory = await insertStory(bench, "bench: listRecentByStory");
  await insertTasks(bench, { count: 50, status: "queued", storyId: listStory });
  // Each appendEvent / updateStatus call gets a task of its own, so every call does the full work
  // (the progress really moves; the task really leaves queued).
  const fresh = async (status: "queued" | "running") =>
    Object.fromEntries(await Promise.all(variants.map(async (variant) => [variant, await insertTasks(bench, { count: callsPerVariant, status, storyId: createStory })]))) as Record<
      Variant,
      string[]
    >;
  const running = await fresh("running");
  const queued = await fresh("queued");
  const payload = { scenelets: 12, style: "watercolour" };

  return [
    {
      name: "createTask",
      what: "INSERT story_tasks ... RETURNING * (running, with payload)",
      repository: (repo) => repo.createTask({ storyId: createStory, operation: "CREATE_SHOT_IMAGES", status: "running", payload }),
      supabase: async (client) =>
        unwrap(await client.from("story_tasks").insert({ story_id: createStory, operation: "CREATE_SHOT_IMAGES", status: "running", payload }).select().single()),
      sql: (sql) =>
        sql.query("INSERT INTO public.story_tasks (story_id, operation, status, payload) VALUES ($1, $2, $3, $4) RETURNING *", [
          createStory,
          "CREATE_SHOT_IMAGES",
          "running",
          JSON.stringify(payload),
        ]),
    },
    {
      name: "appendEvent+progress",
      what: "rpc append_story_task_events, one event with progress_override (lock, insert, update)",
      repository: (repo, i) => repo.appendEvent(pick(running.repository, i), { eventType: "progress", message: `Shot ${i}`, progressOverride: 50 }),
      supabase: async (client, i) =>
        unwrap(await client.rpc("append_story_task_events", { task_id: pick(running["supabase-js"], i), events: [{ event_type: "progress", message: `Shot ${i}`, progress_override: 50 }] })),
      sql: (sql, i) =>
        sql.query("SELECT * FROM public.append_story_task_events(task_id => $1, events => $2)", [
          pick(running.pg, i),
          JSON.stringify([{ event_type: "progress", message: `Shot ${i}`, progress_override: 50 }]),
        ]),
    },
    {
      name: "updateStatus",
      what: "rpc update_story_task_status queued->running, progress 10, with an event",
      repository: (repo, i) => repo.updateStatus(pick(queued.repository, i), { status: "running", progress: 10, event: { eventType: "info", message: "Started" } }),
      supabase: async (client, i) =>
        unwrap(
          await client.rpc("update_story_task_status", {
            task_id: pick(queued["supabase-js"], i),
            status: "running",
            progress: 10,
            event: { event_type: "info", message: "Started" },
          }),
        ),
      sql: (sql, i) =>
        sql.query("SELECT * FROM public.update_story_task_status(task_id => $1, status => $2, progress => $3, event => $4)", [
          pick(queued.pg, i),
          "running",
          10,
          JSON.stringify({ event_type: "info", message: "Started" }),
        ]),
    },
    {
      name: "listRecentByStory",
      what: "story_tasks of one story (50 tasks), newest 20",
      repository: (repo) => repo.listRecentByStory(listStory, 20),
      supabase: async (client) => unwrap(await client.from("story_tasks").select().eq("story_id", listStory).order("created_at", { ascending: false }).limit(20)),
      sql: (sql) => sql.query("SELECT * FROM public.story_tasks WHERE story_id = $1 ORDER BY created_at DESC LIMIT 20", [listStory]),
    },
  ];
}

/** Every order of the three variants, used in turn. */
const orders: Variant[][] = [
  ["repository", "supabase-js", "pg"],
  ["repository", "pg", "supabase-js"],
  ["supabase-js", "repository", "pg"],
  ["supabase-js", "pg", "repository"],
  ["pg", "repository", "supabase-js"],
  ["pg", "supabase-js", "repository"],
];

/**
 * Cycles through all six orders, call by call, so each variant runs first, and right after each
 * other variant, equally often: a request after an HTTP request and one after a pg query see
 * different warmth (sockets, PostgREST, caches).
 */
function order(i: number): Variant[] {
  return orders[i % orders.length]!;
}

async function measureOperation(bench: BenchStack, operation: Operation, repo: StoryTasksRepository, warmup: number, calls: number): Promise<OperationResult> {
  const samples: Record<Variant, number[]> = { repository: [], "supabase-js": [], pg: [] };
  const requests = { repository: 0, "supabase-js": 0 };
  const run: Record<Variant, (i: number) => Promise<unknown>> = {
    repository: (i) => operation.repository(repo, i),
    "supabase-js": (i) => operation.supabase(bench.client, i),
    pg: (i) => operation.sql(bench.sql, i),
  };
  for (let i = 0; i < warmup + calls; i += 1) {
    for (const variant of order(i)) {
      const before = bench.requests.count;
      const start = performance.now();
      await run[variant](i);
      const ms = performance.now() - start;
      if (i < warmup) continue;
      samples[variant].push(ms);
      if (variant !== "pg") requests[variant] += bench.requests.count - before;
    }
  }
  const latency = { repository: summarize(samples.repository), "supabase-js": summarize(samples["supabase-js"]), pg: summarize(samples.pg) };
  const ratios = {
    repositoryOverSupabaseP50: latency.repository.p50Ms / latency["supabase-js"].p50Ms,
    repositoryOverSupabaseMean: latency.repository.meanMs / latency["supabase-js"].meanMs,
    repositoryOverPgP50: latency.repository.p50Ms / latency.pg.p50Ms,
    repositoryOverPgMean: latency.repository.meanMs / latency.pg.meanMs,
  };
  const pairedAddedMs = median(samples.repository.map((ms, k) => ms - (samples["supabase-js"][k] ?? Number.NaN)));
  const pairedAddedFraction = pairedAddedMs / latency["supabase-js"].p50Ms;
  return {
    operation: operation.name,
    what: operation.what,
    latency,
    requestsPerCall: { repository: requests.repository / calls, "supabase-js": requests["supabase-js"] / calls },
    ratios,
    pairedAddedMs,
    pairedAddedFraction,
    // Means follow the slowest calls, which on a shared machine are other processes' doing; they are shown, not judged.
    targetMet: ratios.repositoryOverSupabaseP50 <= 1.1 && pairedAddedFraction <= 0.1,
  };
}

/**
 * Method, URL, headers and JSON body as one comparable string: body keys sorted (their order
 * carries no meaning) and uuids masked (each variant works on tasks of its own).
 */
async function describeRequest(request: Request): Promise<string> {
  const sortKeys = (value: unknown): unknown =>
    Array.isArray(value)
      ? value.map(sortKeys)
      : value && typeof value === "object"
        ? Object.fromEntries(Object.entries(value).sort(([a], [b]) => a.localeCompare(b)).map(([key, item]) => [key, sortKeys(item)]))
        : value;
  const text = await request.text();
  const body = text ? JSON.stringify(sortKeys(JSON.parse(text))) : "";
  return JSON.stringify([request.method, request.url, [...request.headers.entries()].sort(), body]).replace(
    /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi,
    "<uuid>",
  );
}

interface RecordedResponse {
  status: number;
  headers: [string, string][];
  body: string;
}

/**
 * The repository's own cost (validation, mapping, error checks) next to plain supabase-js, each
 * over a client whose fetch replays a response recorded from the real stack: no network, no database.
 */
async function measureClientCost(bench: BenchStack, operations: Operation[], calls: number): Promise<ClientCostResult[]> {
  let recorded: RecordedResponse | undefined;
  const recordingFetch: typeof globalThis.fetch = async (input, init) => {
    const response = await bench.stack.fetch(input, init);
    recorded = { status: response.status, headers: [...response.headers.entries()], body: await response.text() };
    return new Response(recorded.body, { status: recorded.status, headers: recorded.headers });
  };
  // Requests are described only while comparing them, never in the timed calls.
  let describing = false;
  let lastRequest = "";
  const replayFetch: typeof globalThis.fetch = async (input, init) => {
    if (!recorded) throw new Error("nothing recorded to replay");
    if (describing) lastRequest = await describeRequest(new Request(input, init));
    return new Response(recorded.body, { status: recorded.status, headers: recorded.headers });
  };
  const recordingClient = createNodeSupabaseClient(bench.stack.url, bench.stack.serviceRoleKey, { fetch: recordingFetch, retry: false });
  const replayClient = createNodeSupabaseClient(bench.stack.url, bench.stack.serviceRoleKey, { fetch: replayFetch, retry: false });
  const replayRepo = createStoryTasksRepository(replayClient);

  const results: ClientCostResult[] = [];
  for (const operation of operations) {
    // A real call records the response the API gives this operation; calls past the prepared
    // tasks reuse ids, which the replay never sends anywhere.
    await operation.supabase(recordingClient, calls * 10);
    describing = true;
    await operation.repository(replayRepo, 0);
    const repositoryRequest = lastRequest;
    await operation.supabase(replayClient, 0);
    const sameRequest = repositoryRequest === lastRequest;
    describing = false;
    const warmup = Math.ceil(calls / 5);
    const samples = { repository: [] as number[], supabase: [] as number[] };
    for (let i = 0; i < warmup + calls; i += 1) {
      const order = i % 2 === 0 ? (["repository", "supabase"] as const) : (["supabase", "repository"] as const);
      for (const which of order) {
        const start = performance.now();
        if (which === "repository") await operation.repository(replayRepo, i);
        else await operation.supabase(replayClient, i);
        if (i >= warmup) samples[which].push((performance.now() - start) * 1000);
      }
    }
    const repositoryUs = median(samples.repository);
    const supabaseUs = median(samples.supabase);
    results.push({ operation: operation.name, repositoryUs, supabaseUs, addedUs: repositoryUs - supabaseUs, sameRequest });
  }
  return results;
}

export async function benchOperations(bench: BenchStack, options: { warmup: number; calls: number; clientCostCalls: number }): Promise<OperationsResult> {
  const operations = await defineOperations(bench, options.warmup + options.calls);
  const repo = createStoryTasksRepository(bench.client);
  const results: OperationResult[] = [];
  for (const operation of operations) results.push(await measureOperation(bench, operation, repo, options.warmup, options.calls));
  const clientCost = await measureClientCost(bench, operations, options.clientCostCalls);
  return {
    stackKind: bench.kind,
    warmupPerVariant: options.warmup,
    callsPerVariant: options.calls,
    sqlBaseline: bench.sql.description,
    sqlRoundTripsPerCall: bench.sql.roundTripsPerCall,
    operations: results,
    clientCost: { callsPerVariant: options.clientCostCalls, operations: clientCost },
  };
}

export function operationsTables(result: OperationsResult): Table[] {
  const latencyRows = result.operations.flatMap((operation) =>
    variants.map((variant) => {
      const latency = operation.latency[variant];
      const requests = variant === "pg" ? null : operation.requestsPerCall[variant];
      return [operation.operation, variant, round(latency.opsPerSecond, 1), round(latency.p50Ms, 2), round(latency.p99Ms, 2), round(latency.meanMs, 2), requests];
    }),
  );
  const ratioRows = result.operations.map((operation) => [
    operation.operation,
    round(operation.ratios.repositoryOverSupabaseP50, 3),
    round(operation.ratios.repositoryOverSupabaseMean, 3),
    round(operation.pairedAddedMs, 3),
    round(operation.pairedAddedFraction * 100, 1),
    round(operation.ratios.repositoryOverPgP50, 2),
    round(operation.ratios.repositoryOverPgMean, 2),
    operation.targetMet,
  ]);
  const appendRequests = result.operations.find((operation) => operation.operation === "appendEvent+progress")?.requestsPerCall.repository;
  return [
    {
      title: `Operations: ${result.callsPerVariant} calls per variant, interleaved call by call in all 6 orders (after ${result.warmupPerVariant} warm-up calls each)`,
      headers: ["operation", "via", "ops/s", "p50 ms", "p99 ms", "mean ms", "HTTP req/call"],
      rows: latencyRows,
      notes: [
        "ops/s: one caller, calls back to back (1000 / mean latency).",
        "supabase-js: the same client as the repository, sending the same request (.from().insert().select().single(), .rpc() with the same args, .select().eq().order().limit()).",
        `pg: ${result.sqlBaseline}.`,
        `appendEvent with progress: ${appendRequests ?? "?"} HTTP request(s) per call through the repository (target: 1).`,
        ...(result.stackKind === "pglite"
          ? ["PGlite runs in this process: the database's work shares one thread with the client's, and PostgREST has one connection to it."]
          : []),
      ],
    },
    {
      title: "Operations: ratios (target: repository / supabase-js <= 1.10)",
      headers: ["operation", "repo/sb p50", "repo/sb mean", "added ms (paired)", "added %", "repo/pg p50", "repo/pg mean", "target met"],
      rows: ratioRows,
      notes: [
        "added ms (paired): median over iterations of (repository - supabase-js), the two calls of an iteration made back to back; added %: of supabase-js's p50.",
        "target met: repo/sb p50 <= 1.10 and added % <= 10. The mean ratio is shown, not judged: means follow the slowest calls, which on a shared machine other processes decide.",
      ],
    },
    {
      title: `Client-side cost per call, responses replayed from memory (${result.clientCost.callsPerVariant} calls each)`,
      headers: ["operation", "repository p50 us", "supabase-js p50 us", "added by repository us", "same request"],
      rows: result.clientCost.operations.map((cost) => [cost.operation, round(cost.repositoryUs, 1), round(cost.supabaseUs, 1), round(cost.addedUs, 1), cost.sameRequest]),
      notes: [
        "What the repository itself adds (input validation, record mapping), without network or database time.",
        "same request: the repository's HTTP request equals plain supabase-js's (method, URL, headers, JSON body; task ids masked, as each variant has its own tasks).",
      ],
    },
  ];
}
