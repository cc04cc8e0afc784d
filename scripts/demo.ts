// `pnpm demo`: builds the story-task schema from supabase/migrations/ in an embedded PGlite
// (PostgreSQL in WebAssembly: no server, no configuration) and prints what it created.
// `--data-dir DIR` keeps the database on disk between runs.
import { parseArgs } from "node:util";
import { describeDatabaseObjects } from "./lib/catalog.ts";
import { openEmbeddedDatabase } from "./lib/embedded-database.ts";

const { values } = parseArgs({ options: { "data-dir": { type: "string" } } });
const dataDir = values["data-dir"];

const started = performance.now();
const db = await openEmbeddedDatabase({
  ...(dataDir ? { dataDir } : {}),
  onApplied: (file) => console.log(`  applied supabase/migrations/${file}`),
});
console.log(`Embedded PostgreSQL (${(await db.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0]?.v}) ${dataDir ? `in ${dataDir}` : "in memory"}`);

const columns = await db.query<{ table_name: string; columns: string }>(`
  SELECT table_name, string_agg(column_name || ' ' || data_type || CASE WHEN is_nullable = 'YES' THEN ' null' ELSE '' END, ', ' ORDER BY ordinal_position) AS columns
  FROM information_schema.columns
  WHERE table_schema = 'public' AND table_name IN ('story_tasks', 'story_task_events')
  GROUP BY table_name ORDER BY table_name DESC`);
console.log("\nTables");
for (const row of columns.rows) console.log(`  ${row.table_name}: ${row.columns}`);

const indexes = await db.query<{ definition: string }>(
  "SELECT indexdef AS definition FROM pg_indexes WHERE schemaname = 'public' AND tablename IN ('story_tasks', 'story_task_events') ORDER BY indexname",
);
console.log("\nIndexes");
for (const row of indexes.rows) console.log(`  ${row.definition}`);

console.log("\nChecks, RLS, grants, policies, triggers, functions, publication");
for (const line of await describeDatabaseObjects(db)) console.log(`  ${line.replace(/\s+/g, " ")}`);

// Show the status machine at work: one task from queued to succeeded, and a refused move.
const task = (await db.query<{ id: string }>("INSERT INTO public.story_tasks (operation) VALUES ('CREATE_SHOT_IMAGES') RETURNING id")).rows[0]!;
await db.query("UPDATE public.story_tasks SET status = 'running', progress = 40 WHERE id = $1", [task.id]);
const done = (
  await db.query<{ status: string; progress: number; took: string }>(
    "UPDATE public.story_tasks SET status = 'succeeded' WHERE id = $1 RETURNING status, progress, (finished_at - started_at)::text AS took",
    [task.id],
  )
).rows[0]!;
console.log(`\nA task ran queued -> running -> ${done.status}, ending at progress ${done.progress}.`);
const refusal = await db.query("UPDATE public.story_tasks SET status = 'running' WHERE id = $1", [task.id]).then(
  () => "accepted (unexpected)",
  (error: Error) => `refused: ${error.message}`,
);
console.log(`Moving it back to running: ${refusal}`);
console.log(`\nDone in ${((performance.now() - started) / 1000).toFixed(1)} s.`);
await db.close();
