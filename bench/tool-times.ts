// Wall times of the developer commands, run as a user runs them (child `pnpm -s ...` processes):
// `codegen --check`; `db:apply` on a scratch server database (fresh, then with nothing to do);
// and each deploy path (db:apply, db:migrate, db:push) and db:drift on a Supabase-shaped
// database, as its non-superuser deploy role.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { projectRoot } from "../scripts/lib/atlas-cli.ts";
import { dropDatabase, recreateDatabase, withClient, withDatabaseName } from "../scripts/lib/postgres.ts";
import { createSupabaseProject, ensureSupabaseRoles, supabaseEnv } from "../test/support/supabase-project.ts";
import { serverAnswers } from "./bench-stack.ts";
import { median, round } from "./stats.ts";
import type { Table } from "./table.ts";

export interface CommandTiming {
  command: string;
  runs: number[];
  medianSeconds: number;
  minSeconds: number;
  maxSeconds: number;
  /** Exit codes other than 0, with the end of the output of the first failure. */
  failures: number;
  failure: string | null;
}

export interface ToolTimesResult {
  runs: number;
  commands: CommandTiming[];
  skipped: string | null;
}

interface Finished {
  seconds: number;
  status: number;
  output: string;
}

function runPnpm(args: string[], signal: AbortSignal, env: NodeJS.ProcessEnv = {}): Promise<Finished> {
  signal.throwIfAborted();
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = spawn("pnpm", ["-s", ...args], { cwd: projectRoot, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"], signal });
    let output = "";
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString("utf8")).slice(-4_000);
    };
    child.stdout.on("data", keep);
    child.stderr.on("data", keep);
    child.once("error", reject);
    child.once("close", (code) => resolve({ seconds: (performance.now() - start) / 1000, status: code ?? -1, output }));
  });
}

function summarizeRuns(command: string, finished: Finished[]): CommandTiming {
  const runs = finished.map((run) => run.seconds);
  const failed = finished.filter((run) => run.status !== 0);
  return {
    command,
    runs,
    medianSeconds: median(runs),
    minSeconds: Math.min(...runs),
    maxSeconds: Math.max(...runs),
    failures: failed.length,
    failure: failed[0] ? `exit ${failed[0].status}: ${failed[0].output.trim().split("\n").slice(-3).join(" | ")}` : null,
  };
}

export async function benchToolTimes(options: { runs: number; serverUrl: string; signal: AbortSignal }): Promise<ToolTimesResult> {
  const { signal } = options;
  // Warm runs: one untimed run first builds codegen's cached database if a migration changed.
  await runPnpm(["codegen", "--check"], signal);
  const codegen: Finished[] = [];
  for (let run = 0; run < options.runs; run += 1) codegen.push(await runPnpm(["codegen", "--check"], signal));
  const commands = [summarizeRuns("pnpm -s codegen --check (warm: after one untimed run)", codegen)];

  if (!(await serverAnswers(options.serverUrl))) {
    return { runs: options.runs, commands, skipped: `db:apply skipped: no PostgreSQL server answers at ${options.serverUrl}` };
  }
  const fresh: Finished[] = [];
  const again: Finished[] = [];
  for (let run = 0; run < options.runs; run += 1) {
    // A new empty database per run, with the stand-ins (untimed), so each timed apply starts alike.
    const url = withDatabaseName(options.serverUrl, `story_tasks_bench_apply_${randomBytes(4).toString("hex")}`);
    await recreateDatabase(url);
    try {
      const standIns = await runPnpm(["db:stand-ins"], signal, { DATABASE_URL: url });
      if (standIns.status !== 0) throw new Error(`pnpm db:stand-ins failed: ${standIns.output}`);
      fresh.push(await runPnpm(["db:apply"], signal, { DATABASE_URL: url }));
      again.push(await runPnpm(["db:apply"], signal, { DATABASE_URL: url }));
    } finally {
      await dropDatabase(url);
    }
  }
  commands.push(summarizeRuns("pnpm -s db:apply (fresh database, after db:stand-ins)", fresh));
  commands.push(summarizeRuns("pnpm -s db:apply (again: no changes)", again));
  commands.push(...(await timeDeployPaths(options)));
  return { runs: options.runs, commands, skipped: null };
}

/** Each deploy path on a fresh Supabase-shaped database: the first deploy, the second (nothing to do), then db:drift. */
async function timeDeployPaths(options: { runs: number; serverUrl: string; signal: AbortSignal }): Promise<CommandTiming[]> {
  const created = await ensureSupabaseRoles();
  const timings: CommandTiming[] = [];
  try {
    for (const path of ["db:apply", "db:migrate", "db:push"]) {
      const first: Finished[] = [];
      const second: Finished[] = [];
      const drift: Finished[] = [];
      for (let run = 0; run < options.runs; run += 1) {
        const project = await createSupabaseProject(`bench_${path.replace(":", "_")}`);
        try {
          const env = supabaseEnv(project);
          first.push(await runPnpm([path, "--env", "supabase"], options.signal, env));
          second.push(await runPnpm([path, "--env", "supabase"], options.signal, env));
          drift.push(await runPnpm(["db:drift", "--env", "supabase"], options.signal, env));
        } finally {
          await project.drop();
        }
      }
      timings.push(summarizeRuns(`pnpm -s ${path} --env supabase (a fresh Supabase-shaped database)`, first));
      timings.push(summarizeRuns(`pnpm -s ${path} --env supabase (again: nothing to do)`, second));
      timings.push(summarizeRuns(`pnpm -s db:drift --env supabase (after ${path})`, drift));
    }
  } finally {
    // Leave the server's roles as they were found.
    await withClient(options.serverUrl, async (client) => {
      for (const role of created.reverse()) await client.query(`DROP ROLE IF EXISTS "${role}"`).catch(() => undefined);
    });
  }
  return timings;
}

export function toolTimesTables(result: ToolTimesResult): Table[] {
  return [
    {
      title: `Developer commands: wall time of ${result.runs} run(s) each, as child processes`,
      headers: ["command", "median s", "min s", "max s", "failed runs"],
      rows: result.commands.map((command) => [command.command, round(command.medianSeconds, 2), round(command.minSeconds, 2), round(command.maxSeconds, 2), command.failures]),
      notes: [
        "Includes pnpm's and tsx's start-up; db:apply includes Atlas building schema/ in its own scratch database.",
        ...(result.skipped ? [result.skipped] : []),
        ...result.commands.filter((command) => command.failure).map((command) => `${command.command}: ${command.failure}`),
      ],
    },
  ];
}
