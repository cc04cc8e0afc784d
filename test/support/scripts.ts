// Package scripts (`pnpm -s <script> ...`) run as a user runs them, from tests that keep a local
// stack serving in this process meanwhile: to completion, or left running with stdout read line
// by line as it comes.
import { execFile, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { promisify } from "node:util";
import { projectRoot } from "../../scripts/lib/atlas-cli.ts";

const execFileAsync = promisify(execFile);

/** This process's environment without the connection settings the scripts read, plus `env`. */
export const scriptEnv = (env: NodeJS.ProcessEnv): NodeJS.ProcessEnv => ({ ...process.env, DATABASE_URL: "", SUPABASE_URL: "", SUPABASE_SERVICE_ROLE_KEY: "", ...env });

export interface ScriptResult {
  status: number;
  stdout: string;
  stderr: string;
}

/** Runs a package script asynchronously (a local stack in this process must keep serving). */
export async function script(name: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<ScriptResult> {
  try {
    const { stdout, stderr } = await execFileAsync("pnpm", ["-s", name, ...args], { cwd: projectRoot, env: scriptEnv(env), timeout: 120_000, maxBuffer: 64 * 1024 * 1024 });
    return { status: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { status: failed.code ?? -1, stdout: failed.stdout ?? "", stderr: failed.stderr ?? "" };
  }
}

/** supabase-js prints this notice on Node 20 when it loads; it is no failure of ours. */
const nodeDeprecationNotice = /Node\.js 20 and below are deprecated/;

/** What a script wrote on stderr, line by line, without supabase-js's Node 20 notice. */
export const stderrLines = (stderr: string): string[] => stderr.split("\n").filter((line) => line !== "" && !nodeDeprecationNotice.test(line));

/** A package script left running, its stdout read line by line as it comes. */
export interface RunningScript {
  /** Resolves with the first line after the last one matched that matches `pattern`; rejects if the script ends first or `deadlineMs` passes. */
  line(pattern: RegExp, deadlineMs?: number): Promise<string>;
  lines: string[];
  /** What it wrote on stderr so far. */
  stderr(): string;
  /** The exit code. */
  exited: Promise<number | null>;
  /** Ends the script and what it started, if it still runs. */
  stop(): void;
}

export function startScript(name: string, args: string[], env: NodeJS.ProcessEnv): RunningScript {
  // Its own process group, so that stop() reaches tsx and node under pnpm.
  const child = spawn("pnpm", ["-s", name, ...args], { cwd: projectRoot, env: scriptEnv(env), detached: true, stdio: ["ignore", "pipe", "pipe"] });
  const lines: string[] = [];
  let stderr = "";
  let matched = 0;
  let ended = false;
  const waiters = new Set<() => void>();
  const wake = () => waiters.forEach((waiter) => waiter());
  createInterface({ input: child.stdout }).on("line", (line) => {
    lines.push(line);
    wake();
  });
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) =>
    child.on("close", (code) => {
      ended = true;
      wake();
      resolve(code);
    }),
  );
  return {
    lines,
    exited,
    stderr: () => stderr,
    line(pattern, deadlineMs = 60_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => finish(new Error(`no line matching ${pattern} within ${deadlineMs} ms`)), deadlineMs);
        const finish = (failure?: Error, line?: string) => {
          clearTimeout(timer);
          waiters.delete(check);
          if (failure) reject(new Error(`${failure.message}; stdout:\n${lines.slice(-20).join("\n")}\nstderr:\n${stderr}`));
          else resolve(line!);
        };
        const check = () => {
          const found = lines.findIndex((line, index) => index >= matched && pattern.test(line));
          if (found >= 0) {
            matched = found + 1;
            finish(undefined, lines[found]);
          } else if (ended) {
            finish(new Error(`the script ended without a line matching ${pattern}`));
          }
        };
        waiters.add(check);
        check();
      });
    },
    stop() {
      if (!ended && child.pid) process.kill(-child.pid, "SIGTERM");
    },
  };
}
