// Checks input with the generated validators before any request; failures become one
// StoryTaskValidationError listing every field and rule.
import type { z } from "zod";
import { StoryTaskValidationError } from "./errors.ts";

export function validate<Schema extends z.ZodType>(schema: Schema, value: unknown, field?: string): z.output<Schema> {
  let result: z.ZodSafeParseResult<z.output<Schema>>;
  try {
    result = schema.safeParse(value);
  } catch (error) {
    // A value whose reading throws (a getter, a proxy) is invalid input too, not a crash.
    throw new StoryTaskValidationError([{ field: field ?? "(input)", rule: `could not be read: ${error instanceof Error ? error.message : String(error)}` }], { cause: error });
  }
  if (result.success) return result.data;
  throw new StoryTaskValidationError(
    result.error.issues.flatMap((issue) => {
      const path = [field, ...issue.path.map(String)].filter((part) => part !== undefined && part !== "").join(".");
      if (issue.code === "unrecognized_keys") {
        return issue.keys.map((key) => ({ field: path ? `${path}.${key}` : key, rule: "is not a known field" }));
      }
      return [{ field: path || "(input)", rule: issue.message }];
    }),
  );
}
