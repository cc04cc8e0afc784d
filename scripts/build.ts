// `pnpm build`: ESM JavaScript and .d.ts into dist/, with the migrations the embedded stack applies.
import { spawnSync } from "node:child_process";
import { chmodSync, cpSync, rmSync } from "node:fs";
import path from "node:path";
import { projectRoot } from "./lib/atlas-cli.ts";

const dist = path.join(projectRoot, "dist");
rmSync(dist, { recursive: true, force: true });
const compiled = spawnSync("tsc", ["-p", "tsconfig.build.json"], { cwd: projectRoot, stdio: "inherit" });
if (compiled.status !== 0) process.exit(compiled.status ?? 1);
// src/local-stack/migrations.ts finds them at ../../supabase/migrations from its own file.
cpSync(path.join(projectRoot, "supabase", "migrations"), path.join(dist, "supabase", "migrations"), { recursive: true });
chmodSync(path.join(dist, "src", "cli", "story-tasks.js"), 0o755);
console.log("Built dist/.");
