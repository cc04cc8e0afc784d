// The errors the repository throws, and the one function that turns a PostgREST response's
// error (its body and its HTTP status) into them. Every error keeps the original as `cause`, and
// says whether the same call may succeed if retried (`retryable`).
import type { PostgrestError } from "@supabase/supabase-js";
import type { StoryTaskStatus } from "../../generated/records.ts";

interface ErrorOptions {
  cause?: unknown;
  /** The PostgREST / PostgreSQL error code, when there was one (e.g. "23503", "PGRST116"). */
  code?: string | undefined;
  /** The HTTP status of the response, when one came back (0: none did). */
  httpStatus?: number | undefined;
  retryable?: boolean | undefined;
}

/** Base class: anything the story-task repository could not do. */
export class StoryTaskError extends Error {
  override name = "StoryTaskError";
  /** The PostgREST / PostgreSQL error code, when there was one (e.g. "23503", "PGRST116"). */
  readonly code: string | undefined;
  /** The HTTP status of the response, when one came back. */
  readonly httpStatus: number | undefined;
  /**
   * Whether the same call may succeed if made again: true for lost connections, timeouts,
   * serialization failures and deadlocks; false for anything the input or the task's state decides.
   */
  readonly retryable: boolean;

  constructor(message: string, options: ErrorOptions = {}) {
    super(message, { cause: options.cause });
    this.code = options.code;
    this.httpStatus = options.httpStatus;
    this.retryable = options.retryable ?? false;
  }
}

/** One field of an input and the rule it broke, e.g. { field: "progress", rule: "must be an integer from 0 to 100" }. */
export interface StoryTaskFieldIssue {
  field: string;
  rule: string;
}

/** Input that breaks the schema's rules. Thrown before any request when the validators catch it. */
export class StoryTaskValidationError extends StoryTaskError {
  override name = "StoryTaskValidationError";
  readonly issues: StoryTaskFieldIssue[];

  constructor(issues: StoryTaskFieldIssue[], options: ErrorOptions = {}) {
    super(`Invalid story task input: ${issues.map((issue) => `${issue.field} ${issue.rule}`).join("; ")}`, { ...options, retryable: false });
    this.issues = issues;
  }
}

export class StoryTaskNotFoundError extends StoryTaskError {
  override name = "StoryTaskNotFoundError";
  readonly taskId: string;

  constructor(taskId: string, options: ErrorOptions = {}) {
    super(`Story task ${taskId} not found`, { ...options, retryable: false });
    this.taskId = taskId;
  }
}

/** What a foreign key points at: the story, the requesting user, or the task of an event. */
export type StoryTaskReference = "story" | "requestingUser" | "task";

export class StoryTaskForeignKeyError extends StoryTaskError {
  override name = "StoryTaskForeignKeyError";
  readonly reference: StoryTaskReference;
  /** The input field that holds the reference: storyId, requestedBy or taskId. */
  readonly field: string;

  constructor(reference: StoryTaskReference, field: string, detail: string, options: ErrorOptions = {}) {
    super(`Unknown ${referenceNames[reference]}: ${field} ${detail}`, { ...options, retryable: false });
    this.reference = reference;
    this.field = field;
  }
}

const referenceNames: Record<StoryTaskReference, string> = { story: "story", requestingUser: "requesting user", task: "task" };

/** A status change (or progress change) the status machine refuses; `from` is the status the task is in. */
export class StoryTaskTransitionError extends StoryTaskError {
  override name = "StoryTaskTransitionError";
  readonly from: StoryTaskStatus | null;
  readonly to: StoryTaskStatus;

  constructor(from: StoryTaskStatus | null, to: StoryTaskStatus, message: string, options: ErrorOptions = {}) {
    super(message, { ...options, retryable: false });
    this.from = from;
    this.to = to;
  }
}

/** A task or event id that is stored already with other content: a retry must send the same. */
export class StoryTaskConflictError extends StoryTaskError {
  override name = "StoryTaskConflictError";
  /** The id of the stored task or event. */
  readonly id: string;
  /** The input fields whose stored value differs (camelCase), e.g. ["payload"]. */
  readonly fields: string[];

  constructor(id: string, fields: string[], options: ErrorOptions = {}) {
    super(`Story task conflict: ${id} is stored already with another ${fields.length > 0 ? fields.join(", ") : "content"}`, { ...options, retryable: false });
    this.id = id;
    this.fields = fields;
  }
}

/** The database or PostgREST could not be reached, lost its connection, or timed out: retry. */
export class StoryTaskConnectionError extends StoryTaskError {
  override name = "StoryTaskConnectionError";

  constructor(message: string, options: ErrorOptions = {}) {
    super(message, { ...options, retryable: true });
  }
}

/** The key was refused (401/403), or its role may not do this (42501). */
export class StoryTaskAuthorizationError extends StoryTaskError {
  override name = "StoryTaskAuthorizationError";

  constructor(message: string, options: ErrorOptions = {}) {
    super(message, { ...options, retryable: false });
  }
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
  /** The response's HTTP status (0 when no response came back). */
  httpStatus?: number;
}

/** SQLSTATEs after which the same call may succeed: a serialization failure, a deadlock, a statement timeout. */
const retryableCodes = new Set(["40001", "40P01", "57014"]);

