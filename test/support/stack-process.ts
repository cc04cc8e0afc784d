// A process that starts a local stack (on STACK_DATABASE_URL, else the embedded PGlite), prints
// its PostgREST's pid as one JSON line, and waits to be killed: for the no-process-left tests.
import { execFileSync } from "node:child_process";
import { startLocalStack } from "../../src/local-stack/index.ts";

const databaseUrl = process.env.STACK_DATABASE_URL || undefined;
await startLocalStack({ databaseUrl });
const postgrest = execFileSync("ps", ["-o", "pid=,comm=", "--ppid", String(process.pid)], { encoding: "utf8" })
  .split("\n")
  .map((line) => line.trim().split(/\s+/))
  .filter(([, command]) => command === "postgrest")
  .map(([pid]) => Number(pid));
process.stdout.write(`${JSON.stringify({ postgrest })}\n`);
setInterval(() => undefined, 60_000);
