// What the figures were measured on: the machine, the stack, and the versions of its parts.
import { readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { projectRoot } from "../scripts/lib/atlas-cli.ts";
import type { BenchStack } from "./bench-stack.ts";
import type { Table } from "./table.ts";

export interface Environment {
  date: string;
  machine: { cpus: number; cpuModel: string; memoryGiB: number; platform: string; release: string; arch: string; node: string; loadAverage: number[] };
  stack: {
    kind: BenchStack["kind"];
    description: string;
    database: string | null;
    postgresVersion: string;
    postgrest: string;
    pglite: string | null;
    supabaseJs: string;
    pg: string;
  };
}

/** A dependency's version as installed (its package.json under node_modules). */
function installedVersion(name: string): string {
  try {
    const manifest = JSON.parse(readFileSync(path.join(projectRoot, "node_modules", name, "package.json"), "utf8")) as { version?: string };
    return manifest.version ?? "unknown";
  } catch {
    return "unknown";
  }
}

export async function describeEnvironment(bench: BenchStack): Promise<Environment> {
  const version = (await bench.stack.query<{ server_version: string }>("SHOW server_version")).rows[0]?.server_version ?? "unknown";
  // PostgREST names itself in the Server header of every response.
  const response = await bench.stack.fetch(`${bench.stack.url}/rest/v1/`, { headers: { apikey: bench.stack.serviceRoleKey, Authorization: `Bearer ${bench.stack.serviceRoleKey}` } });
  await response.arrayBuffer();
  const cpus = os.cpus();
  return {
    date: new Date().toISOString(),
    machine: {
      cpus: cpus.length,
      cpuModel: cpus[0]?.model.trim() ?? "unknown",
      memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
      platform: os.platform(),
      release: os.release(),
      arch: os.arch(),
      node: process.version,
      loadAverage: os.loadavg().map((value) => Math.round(value * 100) / 100),
    },
    stack: {
      kind: bench.kind,
      description:
        bench.kind === "pglite"
          ? "embedded PGlite (in this process, in memory) behind PostgREST via the PGlite socket server"
          : "PostgreSQL server, a fresh database for this run, behind PostgREST",
      database: bench.database ?? null,
      postgresVersion: version,
      postgrest: response.headers.get("server") ?? "unknown",
      pglite: bench.kind === "pglite" ? installedVersion("@electric-sql/pglite") : null,
      supabaseJs: installedVersion("@supabase/supabase-js"),
      pg: installedVersion("pg"),
    },
  };
}

export function environmentTables(environment: Environment): Table[] {
  const { machine, stack } = environment;
  return [
    {
      title: "Run",
      headers: ["what", "value"],
      rows: [
        ["date", environment.date],
        ["stack", `${stack.kind}: ${stack.description}`],
        ...(stack.database ? [["database", stack.database]] : []),
        ["PostgreSQL", stack.postgresVersion + (stack.pglite ? ` (PGlite ${stack.pglite})` : "")],
        ["PostgREST", stack.postgrest],
        ["supabase-js / pg", `${stack.supabaseJs} / ${stack.pg}`],
        ["machine", `${machine.cpus} x ${machine.cpuModel}, ${machine.memoryGiB} GiB, ${machine.platform} ${machine.release} ${machine.arch}`],
        ["node", machine.node],
        ["load average at start", machine.loadAverage.join(" ")],
      ],
    },
  ];
}
