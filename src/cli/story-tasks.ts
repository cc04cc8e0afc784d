#!/usr/bin/env node
// `story-tasks`: list, show, follow and cancel story tasks from a terminal.
import { parseArgs } from "node:util";
import type { StoryTaskEventRecord, StoryTaskRecord } from "../../generated/records.ts";
import {
  StoryTaskNotFoundError,
  StoryTaskTransitionError,
  StoryTaskValidationError,
  StoryTaskConnectionError,
  type StoryTasksRepository,
} from "../repository/index.ts";
import { MissingOptionalPackageError, MissingSchemaError } from "../local-stack/index.ts";
import { ConnectionUsageError, connect } from "./connect.ts";
import { ago, duration, table } from "./format.ts";

const usage = `usage: story-tasks <command> [options]

commands:
  list --story <storyId> [--limit N]   a story's tasks, newest first
  show <taskId>                        a task, whether it can be cancelled, its latest 50 events
  tail <taskId>                        print the task's events as they arrive, until it ends
  cancel <taskId> [--reason TEXT]      cancel a queued or running task

where the tasks are (one of):
  --data-dir DIR                       an embedded database (as written by \`pnpm demo --data-dir DIR\`)
  DATABASE_URL=postgres://...          a PostgreSQL with the story-task schema
    [--migrate]                        ... or apply supabase/migrations/ to it first
  SUPABASE_URL=... SUPABASE_SERVICE_ROLE_KEY=...   a Supabase project

options:
  --json                               machine-readable output
  -h, --help                           this text

exit codes: 0 ok, 1 unexpected failure, 2 usage or invalid input (or a database without
            the schema), 3 not found, 4 refused by the status machine, 5 cannot reach the
            database, 6 a package the local stack needs is not installed`;

const exitCodes = { ok: 0, failure: 1, usage: 2, notFound: 3, refused: 4, connection: 5, missingPackage: 6 } as const;

class UsageError extends Error {}

const cancelable = (task: StoryTaskRecord) => task.status === "queued" || task.status === "running";

function taskLines(task: StoryTaskRecord): string {
  const ran = task.startedAt ? duration(Date.parse(task.finishedAt ?? new Date().toISOString()) - Date.parse(task.startedAt)) : "-";
  return table(
    ["field", "value"],
    [
      ["id", task.id],
      ["operation", task.operation],
      ["status", task.status],
      ["progress", `${task.progress}%`],
      ["story", task.storyId ?? "-"],
      ["requested by", task.requestedBy ?? "-"],
      ["created", `${task.createdAt} (${ago(task.createdAt)})`],
      ["started", task.startedAt ?? "-"],
      ["finished", task.finishedAt ?? "-"],
      ["ran for", ran],
      ["cancelable", cancelable(task) ? "yes" : "no"],
      ["payload", JSON.stringify(task.payload)],
      ["display", JSON.stringify(task.displayFields)],
    ],
  ).replace(/^field +value\n/, "");
}

function eventRow(event: StoryTaskEventRecord): string[] {
  return [event.createdAt, event.eventType, event.progressOverride === null ? "" : `${event.progressOverride}%`, event.message];
}

async function list(repo: StoryTasksRepository, storyId: string | undefined, limit: string | undefined, json: boolean): Promise<void> {
  if (!storyId) throw new UsageError("list needs --story <storyId>");
  const count = limit === undefined ? undefined : Number(limit);
  const tasks = await repo.listRecentByStory(storyId, count);
  if (json) return void console.log(JSON.stringify(tasks));
  if (tasks.length === 0) return void console.log(`No tasks for story ${storyId}.`);
  console.log(
    table(
      ["id", "operation", "status", "progress", "created"],
      tasks.map((task) => [task.id, task.operation, task.status, `${task.progress}%`, ago(task.createdAt)]),
    ),
  );
}

