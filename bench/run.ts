// `pnpm bench [--server [URL]] [--quick] [--only SECTION,...] [--out FILE]`: measures the story-task repository
// against plain supabase-js and direct SQL, on the embedded PGlite stack (default) or a fresh
// database on a PostgreSQL server; prints a table per section and writes bench/results.json.
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { constants, loadavg } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { type BenchStack, defaultServerUrl, serverAnswers, startBenchStack } from "./bench-stack.ts";
import { type BatchAppendsResult, batchAppendsTables, benchBatchAppends } from "./batch-appends.ts";
import { type ConcurrentAppendsScenario, benchConcurrentAppends, concurrentAppendsTables } from "./concurrent-appends.ts";
import { type Environment, describeEnvironment, environmentTables } from "./environment.ts";
import { type ListPlanResult, benchListPlan, listPlanTables } from "./list-plan.ts";
import { type OperationsResult, benchOperations, operationsTables } from "./operations.ts";
import { type ProgressReporterResult, benchProgressReporter, progressReporterTables } from "./progress-reporter.ts";
import { type PruneResult, benchPrune, pruneTables } from "./prune.ts";
import { round } from "./stats.ts";
import { type Table, renderTable } from "./table.ts";
import { type ToolTimesResult, benchToolTimes, toolTimesTables } from "./tool-times.ts";

const sectionNames = ["operations", "batch-appends", "concurrent-appends", "progress-reporter", "prune", "list-plan", "tool-times"] as const;
type SectionName = (typeof sectionNames)[number];

const usage = `usage: pnpm bench [--server [URL]] [--quick] [--only SECTION,...] [--out FILE]
  (default)       the embedded stack: PGlite in this process behind PostgREST
  --server [URL]  a PostgreSQL server (default ${defaultServerUrl}): a fresh database
                  story_tasks_bench_<random> is created for the run and dropped at the end
  --quick         a fast smoke run: fewer calls, no 1,000,000-row step, one run per command
  --only LIST     only these sections: ${sectionNames.join(", ")}
  --out FILE      where the results go (default bench/results.json)`;

interface Options {
  serverUrl: string | undefined;
  quick: boolean;
  only: Set<SectionName>;
  out: string;
}

const benchDir = path.dirname(fileURLToPath(import.meta.url));

/** Hand-rolled because `--server` takes an optional value, which node:util parseArgs cannot express. */
function parseOptions(argv: string[]): Options | "help" {
  const options: Options = { serverUrl: undefined, quick: false, only: new Set(sectionNames), out: path.join(benchDir, "results.json") };
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i]!;
    const next = argv[i + 1];
    if (arg === "--help" || arg === "-h") return "help";
    else if (arg === "--quick") options.quick = true;
    else if (arg === "--server") {
      if (next !== undefined && !next.startsWith("--")) {
        options.serverUrl = next;
        i += 1;
      } else options.serverUrl = defaultServerUrl;
    } else if (arg.startsWith("--server=")) options.serverUrl = arg.slice("--server=".length);
    else if (arg === "--only" && next !== undefined) {
      const wanted = next.split(",").map((name) => name.trim());
      const unknown = wanted.filter((name) => !(sectionNames as readonly string[]).includes(name));
      if (unknown.length > 0) throw new Error(`unknown section(s) ${unknown.join(", ")}\n${usage}`);
      options.only = new Set(wanted as SectionName[]);
      i += 1;
    } else if (arg === "--out" && next !== undefined) {
      options.out = path.resolve(next);
      i += 1;
    } else if (arg === "--") continue;
    else throw new Error(`unknown argument "${arg}"\n${usage}`);
  }
  return options;
}

/** How much each section does: the full run, or --quick's smoke run. */
function workload(quick: boolean) {
  return quick
    ? {
        operations: { warmup: 6, calls: 60, clientCostCalls: 300 },
        batchAppends: { events: 2_000, batchSizes: [100, 1000] },
        prune: { tasks: 1_000, eventsPerTask: 2, batchSize: 1000 },
        concurrent: { writers: 8, appendsPerWriter: 10 },
        reporter: { reportsPerSecond: 1000, seconds: 1 },
        listPlan: { sizes: [100_000], explainRuns: 3, listCalls: 20 },
        toolRuns: 1,
      }
    : {
        operations: { warmup: 30, calls: 600, clientCostCalls: 2000 },
        batchAppends: { events: 50_000, batchSizes: [100, 1000] },
        prune: { tasks: 10_000, eventsPerTask: 2, batchSize: 1000 },
        concurrent: { writers: 8, appendsPerWriter: 100 },
        reporter: { reportsPerSecond: 1000, seconds: 5 },
        listPlan: { sizes: [100_000, 1_000_000], explainRuns: 5, listCalls: 100 },
        toolRuns: 5,
      };
}

