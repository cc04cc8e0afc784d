// generated/status-machine.ts: the status machine schema/story_tasks.pg.hcl declares, as the
// comment of story_tasks.status carries it into the database (what the trigger reads too).
import { Project, VariableDeclarationKind, type WriterFunction } from "ts-morph";
import type { Queryable } from "../catalog.ts";
import { generatedHeader } from "./emit.ts";

export interface StatusMachine {
  statuses: string[];
  initial: string[];
  transitions: Record<string, string[]>;
  final: string[];
  complete: string;
}

const machineSql = `
SELECT col_description(a.attrelid, a.attnum) AS machine
FROM pg_attribute a
WHERE a.attrelid = 'public.story_tasks'::regclass AND a.attname = 'status'`;

export async function readStatusMachine(db: Queryable): Promise<StatusMachine> {
  const comment = (await db.query<{ machine: string | null }>(machineSql)).rows[0]?.machine;
  if (!comment) throw new Error("codegen: public.story_tasks.status has no comment: the status machine of schema/story_tasks.pg.hcl is missing");
  const machine = JSON.parse(comment) as StatusMachine;
  const known = new Set(machine.statuses);
  const unknown = [...machine.initial, ...machine.final, machine.complete, ...Object.keys(machine.transitions), ...Object.values(machine.transitions).flat()].filter((status) => !known.has(status));
  if (unknown.length > 0) throw new Error(`codegen: the status machine names statuses it does not declare: ${[...new Set(unknown)].join(", ")}`);
  return machine;
}

const list = (values: string[]) => `[${values.map((value) => JSON.stringify(value)).join(", ")}]`;

export function emitStatusMachine(machine: StatusMachine): string {
  const file = new Project({ useInMemoryFileSystem: true, manipulationSettings: { useTrailingCommas: true } }).createSourceFile("status-machine.ts", "");
  file.addImportDeclaration({ isTypeOnly: true, moduleSpecifier: "./records.ts", namedImports: ["StoryTaskStatus"] });
  file.addTypeAlias({ isExported: true, name: "StoryTaskFinalStatus", type: machine.final.map((status) => JSON.stringify(status)).join(" | "), docs: ["A status a task never leaves."] });
  const constant = (name: string, initializer: string | WriterFunction, doc: string) =>
    file.addVariableStatement({ isExported: true, declarationKind: VariableDeclarationKind.Const, docs: [doc], declarations: [{ name, initializer }] });
  constant("STORY_TASK_INITIAL_STATUSES", `${list(machine.initial)} as const satisfies readonly StoryTaskStatus[]`, "Where a new task may start.");
  constant("STORY_TASK_FINAL_STATUSES", `${list(machine.final)} as const satisfies readonly StoryTaskFinalStatus[]`, "The statuses a task never leaves: its status and progress change no more.");
  constant("STORY_TASK_COMPLETE_STATUS", `${JSON.stringify(machine.complete)} as const satisfies StoryTaskFinalStatus`, "The status of a task that did all its work: it ends at progress 100.");
  constant(
    "STORY_TASK_TRANSITIONS",
    (writer) => {
      writer.inlineBlock(() => {
        for (const status of machine.statuses) writer.writeLine(`${JSON.stringify(status)}: ${list(machine.transitions[status] ?? [])},`);
      });
      writer.write(" as const satisfies Record<StoryTaskStatus, readonly StoryTaskStatus[]>");
    },
    "Where each status may go, as the database's status machine allows.",
  );
  file.addFunction({
    isExported: true,
    name: "isFinalStatus",
    docs: [`Whether a task in \`status\` is done for good (${machine.final.join(", ")}).\n@example\nif (isFinalStatus(task.status)) console.log(\`finished \${task.finishedAt}\`);`],
    parameters: [{ name: "status", type: "StoryTaskStatus" }],
    returnType: "status is StoryTaskFinalStatus",
    statements: "return (STORY_TASK_FINAL_STATUSES as readonly StoryTaskStatus[]).includes(status);",
  });
  file.addFunction({
    isExported: true,
    name: "canMoveTo",
    docs: ["Whether the status machine lets a task in `from` move to `to`.\n@example\nconst cancelable = canMoveTo(task.status, \"cancelled\");"],
    parameters: [
      { name: "from", type: "StoryTaskStatus" },
      { name: "to", type: "StoryTaskStatus" },
    ],
    returnType: "boolean",
    statements: "return (STORY_TASK_TRANSITIONS[from] as readonly StoryTaskStatus[]).includes(to);",
  });
  file.formatText({ indentSize: 2, convertTabsToSpaces: true });
  return `${generatedHeader}\n${file.getFullText()}`;
}
