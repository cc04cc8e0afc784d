// What went wrong, for the `story-tasks` CLI: each kind of failure has its exit code and the
// words its one stderr line starts with. The kind comes from the error's class, and for the
// repository's base error from `retryable`; the usage text and the README list the same table.
import { DeployLedgerConflictError } from "../local-stack/deploy-ledgers.ts";
import { MigrationError } from "../local-stack/migrations.ts";
import { MissingOptionalPackageError } from "../local-stack/optional-packages.ts";
import { MissingSchemaError } from "../local-stack/backends/postgres-server.ts";
import {
  StoryTaskAuthorizationError,
  StoryTaskConnectionError,
  StoryTaskError,
  StoryTaskNotFoundError,
  StoryTaskTransitionError,
  StoryTaskValidationError,
} from "../repository/errors.ts";
import { ConnectionUsageError } from "./connect.ts";

/** A command line the CLI cannot run: an unknown command, a missing or malformed option. */
export class UsageError extends Error {
  override name = "UsageError";
}

export const failureKinds = {
  unexpected: { exitCode: 1, label: "unexpected failure", means: "unexpected failure" },
  usage: { exitCode: 2, label: "usage", means: "usage or invalid input (a malformed option, task id or URL)" },
  notFound: { exitCode: 3, label: "not found", means: "no such task" },
  refused: { exitCode: 4, label: "refused by the status machine", means: "refused by the status machine" },
  unreachable: { exitCode: 5, label: "cannot reach the database", means: "cannot reach the database (or PostgREST, or SUPABASE_URL)" },
  missingPackage: { exitCode: 6, label: "missing package", means: "a package the local stack needs is not installed" },
  schema: { exitCode: 7, label: "database schema", means: "the database has no story-task schema, or a migration failed" },
  accessRefused: { exitCode: 8, label: "access refused", means: "the key (or the database login) was refused" },
  temporary: { exitCode: 9, label: "temporary failure, try again", means: "a failure that may pass on retry (a timeout, a deadlock)" },
} as const;

export type FailureKind = keyof typeof failureKinds;

// Node's codes for a connection that could not be made or was lost.
const networkCodes = new Set(["ECONNREFUSED", "ECONNRESET", "ENOTFOUND", "EAI_AGAIN", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "EPIPE"]);

/** The `code` of an error from pg or node:net, or of the first error inside an AggregateError. */
function systemCode(error: unknown): string | undefined {
  const { code, errors } = (error ?? {}) as { code?: unknown; errors?: unknown };
  if (typeof code === "string") return code;
  return Array.isArray(errors) ? systemCode(errors[0]) : undefined;
}

export function failureKindOf(error: unknown): FailureKind {
  if (error instanceof UsageError || error instanceof ConnectionUsageError || error instanceof StoryTaskValidationError) return "usage";
  if (error instanceof StoryTaskNotFoundError) return "notFound";
  if (error instanceof StoryTaskTransitionError) return "refused";
  if (error instanceof StoryTaskConnectionError) return "unreachable";
  if (error instanceof StoryTaskAuthorizationError) return "accessRefused";
  if (error instanceof StoryTaskError) return error.retryable ? "temporary" : "unexpected";
  if (error instanceof MissingOptionalPackageError) return "missingPackage";
  if (error instanceof MissingSchemaError || error instanceof MigrationError || error instanceof DeployLedgerConflictError) return "schema";
  // The local stack's own connection to DATABASE_URL (pg): refused, lost, no such database, login refused.
  const code = systemCode(error) ?? "";
  if (networkCodes.has(code) || /^08|^57P0[1-3]$|^3D000$/.test(code)) return "unreachable";
  if (/^28/.test(code)) return "accessRefused";
  return "unexpected";
}

/** An error's message on one line (PostgREST's start-up output, an AggregateError's parts). */
export function oneLine(error: unknown): string {
  const parts = error instanceof AggregateError ? [error.message, ...error.errors.map(oneLine)] : [error instanceof Error ? error.message : String(error)];
  return parts
    .join(": ")
    .trim()
    .replace(/\s*\n\s*/g, " | ");
}

/** `story-tasks: <kind>: <message>`. */
export function failureLine(kind: FailureKind, message: string): string {
  return `story-tasks: ${failureKinds[kind].label}: ${message}`;
}