interface Results {
  startedAt: string;
  finishedAt?: string;
  totalSeconds?: number;
  /** 1/5/15-minute load averages when the run ended (the start's are in environment.machine). */
  loadAverageAtEnd?: number[];
  stackKind: "pglite" | "postgres";
  quick: boolean;
  sections: SectionName[];
  workload: ReturnType<typeof workload>;
  environment?: Environment;
  sectionSeconds: Record<string, number>;
  operations?: OperationsResult;
  batchAppends?: BatchAppendsResult[];
  prune?: PruneResult;
  concurrentAppends?: ConcurrentAppendsScenario[];
  progressReporter?: ProgressReporterResult;
  listPlan?: ListPlanResult;
  toolTimes?: ToolTimesResult;
  targets?: { target: string; met: boolean; detail: string }[];
  error?: string;
}

function print(tables: Table[]): void {
  for (const table of tables) console.log(`\n${renderTable(table)}`);
}

/** One line per target the brief sets, met or not, with the figure that decides. */
function targets(results: Results): NonNullable<Results["targets"]> {
  const rows: NonNullable<Results["targets"]> = [];
  for (const operation of results.operations?.operations ?? []) {
    rows.push({
      target: `${operation.operation}: repository <= 1.10 x supabase-js`,
      met: operation.targetMet,
      detail: `p50 x${round(operation.ratios.repositoryOverSupabaseP50, 3)}, paired ${operation.pairedAddedMs >= 0 ? "+" : ""}${round(operation.pairedAddedMs, 3)} ms (${round(operation.pairedAddedFraction * 100, 1)}%), mean x${round(operation.ratios.repositoryOverSupabaseMean, 3)}`,
    });
  }
  const append = results.operations?.operations.find((operation) => operation.operation === "appendEvent+progress");
  if (append) rows.push({ target: "appendEvent with progress: one round trip", met: append.requestsPerCall.repository === 1, detail: `${append.requestsPerCall.repository} HTTP request(s) per call` });
  for (const step of results.listPlan?.steps ?? []) {
    if (!step.check) continue;
    rows.push({
      target: `listRecentByStory at ${step.targetRows.toLocaleString("en-US")}: Index Scan on the index, no Sort`,
      met: step.check.indexScan && step.check.noSort,
      detail: step.check.plan,
    });
  }
  for (const batch of results.batchAppends ?? []) {
    if (results.stackKind === "postgres") {
      rows.push({ target: `appendEvents in batches of ${batch.batchSize}: at least 10,000 events/s (server)`, met: batch.repository.eventsPerSecond >= 10_000, detail: `${batch.repository.eventsPerSecond} events/s` });
    }
    rows.push({
      target: `appendEvents in batches of ${batch.batchSize}: at least half the multi-row INSERT's rate`,
      met: batch.ratio >= 0.5 && batch.allStored,
      detail: `x${batch.ratio} (${batch.repository.eventsPerSecond} vs ${batch.sql.eventsPerSecond} events/s; PostgREST's own bulk insert x${round(batch.postgrest.eventsPerSecond / batch.sql.eventsPerSecond, 3)})`,
    });
  }
  if (results.prune) {
    rows.push({ target: "pruneFinishedTasks: every old task gone, running ones kept", met: results.prune.pruned.tasks === results.prune.tasks && results.prune.runningTasksKept, detail: `${results.prune.pruned.tasks} tasks in ${results.prune.pruned.batches} batches, longest ${results.prune.longestStatementMs} ms` });
  }
  for (const scenario of results.concurrentAppends ?? []) {
    rows.push({
      target: `concurrent appends (${scenario.scenario}): every event landed, seq unique`,
      met: scenario.everyEventLanded && scenario.seqUnique && scenario.seqMatchesReturned && scenario.rejected === 0,
      detail: `${scenario.resolved} resolved, ${scenario.rejected} rejected, ${scenario.perTask.reduce((sum, task) => sum + task.rows, 0)} rows`,
    });
  }
  const reporter = results.progressReporter;
  if (reporter) {
    rows.push({
      target: "progress reporter: final stored progress = last reported",
      met: reporter.finalProgressMatches && reporter.lastMessageMatches,
      detail: `stored ${reporter.storedProgress}, reported ${reporter.lastReported}; ${reporter.rowsWritten} rows for ${reporter.reports} reports`,
    });
  }
  return rows;
}

