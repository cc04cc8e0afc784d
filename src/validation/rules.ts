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

/**
 * Why `value` cannot be stored in a jsonb column exactly as given (undefined if it can):
 * jsonb holds null, booleans, finite numbers, strings without NUL, arrays and plain objects.
 */
export function jsonProblem(value: unknown, at = "$", seen = new Set<object>()): string | undefined {
  switch (typeof value) {
    case "boolean":
      return undefined;
    case "number":
      return Number.isFinite(value) ? undefined : `${value} at ${at} is not a finite number`;
    case "string":
      if (value.includes("\u0000")) return `the string at ${at} contains a NUL character (\\u0000)`;
      return value.isWellFormed() ? undefined : `the string at ${at} has a lone surrogate`;
    case "object": {
      if (value === null) return undefined;
      if (seen.has(value)) return `${at} refers back to itself`;
      const prototype = Object.getPrototypeOf(value);
      if (!Array.isArray(value) && prototype !== Object.prototype && prototype !== null) {
        return `${at} is a ${value.constructor?.name ?? "non-plain object"}, not a plain object or array`;
      }
      seen.add(value);
      const entries = Array.isArray(value) ? value.map((item, i) => [`${at}[${i}]`, item] as const) : Object.entries(value).map(([key, item]) => [`${at}.${key}`, item] as const);
      if (!Array.isArray(value)) {
        const badKey = Object.keys(value).find((key) => key.includes("\u0000") || !key.isWellFormed());
        if (badKey !== undefined) return `a key in ${at} contains a NUL character or a lone surrogate`;
      }
      for (const [path, item] of entries) {
        const problem = jsonProblem(item, path, seen);
        if (problem) return problem;
      }
      seen.delete(value);
      return undefined;
    }
    default:
      return `${at} is ${typeof value === "undefined" ? "undefined" : `a ${typeof value}`}, which JSON cannot hold`;
  }
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
