// Every public function and method has a JSDoc @example, and every example compiles against the
// package's own entry points under the project's strict settings (as the README's snippet does in
// pack-and-consume.test.ts), so the documentation cannot drift from the API.
import path from "node:path";
import { type JSDocableNode, Node, Project } from "ts-morph";
import { describe, expect, it } from "vitest";
import { projectRoot } from "../../scripts/lib/atlas-cli.ts";

/** The package's entry points (package.json "exports"). */
const entries = ["src/index.ts", "src/task-logging/index.ts", "src/local-stack/index.ts"];

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

function collect(project: Project): { examples: Example[]; missing: string[]; names: Map<string, string> } {
  const examples: Example[] = [];
  const missing: string[] = [];
  // Each exported name, and the entry it is imported from in the examples' file.
  const names = new Map<string, string>();
  for (const entry of entries) {
    const file = project.addSourceFileAtPath(path.join(projectRoot, entry));
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
  return { examples, missing, names };
}

describe("the JSDoc examples", () => {
  // The examples import types and values alike by name, as a reader would.
  const project = new Project({ tsConfigFilePath: path.join(projectRoot, "tsconfig.json"), skipAddingFilesFromTsConfig: true, compilerOptions: { verbatimModuleSyntax: false } });
  const { examples, missing, names } = collect(project);

  it("exist on every public function and method", () => {
    expect(examples.length).toBeGreaterThan(20);
    expect(missing).toEqual([]);
  });

  it("compile against the package's entry points", () => {
    const byEntry = new Map<string, string[]>();
    for (const [name, entry] of names) byEntry.set(entry, [...(byEntry.get(entry) ?? []), name]);
    const imports = [...byEntry].map(([entry, imported]) => `import { ${imported.join(", ")} } from "${path.posix.join("../..", entry)}";`).join("\n");
    const body = examples.map((example, index) => `// ${example.where}\nexport async function example${index}() {\n${example.code}\n}`).join("\n\n");
    const file = project.createSourceFile(path.join(projectRoot, "test", "package", "__examples__.ts"), `${imports}\n${givens}\n${body}\n`, { overwrite: true });
    const problems = file.getPreEmitDiagnostics().map((diagnostic) => {
      const line = diagnostic.getLineNumber() ?? 0;
      const example = file.getFullText().split("\n").slice(0, line).reverse().find((text) => text.startsWith("// "));
      const message = diagnostic.getMessageText();
      return `${example ?? "?"} (line ${line}): ${typeof message === "string" ? message : message.getMessageText()}`;
    });
    expect(problems).toEqual([]);
  });
});