async function main(argv: string[]): Promise<number> {
  const parsed = parseOptions(argv);
  if (parsed === "help") {
    console.log(usage);
    return 0;
  }
  const options = parsed;
  const load = workload(options.quick);
  const started = performance.now();
  const results: Results = {
    startedAt: new Date().toISOString(),
    stackKind: options.serverUrl ? "postgres" : "pglite",
    quick: options.quick,
    sections: [...options.only],
    workload: load,
    sectionSeconds: {},
  };
  const section = async <T>(name: string, run: () => Promise<T>): Promise<T> => {
    const start = performance.now();
    process.stderr.write(`[bench] ${name}...\n`);
    try {
      return await run();
    } finally {
      results.sectionSeconds[name] = round((performance.now() - start) / 1000, 1);
    }
  };

  if (options.serverUrl && !(await serverAnswers(options.serverUrl))) {
    console.error(`No PostgreSQL server answers at ${options.serverUrl}.`);
    return 1;
  }

  let bench: BenchStack | undefined;
  // Ctrl-C stops the stack (the section under way then fails fast), kills a running command, and
  // the run ends through the usual clean-up, which drops its databases. Repeats are ignored: one
  // Ctrl-C reaches this process twice (from the terminal, and relayed by tsx's parent process).
  const interruption = new AbortController();
  const interrupted = () => {
    if (interruption.signal.aborted) return;
    process.stderr.write("\n[bench] interrupted: stopping the stack and dropping the run's databases\n");
    interruption.abort();
    void bench?.stop();
  };
  process.on("SIGINT", interrupted);
  process.on("SIGTERM", interrupted);

  let failed = false;
  try {
    bench = await section("start stack", () => startBenchStack(options.serverUrl));
    const stack = bench;
    results.environment = await describeEnvironment(stack);
    print(environmentTables(results.environment));

    if (options.only.has("operations")) {
      results.operations = await section("operations", () => benchOperations(stack, load.operations));
      print(operationsTables(results.operations));
    }
    if (options.only.has("batch-appends")) {
      results.batchAppends = await section("batch appends", () => benchBatchAppends(stack, load.batchAppends));
      print(batchAppendsTables(results.batchAppends, stack.sql.description));
    }
    if (options.only.has("concurrent-appends")) {
      results.concurrentAppends = await section("concurrent appends", () => benchConcurrentAppends(stack, load.concurrent));
      print(concurrentAppendsTables(results.concurrentAppends));
    }
    if (options.only.has("progress-reporter")) {
      results.progressReporter = await section("progress reporter", () => benchProgressReporter(stack, load.reporter));
      print(progressReporterTables(results.progressReporter));
    }
    if (options.only.has("prune")) {
      results.prune = await section("prune", () => benchPrune(stack, load.prune));
      print(pruneTables(results.prune));
    }
    if (options.only.has("list-plan")) {
      results.listPlan = await section("list plan", () => benchListPlan(stack, load.listPlan));
      print(listPlanTables(results.listPlan, options.quick ? [{ rows: 1_000_000, reason: "--quick" }] : []));
    }

    await section("stop stack", () => stack.stop());
    bench = undefined;

    if (options.only.has("tool-times")) {
      interruption.signal.throwIfAborted();
      results.toolTimes = await section("tool times", () =>
        benchToolTimes({ runs: load.toolRuns, serverUrl: options.serverUrl ?? defaultServerUrl, signal: interruption.signal }),
      );
      print(toolTimesTables(results.toolTimes));
    }
  } catch (error) {
    failed = true;
    if (interruption.signal.aborted) results.error = "interrupted";
    else {
      results.error = error instanceof Error ? (error.stack ?? error.message) : String(error);
      console.error(`\n[bench] failed: ${results.error}`);
    }
  } finally {
    await bench?.stop();
    process.off("SIGINT", interrupted);
    process.off("SIGTERM", interrupted);
  }

  results.targets = targets(results);
  results.finishedAt = new Date().toISOString();
  results.totalSeconds = round((performance.now() - started) / 1000, 1);
  results.loadAverageAtEnd = loadavg().map((value) => round(value, 2));
  print([
    {
      title: "Targets",
      headers: ["target", "met", "figure"],
      rows: results.targets.map((target) => [target.target, target.met, target.detail]),
    },
    {
      title: "Time",
      headers: ["section", "seconds"],
      rows: [...Object.entries(results.sectionSeconds), ["total", results.totalSeconds]],
      notes: [`Load average (1/5/15 min) at the start: ${results.environment?.machine.loadAverage.join(" ") ?? "?"}; at the end: ${results.loadAverageAtEnd.join(" ")} (${results.environment?.machine.cpus ?? "?"} CPUs).`],
    },
  ]);
  writeFileSync(options.out, `${JSON.stringify(results, null, 2)}\n`);
  console.log(`\nWrote ${path.relative(process.cwd(), options.out) || options.out}`);
  return interruption.signal.aborted ? 130 : failed ? 1 : 0;
}

const workerFlag = "STORY_TASKS_BENCH_WORKER";

if (process.env[workerFlag] === "1") {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      console.error(error instanceof Error ? error.message : error);
      process.exitCode = 1;
    },
  );
} else {
  // The run happens one process further down. tsx's CLI SIGKILLs its child when that child does
  // not acknowledge a relayed Ctrl-C within ~60 ms, and a long PGlite statement (synchronous, on
  // the main thread) keeps it from doing so: PostgREST would be orphaned and a server database
  // left behind. This process only waits, so it acknowledges at once and passes the signal on.
  const worker = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    stdio: "inherit",
    env: { ...process.env, [workerFlag]: "1" },
  });
  const forward = (signal: NodeJS.Signals) => worker.kill(signal);
  process.on("SIGINT", forward);
  process.on("SIGTERM", forward);
  worker.once("exit", (code, signal) => process.exit(code ?? (signal ? 128 + constants.signals[signal] : 1)));
}
