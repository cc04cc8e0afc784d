// Reads, from the live catalog, each column's type and the single-column CHECK rules that
// bindings can mirror: a list of allowed values, an integer range, "not empty".
import type { Queryable } from "../catalog.ts";

export type ColumnRule =
  | { kind: "oneOf"; values: string[] }
  | { kind: "range"; min: number; max: number }
  | { kind: "nonEmpty" };

export interface ColumnFacts {
  name: string;
  /** PostgreSQL's type name: uuid, text, int4, int8, jsonb, timestamptz, ... */
  type: string;
  nullable: boolean;
  rule?: ColumnRule;
}

const columnsSql = `
SELECT a.attname AS name, t.typname AS type, NOT a.attnotnull AS nullable
FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum`;

const checksSql = `
SELECT pg_get_constraintdef(c.oid) AS definition
FROM pg_constraint c
WHERE c.conrelid = $1::regclass AND c.contype = 'c'
ORDER BY c.conname`;

const quotedText = /'((?:[^']|'')*)'::text/g;

/** The column and rule a CHECK definition states, if it is one of the three shapes bindings mirror. */
export function parseCheck(definition: string): { column: string; rule: ColumnRule } | undefined {
  // PostgreSQL versions differ in how many parentheses they print; they are not meaningful here.
  const bare = definition.replace(/^CHECK /, "").replace(/[()]/g, "").trim();
  const oneOf = /^(\w+) = ANY ARRAY\[(.*)\]$/.exec(bare);
  if (oneOf) {
    const values = [...oneOf[2]!.matchAll(quotedText)].map((match) => match[1]!.replaceAll("''", "'"));
    return { column: oneOf[1]!, rule: { kind: "oneOf", values } };
  }
  const range = /^(\w+) >= (-?\d+) AND (\w+) <= (-?\d+)$/.exec(bare);
  if (range && range[1] === range[3]) {
    return { column: range[1]!, rule: { kind: "range", min: Number(range[2]), max: Number(range[4]) } };
  }
  const nonEmpty = /^(\w+) <> ''::text$/.exec(bare);
  if (nonEmpty) return { column: nonEmpty[1]!, rule: { kind: "nonEmpty" } };
  return undefined;
}

/** Every column of `table` (e.g. "public.story_tasks") with the CHECK rule that restricts it alone. */
export async function readColumnFacts(db: Queryable, table: string): Promise<ColumnFacts[]> {
  const columns = (await db.query<ColumnFacts>(columnsSql, [table])).rows;
  const checks = (await db.query<{ definition: string }>(checksSql, [table])).rows;
  const rules = new Map<string, ColumnRule>();
  for (const { definition } of checks) {
    const parsed = parseCheck(definition);
    if (parsed) rules.set(parsed.column, parsed.rule);
  }
  return columns.map((column) => {
    const rule = rules.get(column.name);
    return rule ? { ...column, rule } : { ...column };
  });
}
