#!/usr/bin/env node
// `story-tasks`: list, show, follow, cancel, rescue and prune story tasks from a terminal (main.ts).
import { failureKindOf, failureKinds, failureLine, oneLine } from "./failures.ts";
import { runStoryTasks } from "./main.ts";

// Whatever escapes (an error thrown outside a command's promise) still gets one line, not a stack trace.
const last = (error: unknown) => {
  const kind = failureKindOf(error);
  console.error(failureLine(kind, oneLine(error)));
  process.exit(failureKinds[kind].exitCode);
};
process.on("uncaughtException", last);
process.on("unhandledRejection", last);
// A reader that stops reading (`story-tasks tail ... | head`) ends the command, quietly.
process.stdout.on("error", (error: NodeJS.ErrnoException) => (error.code === "EPIPE" ? process.exit(process.exitCode ?? 0) : last(error)));

process.exitCode = await runStoryTasks(process.argv.slice(2));