/**
 * The one place PostgREST/PostgreSQL errors become repository errors, from the body's code and
 * the HTTP status:
 * FK 23503, CHECK 23514, NOT NULL 23502, bad text 22P02, bad JSON PGRST102, column change ST002 -> validation or foreign key;
 * ST001 (status machine) -> transition; ST404 and PGRST116 (no row) -> not found;
 * ST409 and 23505 -> conflict; 401, 403 and 42501 -> authorization;
 * no response (a failed or timed-out fetch), 5xx without a PostgREST body, PGRST000-003, 08xxx
 * and 57P01-03 -> connection; anything else -> the base class (retryable for 40001, 40P01, 57014 and HTTP 503).
 * @example
 * // A call of your own through supabase-js, failing the way the repository's calls fail.
 * const { error, status } = await supabase.from("story_tasks").select("id").limit(1);
 * if (error) throw classifyStoryTaskError(error, { httpStatus: status });
 */
export function classifyStoryTaskError(error: PostgrestError, context: ErrorContext = {}): StoryTaskError {
  const httpStatus = context.httpStatus;
  const code = error.code ?? "";
  const options = { cause: error, code: error.code || undefined, httpStatus };
  const constraint = /constraint "([^"]+)"/.exec(error.message)?.[1];
  switch (code) {
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
    case "ST002": {
      const column = /column=(\w+)/.exec(error.details ?? "")?.[1];
      return new StoryTaskValidationError([{ field: column ? camelCase(column) : "(unknown)", rule: error.message }], options);
    }
    case "22P02":
    case "22021":
    case "22P05":
    case "22023":
    case "42703": // a key that is not a column
    case "PGRST102": // a body PostgREST cannot read as JSON
      return new StoryTaskValidationError([{ field: "(input)", rule: error.message }], options);
    case "ST001": {
      const [, from, to] = /from=(\w+) to=(\w+)/.exec(error.details ?? "") ?? [];
      return new StoryTaskTransitionError(from === "none" || !from ? null : (from as StoryTaskStatus), (to ?? "queued") as StoryTaskStatus, error.message, options);
    }
    case "ST404":
    case "PGRST116":
      return new StoryTaskNotFoundError(context.taskId ?? "(unknown)", options);
    case "ST409":
    case "23505": {
      const id = /id=([0-9a-f-]+)/.exec(error.details ?? "")?.[1] ?? /\(id\)=\(([^)]*)\)/.exec(error.details ?? "")?.[1] ?? "(unknown)";
      const fields = /fields=([\w,]+)/.exec(error.details ?? "")?.[1]?.split(",").map(camelCase) ?? [];
      return new StoryTaskConflictError(id, fields, options);
    }
    case "42501":
      return new StoryTaskAuthorizationError(`Story task request not allowed: ${error.message}`, options);
  }
  if (httpStatus === 401 || httpStatus === 403 || /^PGRST30\d$/.test(code)) {
    return new StoryTaskAuthorizationError(`Story task request not allowed (HTTP ${httpStatus ?? "?"}): ${error.message || "the key was refused"}`, options);
  }
  // No response at all (supabase-js reports a failed or aborted fetch with HTTP status 0); a 5xx
  // from something in front of PostgREST, without a PostgreSQL code; PostgREST without its
  // database (PGRST000-003); the connection lost or the server shutting down (08xxx, 57P01-03);
  // or PostgREST's connection dying mid-query (no code and no message: real SQL errors carry one).
  if (
    httpStatus === 0 ||
    (httpStatus !== undefined && httpStatus >= 500 && !/^[0-9A-Z]{5}$/.test(code)) ||
    /^PGRST00[0-3]$|^08...$|^57P0[1-3]$/.test(code) ||
    (!code && !error.message) ||
    (!code && httpStatus === undefined && /fetch failed|ECONNREFUSED|socket|network|AbortError|TimeoutError/i.test(`${error.message} ${error.details}`))
  ) {
    return new StoryTaskConnectionError(`Story task storage unreachable: ${error.message || `HTTP ${httpStatus}`}`, options);
  }
  // 503: PostgREST's answer to the database running short of resources (53xxx: too many connections, out of memory).
  return new StoryTaskError(`Story task request failed${code ? ` (${code})` : ""}: ${error.message}`, { ...options, retryable: retryableCodes.has(code) || httpStatus === 503 });
}

/** A PostgREST response as supabase-js returns it. */
export interface PostgrestResponse<T> {
  data: T | null;
  error: PostgrestError | null;
  status: number;
}

/** The response's data, or its error classified and thrown. */
export function dataOf<T>(response: PostgrestResponse<T>, context: Omit<ErrorContext, "httpStatus"> = {}): T {
  if (response.error) throw classifyStoryTaskError(response.error, { ...context, httpStatus: response.status });
  return response.data as T;
}

// The names these errors had before one naming scheme; the same classes, so `instanceof` holds.
/** @deprecated Renamed {@link StoryTaskError}. */
export const StoryTasksRepositoryError = StoryTaskError;
/** @deprecated Renamed {@link StoryTaskError}. */
export type StoryTasksRepositoryError = StoryTaskError;
/** @deprecated Renamed {@link StoryTaskConnectionError}. */
export const StoryTasksConnectionError = StoryTaskConnectionError;
/** @deprecated Renamed {@link StoryTaskConnectionError}. */
export type StoryTasksConnectionError = StoryTaskConnectionError;
/** @deprecated Renamed {@link StoryTaskAuthorizationError}. */
export const StoryTasksAuthorizationError = StoryTaskAuthorizationError;
/** @deprecated Renamed {@link StoryTaskAuthorizationError}. */
export type StoryTasksAuthorizationError = StoryTaskAuthorizationError;
