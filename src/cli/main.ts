// `story-tasks`: reads the command line, connects, runs the command and closes; every failure
// is one line on stderr naming its kind, and the exit code that kind has (failures.ts).
import { parseArgs } from "node:util";
import { type Command, type CommandOption, type OptionValues, type Output, type Run, commands } from "./commands.ts";
import { type ConnectOptions, type Connection, connect } from "./connect.ts";
import { UsageError, failureKindOf, failureKinds, failureLine, oneLine } from "./failures.ts";

const commandOptions = {
  story: { type: "string" },
  limit: { type: "string" },
  reason: { type: "string" },
  "interval-ms": { type: "string" },
  "stale-after": { type: "string" },
  message: { type: "string" },
  "older-than": { type: "string" },
  "batch-size": { type: "string" },
} as const satisfies Record<CommandOption, { type: "string" }>;

const options = {
  ...commandOptions,
  "data-dir": { type: "string" },
  migrate: { type: "boolean" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

const indent = (text: string) => `      ${text}`;

export const usage = `usage: story-tasks <command> [options]

commands:
${Object.values(commands)
  .map((command) => `  ${command.synopsis}\n${indent(command.summary)}`)
  .join("\n")}

  DURATION is a whole number and a unit (ms, s, m, h or d): 90s, 15m, 2h, 30d.

where the tasks are (one of):
  --data-dir DIR                an embedded database (as written by \`pnpm demo --data-dir DIR\`)
  DATABASE_URL=postgres://...   a PostgreSQL with the story-task schema
    [--migrate]                 ... or apply supabase/migrations/ to it first
  SUPABASE_URL=https://... SUPABASE_SERVICE_ROLE_KEY=...   a Supabase project

options:
  --json                        machine-readable output
  -h, --help                    this text

exit codes (a failure prints one line, "story-tasks: <kind>: <message>", on stderr):
  0  ok
${Object.values(failureKinds)
  .map((kind) => `  ${kind.exitCode}  ${kind.means}`)
  .join("\n")}`;

export type Invocation = { help: true } | { help: false; json: boolean; connectOptions: ConnectOptions; run: Run };

/** The command line as a command ready to run; a UsageError for anything it cannot run. */
export function parseCommandLine(argv: string[]): Invocation {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, options });
  } catch (error) {
    throw new UsageError(oneLine(error));
  }
  const { positionals, values } = parsed;
  if (values.help) return { help: true };
  const [name, taskId, ...extra] = positionals;
  const names = Object.keys(commands);
  if (!name) throw new UsageError(`say which command: ${names.join(", ")} (story-tasks --help says more)`);
  const command: Command | undefined = Object.hasOwn(commands, name) ? commands[name] : undefined;
  if (!command) throw new UsageError(`unknown command ${JSON.stringify(name)}: the commands are ${names.join(", ")}`);
  if (command.task && !taskId) throw new UsageError(`${name} needs a task id`);
  const unexpected = command.task ? extra : positionals.slice(1);
  if (unexpected.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(unexpected[0])}: ${command.synopsis}`);
  const given = (Object.keys(commandOptions) as CommandOption[]).filter((option) => values[option] !== undefined);
  const foreign = given.find((option) => !command.options.includes(option));
  if (foreign) throw new UsageError(`--${foreign} is not an option of ${name}: ${command.synopsis}`);
  const optionValues: OptionValues = Object.fromEntries(given.map((option) => [option, values[option]]));
  const connectOptions = { dataDir: values["data-dir"], inMemoryAllowed: false, migrate: values.migrate ?? false };
  return { help: false, json: values.json ?? false, connectOptions, run: command.prepare(optionValues, taskId ?? "") };
}

export interface StoryTasksDependencies {
  /** Where output goes (the console by default). */
  output?: Output;
  /** How the store is reached (connect.ts by default). */
  connect?: (options: ConnectOptions) => Promise<Connection>;
}

const consoleOutput: Output = { out: (text) => console.log(text), err: (text) => console.error(text) };

/** Runs `story-tasks` with these arguments; resolves with the exit code, never rejects. */
export async function runStoryTasks(argv: string[], dependencies: StoryTasksDependencies = {}): Promise<number> {
  const { output = consoleOutput, connect: open = connect } = dependencies;
  const fail = (error: unknown, doing = ""): number => {
    const kind = failureKindOf(error);
    output.err(failureLine(kind, `${doing}${oneLine(error)}`));
    return failureKinds[kind].exitCode;
  };
  let invocation: Invocation;
  try {
    invocation = parseCommandLine(argv);
  } catch (error) {
    return fail(error);
  }
  if (invocation.help) {
    output.out(usage);
    return 0;
  }
  let connection: Connection;
  try {
    connection = await open(invocation.connectOptions);
  } catch (error) {
    return fail(error);
  }
  let exitCode = 0;
  try {
    await invocation.run(connection.repo, output, invocation.json);
  } catch (error) {
    exitCode = fail(error);
  }
  try {
    await connection.close();
  } catch (error) {
    // The command's failure keeps its code; the close's is told on a line of its own.
    const closing = fail(error, `closing the connection failed${exitCode === 0 ? "" : " too"}: `);
    if (exitCode === 0) exitCode = closing;
  }
  return exitCode;
}