async function show(repo: StoryTasksRepository, taskId: string, json: boolean): Promise<void> {
  const task = await repo.getTask(taskId);
  const events = await repo.listEvents(taskId, { limit: 50, newestFirst: true });
  if (json) return void console.log(JSON.stringify({ task, cancelable: cancelable(task), events }));
  console.log(taskLines(task));
  console.log(`\nLatest ${events.length} events, newest first:`);
  console.log(table(["time", "type", "progress", "message"], events.map(eventRow)));
}

async function tail(repo: StoryTasksRepository, taskId: string, json: boolean, intervalMs: number): Promise<void> {
  let lastSeq = -1;
  const print = (event: StoryTaskEventRecord) => console.log(json ? JSON.stringify(event) : eventRow(event).join("  "));
  for (;;) {
    const task = await repo.getTask(taskId);
    const fresh = (await repo.listEvents(taskId, { limit: 1000, newestFirst: true })).filter((event) => event.seq > lastSeq).reverse();
    fresh.forEach(print);
    lastSeq = fresh.at(-1)?.seq ?? lastSeq;
    if (!cancelable(task)) {
      if (json) console.log(JSON.stringify({ task }));
      else console.log(`Task ${task.status} at ${task.progress}%.`);
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

async function cancel(repo: StoryTasksRepository, taskId: string, reason: string | undefined, json: boolean): Promise<void> {
  const task = await repo.updateStatus(taskId, { status: "cancelled", event: { eventType: "info", message: reason ?? "Cancelled from the story-tasks CLI" } });
  console.log(json ? JSON.stringify(task) : `Cancelled ${task.id} (${task.operation}) at ${task.progress}%.`);
}

function exitCodeFor(error: unknown): number {
  if (error instanceof UsageError || error instanceof ConnectionUsageError || error instanceof StoryTaskValidationError) return exitCodes.usage;
  if (error instanceof StoryTaskNotFoundError) return exitCodes.notFound;
  if (error instanceof StoryTaskTransitionError) return exitCodes.refused;
  if (error instanceof StoryTaskConnectionError) return exitCodes.connection;
  return exitCodes.failure;
}

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        "data-dir": { type: "string" },
        migrate: { type: "boolean", default: false },
        story: { type: "string" },
        limit: { type: "string" },
        reason: { type: "string" },
        "interval-ms": { type: "string", default: "500" },
        json: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    });
  } catch (error) {
    console.error(`story-tasks: ${(error as Error).message}\n\n${usage}`);
    return exitCodes.usage;
  }
  const { positionals, values } = parsed;
  const [command, taskId, ...extra] = positionals;
  if (values.help || !command) {
    console.log(usage);
    return values.help ? exitCodes.ok : exitCodes.usage;
  }
  const needsTask = command === "show" || command === "tail" || command === "cancel";
  if (!["list", "show", "tail", "cancel"].includes(command) || (needsTask && !taskId) || extra.length > 0 || (command === "list" && taskId)) {
    console.error(`story-tasks: ${needsTask && !taskId ? `${command} needs a task id` : `unknown command or extra argument: ${positionals.join(" ")}`}\n\n${usage}`);
    return exitCodes.usage;
  }
  let connection;
  try {
    connection = await connect({ dataDir: values["data-dir"], inMemoryAllowed: false, migrate: values.migrate });
  } catch (error) {
    const code =
      error instanceof ConnectionUsageError || error instanceof MissingSchemaError
        ? exitCodes.usage
        : error instanceof MissingOptionalPackageError
          ? exitCodes.missingPackage
          : exitCodes.connection;
    console.error(`story-tasks: ${error instanceof Error ? error.message : String(error)}`);
    return code;
  }
  try {
    const { repo } = connection;
    if (command === "list") await list(repo, values.story, values.limit, values.json);
    else if (command === "show") await show(repo, taskId!, values.json);
    else if (command === "tail") await tail(repo, taskId!, values.json, Number(values["interval-ms"]));
    else await cancel(repo, taskId!, values.reason, values.json);
    return exitCodes.ok;
  } catch (error) {
    console.error(`story-tasks: ${error instanceof Error ? error.message : String(error)}`);
    return exitCodeFor(error);
  } finally {
    await connection.close();
  }
}

process.exitCode = await main(process.argv.slice(2));
