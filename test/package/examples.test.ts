// Every public function and method has a JSDoc @example, and every example compiles against the
// package's own entry points under the project's strict settings (as the README's snippet does in
// pack-and-consume.test.ts), so the documentation cannot drift from the API.
import { readFileSync } from "node:fs";
import path from "node:path";
import { type JSDocableNode, Node, Project } from "ts-morph";
import { describe, expect, it } from "vitest";
import { projectRoot } from "../../scripts/lib/atlas-cli.ts";

/** The package's entry points (package.json "exports"), by the names a consumer imports. */
const entryPoints: Record<string, string> = {
  "story-task-persistence": "src/index.ts",
  "story-task-persistence/task-logging": "src/task-logging/index.ts",
  "story-task-persistence/local-stack": "src/local-stack/index.ts",
};
const entries = Object.values(entryPoints);
const readme = readFileSync(path.join(projectRoot, "README.md"), "utf8");

/** What the examples may name without declaring: the values a caller has at hand. */
const givens = `
import { randomUUID } from "node:crypto";
declare const repo: StoryTasksRepository;
declare const supabase: StoryTasksClient;
declare const stack: LocalStack;
declare const reporter: ProgressReporter;
declare const task: StoryTaskRecord;
declare const taskId: string;
declare const storyId: string;
declare const userId: string;
declare const url: string;
declare const serviceRoleKey: string;
declare const job: { id: string; data: Record<string, unknown> };
declare const deltas: string[];
declare const change: { new: unknown };
declare const stream: AsyncIterable<string>;
declare function estimate(delta: string): number;
/** An AI call that honours an AbortSignal. */
declare const model: { stream(prompt: string, options: { signal: AbortSignal }): AsyncIterable<string> };
declare const prompt: string;
`;

interface Example {
  where: string;
  code: string;
}

function examplesOf(node: JSDocableNode): string[] {
  return node.getJsDocs().flatMap((doc) => doc.getTags().filter((tag) => tag.getTagName() === "example").map((tag) => tag.getCommentText()?.trim() ?? ""));
}

function collect(project: Project): { examples: Example[]; missing: string[]; names: Map<string, string>; exported: Map<string, string[]> } {
  const examples: Example[] = [];
  const missing: string[] = [];
  // Each exported name, and the entry it is imported from in the examples' file.
  const names = new Map<string, string>();
  const exported = new Map<string, string[]>();
  for (const entry of entries) {
    const file = project.addSourceFileAtPath(path.join(projectRoot, entry));
    exported.set(entry, [...file.getExportedDeclarations().keys()].sort());
    for (const [name, declarations] of file.getExportedDeclarations()) {
      if (!names.has(name)) names.set(name, entry);
      for (const declaration of declarations) {
        const where = `${path.relative(projectRoot, declaration.getSourceFile().getFilePath())}: ${name}`;
        const documented: [string, JSDocableNode][] = [];
        if (Node.isFunctionDeclaration(declaration)) documented.push([where, declaration]);
        if (Node.isInterfaceDeclaration(declaration)) for (const method of declaration.getMethods()) documented.push([`${where}.${method.getName()}`, method]);
        for (const [label, node] of documented) {
          const found = examplesOf(node).filter(Boolean);
          if (found.length === 0) missing.push(label);
          for (const code of found) examples.push({ where: label, code });
        }
      }
    }
  }
  return { examples, missing, names, exported };
}

describe("the JSDoc examples", () => {
  // The examples import types and values alike by name, as a reader would.
  const project = new Project({ tsConfigFilePath: path.join(projectRoot, "tsconfig.json"), skipAddingFilesFromTsConfig: true, compilerOptions: { verbatimModuleSyntax: false } });
  const { examples, missing, names, exported } = collect(project);

  it("exist on every public function and method", () => {
    expect(examples.length).toBeGreaterThan(20);
    expect(missing).toEqual([]);
  });

  it("compile against the package's entry points", () => {
    const byEntry = new Map<string, string[]>();
    for (const [name, entry] of names) byEntry.set(entry, [...(byEntry.get(entry) ?? []), name]);
    const imports = [...byEntry].map(([entry, imported]) => `import { ${imported.join(", ")} } from "${path.posix.join("../..", entry)}";`).join("\n");
    const body = examples.map((example, index) => `// ${example.where}\nexport async function example${index}() {\n${example.code}\n}`).join("\n\n");
    expect(diagnostics(project, "__examples__.ts", `${imports}\n${givens}\n${body}\n`)).toEqual([]);
  });
});

/** The type errors of `text` compiled as test/package/<name>, each with the example (the `// ` line above it) it is in. */
function diagnostics(project: Project, name: string, text: string): string[] {
  const file = project.createSourceFile(path.join(projectRoot, "test", "package", name), text, { overwrite: true });
  return file.getPreEmitDiagnostics().map((diagnostic) => {
    const line = diagnostic.getLineNumber() ?? 0;
    const example = text.split("\n").slice(0, line).reverse().find((candidate) => candidate.startsWith("// "));
    const message = diagnostic.getMessageText();
    return `${example ?? "?"} (line ${line}): ${typeof message === "string" ? message : message.getMessageText()}`;
  });
}

describe("the README", () => {
  const project = new Project({ tsConfigFilePath: path.join(projectRoot, "tsconfig.json"), skipAddingFilesFromTsConfig: true });
  const { exported } = collect(project);

  it("lists in its API section exactly what each entry point exports", () => {
    const section = /^### API\n([\s\S]*?)\n#{2,3} /m.exec(readme)?.[1] ?? "";
    const listed = new Map<string, string[]>();
    for (const bullet of section.split(/\n- /).slice(1)) {
      const [entry, ...rest] = [...bullet.matchAll(/`([^`]+)`/g)].map((match) => match[1]!);
      listed.set(entryPoints[entry!] ?? entry!, [...new Set(rest)].sort());
    }
    expect(Object.fromEntries(listed)).toEqual(Object.fromEntries(exported));
  });

  it("has a worker loop that compiles against the package", () => {
    const block = /<!-- worker-loop[^>]*-->\s*```ts\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(block).toBeDefined();
    const source = Object.entries(entryPoints)
      .sort(([a], [b]) => b.length - a.length)
      .reduce((text, [name, entry]) => text.replaceAll(`"${name}"`, `"${path.posix.join("../..", entry)}"`), block!);
    expect(diagnostics(project, "__worker_loop__.ts", `// the README's worker loop\n${source}`)).toEqual([]);
  });
});
