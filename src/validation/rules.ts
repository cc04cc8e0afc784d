// The rules the database applies to a value, stated for zod so bad input is refused before
// any request is sent. generated/validators.ts composes them per column.
import { z } from "zod";
import type { Json } from "../../generated/database.types.ts";

/** A uuid column: PostgreSQL reads any 8-4-4-4-12 hexadecimal form. */
export function uuid() {
  return z.guid({ error: "must be a UUID (8-4-4-4-12 hexadecimal digits)" });
}

/** An integer column, within its CHECK range (or the column type's own range). */
export function integerBetween(min: number, max: number) {
  const rule = `must be an integer from ${min} to ${max}`;
  return z.int({ error: rule }).min(min, { error: rule }).max(max, { error: rule });
}

/** A text column: PostgreSQL refuses NUL characters, and UTF-8 cannot carry lone surrogates. */
export function text() {
  return z
    .string({ error: "must be a string" })
    .refine((value) => !value.includes("\u0000"), { error: "must not contain NUL characters (\\u0000)" })
    .refine((value) => value.isWellFormed(), { error: "must be well-formed Unicode (no lone surrogates)" });
}

/** A text column with a CHECK that it is not empty. */
export function nonEmptyText() {
  return text().refine((value) => value.length > 0, { error: "must not be empty" });
}

/** A text column whose CHECK lists the allowed values. */
export function oneOf<const Values extends readonly [string, ...string[]]>(values: Values) {
  return z.enum(values, { error: `must be one of ${values.join(", ")}` });
}

/** Deeper than this, JSON.stringify (in supabase-js) runs out of stack before PostgreSQL would refuse. */
export const maxJsonDepth = 1000;

function scalarProblem(value: unknown, at: string): string | undefined {
  switch (typeof value) {
    case "boolean":
      return undefined;
    case "number":
      return Number.isFinite(value) ? undefined : `${value} at ${at} is not a finite number`;
    case "string":
      if (value.includes("\u0000")) return `the string at ${at} contains a NUL character (\\u0000)`;
      return value.isWellFormed() ? undefined : `the string at ${at} has a lone surrogate`;
    default:
      return `${at} is ${typeof value === "undefined" ? "undefined" : `a ${typeof value}`}, which JSON cannot hold`;
  }
}

/**
 * Why `value` cannot be stored in a jsonb column exactly as given (undefined if it can):
 * jsonb holds null, booleans, finite numbers, strings without NUL, arrays and plain objects.
 * Walks with its own stack, so a deep value gets an answer, not a stack overflow.
 */
export function jsonProblem(root: unknown): string | undefined {
  const pending: { value: unknown; at: string; depth: number }[] = [{ value: root, at: "$", depth: 0 }];
  // Objects on the path from the root to what is being visited: a cycle, not a shared reference.
  const ancestors: { value: object; depth: number }[] = [];
  while (pending.length > 0) {
    const { value, at, depth } = pending.pop()!;
    while (ancestors.length > 0 && ancestors.at(-1)!.depth >= depth) ancestors.pop();
    if (value === null) continue;
    if (typeof value !== "object") {
      const problem = scalarProblem(value, at);
      if (problem) return problem;
      continue;
    }
    if (ancestors.some((ancestor) => ancestor.value === value)) return `${at} refers back to itself`;
    if (depth >= maxJsonDepth) return `${at} is nested more than ${maxJsonDepth} levels deep`;
    const prototype = Object.getPrototypeOf(value);
    if (!Array.isArray(value) && prototype !== Object.prototype && prototype !== null) {
      return `${at} is a ${value.constructor?.name ?? "non-plain object"}, not a plain object or array`;
    }
    ancestors.push({ value, depth });
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) if (!(i in value)) return `${at}[${i}] is a hole in a sparse array`;
      // Pushed last to first, one at a time (spreading 100,000s of children into push overflows the stack), so the walk reports the first problem in reading order.
      for (let i = value.length - 1; i >= 0; i--) pending.push({ value: value[i], at: `${at}[${i}]`, depth: depth + 1 });
    } else {
      const keys = Object.keys(value);
      for (const key of keys) if (key.includes("\u0000") || !key.isWellFormed()) return `a key in ${at} contains a NUL character or a lone surrogate`;
      for (let i = keys.length - 1; i >= 0; i--) pending.push({ value: (value as Record<string, unknown>)[keys[i]!], at: `${at}.${keys[i]}`, depth: depth + 1 });
    }
  }
  return undefined;
}

/** A jsonb column; `.nullable()` where the column takes SQL NULL. */
export function jsonValue() {
  return z.custom<NonNullable<Json>>().superRefine((value, context) => {
    if (value === null) {
      context.addIssue({ code: "custom", message: "must not be null" });
      return;
    }
    const problem = jsonProblem(value);
    if (problem) context.addIssue({ code: "custom", message: `must be JSON: ${problem}` });
  });
}
