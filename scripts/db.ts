// `pnpm db:stand-ins | db:apply | db:diff <name> | db:migrate | db:drift` against DATABASE_URL
// (default: the local database story_tasks), or with `--env supabase` against SUPABASE_DB_URL.
// See README.md, "Schema commands".
import { parseArgs } from "node:util";
import { AtlasUnavailableError } from "./lib/atlas-cli.ts";
import { defaultDatabaseUrl, ensureDatabase, redactUrl } from "./lib/postgres.ts";
import {
  SchemaCommandError,
  type Target,
  applySchema,
  createStandIns,
  detectDrift,
  diffMigrations,
  migrateWithAtlas,
} from "./lib/schema-workflow.ts";

const usage = "usage: pnpm db:stand-ins | db:apply [--dry-run] | db:diff <name> | db:migrate | db:drift   [--env local|supabase]";

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
      console.log(`Applying schema/ to ${redactUrl(target.url)}${values["dry-run"] ? " (dry run)" : ""}`);
      const report = await applySchema(target, { dryRun: values["dry-run"] });
      console.log(report.atlas);
      // DROP ... IF EXISTS before each CREATE is expected to find nothing the first time.
      report.notices.filter((notice) => !notice.endsWith("does not exist, skipping")).forEach((notice) => console.log(`notice: ${notice}`));
      if (report.objectChanges.length > 0) {
        console.log("Database objects changed (- before, + after):");
        report.objectChanges.forEach((line) => console.log(`  ${line}`));
      }
      if (!values["dry-run"]) {
        console.log(
          report.tableChanges || report.objectChanges.length > 0
            ? "Applied."
            : "No changes: the database already matches schema/.",
        );
      }
      return 0;
    }
    case "diff": {
      if (!name) throw new SchemaCommandError("usage: pnpm db:diff <name>");
      const report = await diffMigrations(name, process.env.DATABASE_URL || defaultDatabaseUrl);
      console.log(report.atlas);
      console.log(
        report.written.length > 0
          ? `Wrote ${report.written.map((file) => `supabase/migrations/${file}`).join(", ")}`
          : "No new migration: supabase/migrations/ already matches schema/.",
      );
      return 0;
    }
    case "migrate":
      console.log(migrateWithAtlas(await resolveTarget(values.env)));
      return 0;
    case "drift": {
      const target = await resolveTarget(values.env);
      const drift = await detectDrift(target);
      if (!drift.tables && drift.objects.length === 0) {
        console.log(`No drift: ${redactUrl(target.url)} matches schema/.`);
        return 0;
      }
      console.log(`Drift: ${redactUrl(target.url)} differs from schema/.`);
      if (drift.tables) console.log(`Tables (the statements that would bring it to schema/):\n${drift.tables}`);
      if (drift.objects.length > 0) {
        console.log("Database objects (- only in the database, + only in schema/):");
        drift.objects.forEach((line) => console.log(`  ${line}`));
      }
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
    const known = error instanceof SchemaCommandError || error instanceof AtlasUnavailableError;
    console.error(known ? error.message : error);
    process.exitCode = 1;
  },
);
