// `pnpm db:stand-ins | db:apply | db:diff <name> | db:migrate | db:push | db:drift` against
// DATABASE_URL (default: the local database story_tasks), or with `--env supabase` against
// SUPABASE_DB_URL. See README.md, "Schema commands" and "Deploying to a Supabase project".
import { parseArgs } from "node:util";
import { DeployLedgerConflictError } from "../src/local-stack/deploy-ledgers.ts";
import { AtlasUnavailableError } from "./lib/atlas-cli.ts";
import { defaultDatabaseUrl, ensureDatabase, redactUrl } from "./lib/postgres.ts";
import {
  type PlannedChanges,
  SchemaCommandError,
  type Target,
  applySchema,
  createStandIns,
  detectDrift,
  diffMigrations,
  hasChanges,
  migrateWithAtlas,
  pushWithSupabaseCli,
} from "./lib/schema-workflow.ts";

const usage = "usage: pnpm db:stand-ins | db:apply [--dry-run] | db:diff <name> | db:migrate | db:push | db:drift   [--env local|supabase]";

/** The plan, part by part, as it was (or, in a dry run, would be) run. */
function printChanges(changes: PlannedChanges): void {
  const parts: [string, string[]][] = [
    ["Tables (Atlas)", changes.tables ? [changes.tables.trim()] : []],
    ["CHECK constraints replaced NOT VALID", changes.checks.replace],
    ["Functions, triggers, policies, grants, RLS, publication (pg-delta)", changes.objects],
    ["Identity-sequence privileges, column statistics targets", changes.unmodeled],
    ["Then validated, each in its own transaction", changes.checks.validate],
    ["What the object statements lock, or lose", changes.safety],
  ];
  for (const [title, statements] of parts) {
    if (statements.length > 0) console.log(`-- ${title}\n${statements.join("\n")}`);
  }
}

async function resolveTarget(env: string): Promise<Target> {
  if (env === "supabase") {
    const url = process.env.SUPABASE_DB_URL;
    if (!url) throw new SchemaCommandError("--env supabase needs SUPABASE_DB_URL (the direct or session-pooler connection string, port 5432).");
    if (!process.env.ATLAS_DEV_URL) {
      throw new SchemaCommandError("--env supabase needs ATLAS_DEV_URL: a PostgreSQL where scratch databases may be created, e.g. a local one.");
    }
    return { env, url };
  }
  if (env !== "local") throw new SchemaCommandError(`unknown --env "${env}": use local or supabase`);
  const url = process.env.DATABASE_URL || defaultDatabaseUrl;
  if (url === defaultDatabaseUrl) await ensureDatabase(url);
  return { env, url };
}

async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { env: { type: "string", default: "local" }, "dry-run": { type: "boolean", default: false } },
  });
  const [command, name] = positionals;
  switch (command) {
    case "stand-ins": {
      const target = await resolveTarget(values.env);
      const notices = await createStandIns(target.url);
      notices.forEach((notice) => console.log(`notice: ${notice}`));
      console.log(`Stand-ins for Supabase and the host are in place on ${redactUrl(target.url)}.`);
      return 0;
    }
    case "apply": {
      const target = await resolveTarget(values.env);
      const dryRun = values["dry-run"];
      console.log(`Applying schema/ to ${redactUrl(target.url)}${dryRun ? " (dry run: the plan runs in a transaction that is rolled back)" : ""}`);
      const changes = await applySchema(target, { dryRun });
      printChanges(changes);
      if (!hasChanges(changes)) console.log("No changes: the database already matches schema/.");
      else console.log(dryRun ? "Dry run: nothing was applied." : "Applied.");
      return 0;
    }
    case "diff": {
      if (!name) throw new SchemaCommandError("usage: pnpm db:diff <name>");
      const report = await diffMigrations(name, process.env.DATABASE_URL || defaultDatabaseUrl);
      printChanges(report.changes);
      console.log(
        report.written.length > 0
          ? `Wrote ${report.written.map((file) => `supabase/migrations/${file}`).join(", ")}`
          : "No new migration: supabase/migrations/ already matches schema/.",
      );
      return 0;
    }
    case "migrate":
      console.log(await migrateWithAtlas(await resolveTarget(values.env)));
      return 0;
    case "push":
      console.log(await pushWithSupabaseCli(await resolveTarget(values.env)));
      return 0;
    case "drift": {
      const target = await resolveTarget(values.env);
      const drift = await detectDrift(target);
      if (drift.length === 0) {
        console.log(`No drift: ${redactUrl(target.url)} matches schema/.`);
        return 0;
      }
      console.log(`Drift: ${redactUrl(target.url)} differs from schema/ (what would change to bring it there):`);
      drift.forEach((line) => console.log(`  ${line}`));
      return 1;
    }
    default:
      console.error(usage);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    const known = error instanceof SchemaCommandError || error instanceof AtlasUnavailableError || error instanceof DeployLedgerConflictError;
    console.error(known ? error.message : error);
    process.exitCode = 1;
  },
);
