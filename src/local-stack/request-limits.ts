// What the local stack's HTTP front refuses before PostgREST (and so the database) sees it, with
// the error PostgREST returns when PostgreSQL itself refuses: 413 and a program_limit_exceeded
// SQLSTATE. PGlite cannot survive some requests PostgreSQL refuses cleanly: a body nested 8,000
// arrays deep overflows its WASM stack and leaves the session broken for good.

/**
 * 16 MiB: three times the 5 MiB values the reliability suite stores, ten times an array of
 * 200,000 numbers; a larger body only costs the embedded stack seconds and memory (100 MB took
 * 60-70 s and 630 MB).
 */
export const maxRequestBodyBytes = 16 * 1024 * 1024;

/**
 * JSON nesting (arrays and objects) allowed in a body, and brackets in the URL (filters cast to
 * json, `or=(and(...))`). Measured through PostgREST with a payload nested in `POST /story_tasks`
 * and in `rpc/append_story_task_event`: PGlite stores 5,500 levels, hangs at 6,000 and breaks
 * for good at 8,000; PostgreSQL 15 (max_stack_depth 2MB) stores 14,000 and refuses 16,000 with
 * 413 54001. The repository's validators allow 1,000 (maxJsonDepth).
 */
export const maxRequestNesting = 2_048;

export interface Refusal {
  status: 413;
  body: { code: "54000" | "54001"; message: string; details: string; hint: null };
}

export const tooLarge = (bytes: number): Refusal => ({
  status: 413,
  body: {
    code: "54000",
    message: "program limit exceeded",
    details: `the request body is larger than the local stack's limit of ${maxRequestBodyBytes} bytes (${bytes} bytes received so far)`,
    hint: null,
  },
});

export const tooDeep = (where: "body" | "URL"): Refusal => ({
  status: 413,
  body: { code: "54001", message: "stack depth limit exceeded", details: `the request ${where} nests more than ${maxRequestNesting} levels deep, the local stack's limit`, hint: null },
});

const quote = 0x22;
const backslash = 0x5c;
const opening = new Set([0x5b, 0x7b]); // [ {
const closing = new Set([0x5d, 0x7d]); // ] }

/** The deepest nesting of JSON arrays and objects in a body that arrives in chunks (strings skipped). */
export class JsonNestingMeter {
  deepest = 0;
  private depth = 0;
  private inString = false;
  private escaped = false;

  feed(chunk: Uint8Array): void {
    for (const byte of chunk) {
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (byte === backslash) this.escaped = true;
        else if (byte === quote) this.inString = false;
      } else if (byte === quote) this.inString = true;
      else if (opening.has(byte)) this.deepest = Math.max(this.deepest, ++this.depth);
      else if (closing.has(byte)) this.depth = Math.max(0, this.depth - 1);
    }
  }
}

/** The deepest nesting of brackets and parentheses in a decoded URL, quotes or not (PostgREST unquotes filter values). */
export function urlNesting(decodedUrl: string): number {
  let depth = 0;
  let deepest = 0;
  for (const character of decodedUrl) {
    if (character === "[" || character === "{" || character === "(") deepest = Math.max(deepest, ++depth);
    else if (character === "]" || character === "}" || character === ")") depth = Math.max(0, depth - 1);
  }
  return deepest;
}
