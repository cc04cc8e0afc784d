// The errors the repository throws, and the one function that turns a PostgREST/PostgreSQL
// error into them. Every error keeps the original error as `cause`.
import type { PostgrestError } from "@supabase/supabase-js";
import type { StoryTaskStatus } from "../../generated/records.ts";

/** Base class: anything the story-task repository could not do. */
export class StoryTasksRepositoryError extends Error {
  override name = "StoryTasksRepositoryError";
  /** The PostgREST / PostgreSQL error code, when there was one (e.g. "23503", "PGRST116"). */
  readonly code: string | undefined;

  constructor(message: string, options: { cause?: unknown; code?: string | undefined } = {}) {
    super(message, { cause: options.cause });
    this.code = options.code;
  }
}

/** One field of an input and the rule it broke, e.g. { field: "progress", rule: "must be an integer from 0 to 100" }. */
export interface StoryTaskFieldIssue {
  field: string;
  rule: string;
}

/** Input that breaks the schema's rules. Thrown before any request when the validators catch it. */
export class StoryTaskValidationError extends StoryTasksRepositoryError {
  override name = "StoryTaskValidationError";
  readonly issues: StoryTaskFieldIssue[];

  constructor(issues: StoryTaskFieldIssue[], options: { cause?: unknown; code?: string } = {}) {
    super(`Invalid story task input: ${issues.map((issue) => `${issue.field} ${issue.rule}`).join("; ")}`, options);
    this.issues = issues;
  }
}

export class StoryTaskNotFoundError extends StoryTasksRepositoryError {
  override name = "StoryTaskNotFoundError";
  readonly taskId: string;

  constructor(taskId: string, options: { cause?: unknown; code?: string } = {}) {
    super(`Story task ${taskId} not found`, options);
    this.taskId = taskId;
  }
}

/** What a foreign key points at: the story, the requesting user, or the task of an event. */
export type StoryTaskReference = "story" | "requestingUser" | "task";

export class StoryTaskForeignKeyError extends StoryTasksRepositoryError {
  override name = "StoryTaskForeignKeyError";
  readonly reference: StoryTaskReference;
  /** The input field that holds the reference: storyId, requestedBy or taskId. */
  readonly field: string;

  constructor(reference: StoryTaskReference, field: string, detail: string, options: { cause?: unknown; code?: string } = {}) {
    super(`Unknown ${referenceNames[reference]}: ${field} ${detail}`, options);
    this.reference = reference;
    this.field = field;
  }
}

const referenceNames: Record<StoryTaskReference, string> = { story: "story", requestingUser: "requesting user", task: "task" };

/** A status change (or progress change) the status machine refuses. */
export class StoryTaskTransitionError extends StoryTasksRepositoryError {
  override name = "StoryTaskTransitionError";
  readonly from: StoryTaskStatus | null;
  readonly to: StoryTaskStatus;

  constructor(from: StoryTaskStatus | null, to: StoryTaskStatus, message: string, options: { cause?: unknown; code?: string } = {}) {
    super(message, options);
    this.from = from;
    this.to = to;
  }
}

/** The database or PostgREST could not be reached, or lost its connection. */
export class StoryTasksConnectionError extends StoryTasksRepositoryError {
  override name = "StoryTasksConnectionError";
}

const foreignKeys: Record<string, { reference: StoryTaskReference; field: string }> = {
  story_tasks_story_id_fkey: { reference: "story", field: "storyId" },
  story_tasks_requested_by_fkey: { reference: "requestingUser", field: "requestedBy" },
  story_task_events_task_id_fkey: { reference: "task", field: "taskId" },
};

const camelCase = (snake: string) => snake.replace(/_([a-z0-9])/g, (_, letter: string) => letter.toUpperCase());

/** The column a CHECK constraint named `<table>_<column>_check` guards. */
function checkedField(constraint: string): string {
  const column = constraint.replace(/^story_task_events_|^story_tasks_/, "").replace(/_check$/, "");
  return camelCase(column);
}

/** What the repository was doing when the error came back, for the messages. */
export interface ErrorContext {
  taskId?: string;
}

/**
 * The one place PostgREST/PostgreSQL errors become repository errors:
 * FK 23503, CHECK 23514, NOT NULL 23502, bad text 22P02 -> validation or foreign key;
 * ST001 (status machine) -> transition; ST404 and PGRST116 (no row) -> not found;
 * PGRST000-003, 08xxx, 57P01-03 and failed fetches -> connection; anything else -> the base class.
 */
export function classifyStoryTaskError(error: PostgrestError, context: ErrorContext = {}): StoryTasksRepositoryError {
  const options = { cause: error, code: error.code };
  const constraint = /constraint "([^"]+)"/.exec(error.message)?.[1];
  switch (error.code) {
    case "23503": {
      const foreignKey = constraint ? foreignKeys[constraint] : undefined;
      if (foreignKey) {
        const value = /=\(([^)]*)\)/.exec(error.details ?? "")?.[1];
        return new StoryTaskForeignKeyError(foreignKey.reference, foreignKey.field, value ? `${value} does not exist` : "refers to a row that does not exist", options);
      }
      break;
    }
    case "23514":
      if (constraint) return new StoryTaskValidationError([{ field: checkedField(constraint), rule: `breaks the database's ${constraint}` }], options);
      break;
    case "23502": {
      const column = /column "([^"]+)"/.exec(error.message)?.[1];
      return new StoryTaskValidationError([{ field: column ? camelCase(column) : "(unknown)", rule: "must not be null" }], options);
    }
    case "22P02":
    case "22021":
    case "22P05":
    case "PGRST102": // a body PostgREST cannot read as JSON
      return new StoryTaskValidationError([{ field: "(input)", rule: error.message }], options);
    case "ST001": {
      const [, from, to] = /from=(\w+) to=(\w+)/.exec(error.details ?? "") ?? [];
      return new StoryTaskTransitionError(from === "none" || !from ? null : (from as StoryTaskStatus), (to ?? "queued") as StoryTaskStatus, error.message, options);
    }
    case "ST404":
    case "PGRST116":
      return new StoryTaskNotFoundError(context.taskId ?? "(unknown)", options);
  }
  const code = error.code ?? "";
  // PGRST000-003: PostgREST has no database connection; 08xxx and 57P01-03: the connection was
  // lost or the server is shutting down; no code and no message: PostgREST's connection died
  // mid-query (real SQL errors always carry a code); no code with a network message: fetch failed.
  if (
    /^PGRST00[0-3]$|^08...$|^57P0[1-3]$/.test(code) ||
    (!code && !error.message) ||
    (!code && /fetch failed|ECONNREFUSED|socket|network/i.test(`${error.message} ${error.details}`))
  ) {
    return new StoryTasksConnectionError(`Story task storage unreachable: ${error.message}`, options);
  }
  return new StoryTasksRepositoryError(`Story task request failed${error.code ? ` (${error.code})` : ""}: ${error.message}`, options);
}
