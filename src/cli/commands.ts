// The `story-tasks` commands: what each takes, what it says in the usage text, and what it does.
import { setTimeout as sleep } from "node:timers/promises";
import type { StoryTaskEventRecord, StoryTaskRecord } from "../../generated/records.ts";
import { canMoveTo, isFinalStatus } from "../../generated/status-machine.ts";
import type { StoryTasksRepository } from "../repository/index.ts";
import { UsageError } from "./failures.ts";
import { ago, counted, duration, table } from "./format.ts";
import { parseCount, parseDuration, parseWholeNumber } from "./options.ts";

/** Where a command's output goes: stdout and stderr, one line (or block) per call. */
export interface Output {
  out(text: string): void;
  err(text: string): void;
}

/** The options a command may take (beyond the global --data-dir, --migrate, --json, --help). */
export type CommandOption = "story" | "limit" | "reason" | "interval-ms" | "stale-after" | "message" | "older-than" | "batch-size";

export type OptionValues = Partial<Record<CommandOption, string>>;

export type Run = (repo: StoryTasksRepository, output: Output, json: boolean) => Promise<void>;

export interface Command {
  /** Its arguments, for the usage text: `tail <taskId> [--interval-ms N]`. */
  synopsis: string;
  /** What it does, for the usage text. */
  summary: string;
  /** Whether it takes a task id. */
  task: boolean;
  options: readonly CommandOption[];
  /** Checks the options (a UsageError before anything connects) and returns what runs. */
  prepare(values: OptionValues, taskId: string): Run;
}

// listEvents' largest page: tail reads pages of it until one comes back short.
const eventPageSize = 1000;
export const tailInterval = { defaultMs: 500, minMs: 10, maxMs: 3_600_000 };

const cancelable = (task: StoryTaskRecord) => canMoveTo(task.status, "cancelled");

function required(values: OptionValues, option: CommandOption, command: string): string {
  const value = values[option];
  if (value === undefined) throw new UsageError(`${command} needs --${option}`);
  return value;
}

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

function taskTable(tasks: StoryTaskRecord[]): string {
  return table(
    ["id", "operation", "status", "progress", "created"],
    tasks.map((task) => [task.id, task.operation, task.status, `${task.progress}%`, ago(task.createdAt)]),
  );
}

export const commands: Record<string, Command> = {
  list: {
    synopsis: "list --story <storyId> [--limit N]",
    summary: "a story's tasks, newest first",
    task: false,
    options: ["story", "limit"],
    prepare(values) {
      const storyId = required(values, "story", "list");
      const limit = values.limit === undefined ? undefined : parseCount("limit", values.limit);
      return async (repo, output, json) => {
        const tasks = await repo.listRecentByStory(storyId, limit);
        if (json) output.out(JSON.stringify(tasks));
        else output.out(tasks.length === 0 ? `No tasks for story ${storyId}.` : taskTable(tasks));
      };
    },
  },
  show: {
    synopsis: "show <taskId>",
    summary: "a task, whether it can be cancelled, its latest 50 events",
    task: true,
    options: [],
    prepare(_, taskId) {
      return async (repo, output, json) => {
        const task = await repo.getTask(taskId);
        const events = await repo.listEvents(taskId, { limit: 50, newestFirst: true });
        if (json) return output.out(JSON.stringify({ task, cancelable: cancelable(task), events }));
        output.out(taskLines(task));
        output.out(`\nLatest ${events.length} events, newest first:`);
        output.out(table(["time", "type", "progress", "message"], events.map(eventRow)));
      };
    },
  },
  tail: {
    synopsis: "tail <taskId> [--interval-ms N]",
    summary: `every event of the task in the order appended, then each new one, until the task ends; checks every N ms (${tailInterval.minMs} to ${tailInterval.maxMs}, default ${tailInterval.defaultMs})`,
    task: true,
    options: ["interval-ms"],
    prepare(values, taskId) {
      const intervalMs = values["interval-ms"] === undefined ? tailInterval.defaultMs : parseWholeNumber("interval-ms", values["interval-ms"], tailInterval.minMs, tailInterval.maxMs);
      return async (repo, output, json) => {
        let afterSeq: number | undefined;
        for (;;) {
          // The task before its events: once it is final, every event it had then is in the pages read next.
          const task = await repo.getTask(taskId);
          for (;;) {
            const page = await repo.listEvents(taskId, { limit: eventPageSize, afterSeq });
            for (const event of page) output.out(json ? JSON.stringify(event) : eventRow(event).join("  "));
            afterSeq = page.at(-1)?.seq ?? afterSeq;
            if (page.length < eventPageSize) break;
          }
          if (isFinalStatus(task.status)) return output.out(json ? JSON.stringify({ task }) : `Task ${task.status} at ${task.progress}%.`);
          await sleep(intervalMs);
        }
      };
    },
  },
  cancel: {
    synopsis: "cancel <taskId> [--reason TEXT]",
    summary: "cancel a queued or running task",
    task: true,
    options: ["reason"],
    prepare(values, taskId) {
      const message = values.reason ?? "Cancelled from the story-tasks CLI";
      return async (repo, output, json) => {
        const task = await repo.updateStatus(taskId, { status: "cancelled", event: { eventType: "info", message } });
        output.out(json ? JSON.stringify(task) : `Cancelled ${task.id} (${task.operation}) at ${task.progress}%.`);
      };
    },
  },
  rescue: {
    synopsis: "rescue --stale-after DURATION [--message TEXT]",
    summary: "fail every running task silent (no event, no change) for longer than DURATION, each with an error event",
    task: false,
    options: ["stale-after", "message"],
    prepare(values) {
      const staleAfter = required(values, "stale-after", "rescue");
      const staleAfterMs = parseDuration("stale-after", staleAfter);
      return async (repo, output, json) => {
        const rescued = await repo.rescueStaleTasks({ staleAfterMs, message: values.message });
        if (json) output.out(JSON.stringify(rescued));
        else if (rescued.length === 0) output.out(`No running task was silent for longer than ${staleAfter}.`);
        else output.out(`Failed ${counted(rescued.length, "stale task")}:\n${taskTable(rescued)}`);
      };
    },
  },
  prune: {
    synopsis: "prune --older-than DURATION [--batch-size N]",
    summary: "delete the tasks that finished more than DURATION ago, with their events, N tasks per transaction",
    task: false,
    options: ["older-than", "batch-size"],
    prepare(values) {
      const olderThanMs = parseDuration("older-than", required(values, "older-than", "prune"));
      const batchSize = values["batch-size"] === undefined ? undefined : parseCount("batch-size", values["batch-size"]);
      return async (repo, output, json) => {
        const finishedBefore = new Date(Date.now() - olderThanMs);
        const report = await repo.pruneFinishedTasks({ finishedBefore, batchSize });
        if (json) output.out(JSON.stringify({ finishedBefore: finishedBefore.toISOString(), ...report }));
        else output.out(`Deleted ${counted(report.tasks, "task")} finished before ${finishedBefore.toISOString()} and their ${counted(report.events, "event")}, in ${counted(report.batches, "batch", "batches")}.`);
      };
    },
  },
};
