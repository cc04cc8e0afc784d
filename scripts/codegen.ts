// `pnpm codegen`: regenerates generated/ from the schema.
//   1. builds the database from supabase/migrations/ in an embedded PGlite, cached in .tools/
//      with the answers it gave this script's queries until a migration changes (or reads --db-url);
//   2. writes generated/database.types.ts with Supabase's type generator (or, with
//      --via-supabase-cli, with `supabase gen types typescript`, which needs Docker);
//   3. reads that file (ts-morph) and the CHECK constraints (catalog), and writes
//      generated/records.ts and generated/validators.ts;
//   4. reads the status machine (the comment of story_tasks.status) and writes
//      generated/status-machine.ts.
// `pnpm codegen --check` writes nothing and exits 1 naming the files that differ.
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { projectRoot } from "./lib/atlas-cli.ts";
import type { Queryable } from "./lib/catalog.ts";
import type { ColumnFacts } from "./lib/codegen/catalog-rules.ts";
import type { TableBinding } from "./lib/codegen/emit.ts";
import type { PropertyShape, TableShape } from "./lib/codegen/table-shapes.ts";
import { withMigratedDatabase } from "./lib/embedded-database.ts";

// The generators (ts-morph, TypeScript, Supabase's type generator) take 0.8 s to load: loaded
// while the database opens, not before.
async function loadGenerators() {
  const [catalogRules, databaseTypes, emit, tableShapes, statusMachine] = await Promise.all([
    import("./lib/codegen/catalog-rules.ts"),
    import("./lib/codegen/database-types.ts"),
    import("./lib/codegen/emit.ts"),
    import("./lib/codegen/table-shapes.ts"),
    import("./lib/codegen/status-machine.ts"),
  ]);
  return { ...catalogRules, ...databaseTypes, ...emit, ...tableShapes, ...statusMachine };
}
type Generators = Awaited<ReturnType<typeof loadGenerators>>;

// A caller may give the id (so that a retried call is recognised as the same); the database owns the rest.
const bindings: TableBinding[] = [
  { table: "story_tasks", record: "StoryTask", databaseOwnedColumns: ["created_at", "updated_at", "started_at", "finished_at"] },
  { table: "story_task_events", record: "StoryTaskEvent", databaseOwnedColumns: ["seq", "task_id", "created_at"] },
];

const generatedDir = path.join(projectRoot, "generated");

/** The generator sorts properties by name; records read better in the table's column order. */
function inColumnOrder(shape: TableShape, columns: ColumnFacts[]): TableShape {
  const position = (property: PropertyShape) => columns.findIndex((column) => column.name === property.name);
  const sort = (properties: PropertyShape[]) => [...properties].sort((a, b) => position(a) - position(b));
  return { row: sort(shape.row), insert: sort(shape.insert) };
}

async function generate(
  { readColumnFacts, generateDatabaseTypes, generateDatabaseTypesViaSupabaseCli, readTableShapes, emitRecords, emitValidators, generatedHeader, readStatusMachine, emitStatusMachine }: Generators,
  db: Queryable,
  viaSupabaseCliUrl: string | undefined,
): Promise<Map<string, string>> {
  const databaseTypes = viaSupabaseCliUrl ? generateDatabaseTypesViaSupabaseCli(viaSupabaseCliUrl) : await generateDatabaseTypes(db);
  const shapes = readTableShapes(databaseTypes, bindings.map((binding) => binding.table));
  const models = [];
  for (const binding of bindings) {
    const columns = await readColumnFacts(db, `public.${binding.table}`);
    models.push({ ...binding, shape: inColumnOrder(shapes.get(binding.table)!, columns), columns });
  }
  return new Map([
    ["database.types.ts", generatedHeader + databaseTypes],
    ["records.ts", emitRecords(models)],
    ["validators.ts", emitValidators(models)],
    ["status-machine.ts", emitStatusMachine(await readStatusMachine(db))],
  ]);
}

async function withDatabase<T>(dbUrl: string | undefined, use: (db: Queryable) => Promise<T>): Promise<T> {
  if (dbUrl) {
    // A pool: the type generator's introspection runs its queries concurrently.
    const { default: pg } = await import("pg");
    const pool = new pg.Pool({ connectionString: dbUrl, max: 4 });
    try {
      return await use(pool);
    } finally {
      await pool.end();
    }
  }
  return withMigratedDatabase(use);
}

function readCurrent(name: string): string | undefined {
  try {
    return readFileSync(path.join(generatedDir, name), "utf8");
  } catch {
    return undefined;
  }
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      check: { type: "boolean", default: false },
      "db-url": { type: "string" },
      "via-supabase-cli": { type: "boolean", default: false },
    },
  });
  const dbUrl = values["db-url"];
  if (values["via-supabase-cli"] && !dbUrl) {
    console.error("--via-supabase-cli needs --db-url: the Supabase CLI reads a running database.");
    return 2;
  }
  const generators = loadGenerators();
  const files = await withDatabase(dbUrl, async (db) => generate(await generators, db, values["via-supabase-cli"] ? dbUrl : undefined));
  if (values.check) {
    const stale = [...files].filter(([name, content]) => readCurrent(name) !== content).map(([name]) => `generated/${name}`);
    if (stale.length > 0) {
      console.error(`Stale: ${stale.join(", ")} differ from what the schema generates. Run \`pnpm codegen\`.`);
      return 1;
    }
    console.log("generated/ is up to date.");
    return 0;
  }
  for (const [name, content] of files) writeFileSync(path.join(generatedDir, name), content);
  console.log(`Wrote ${[...files.keys()].map((name) => `generated/${name}`).join(", ")}.`);
  return 0;
}

process.exitCode = await main();
