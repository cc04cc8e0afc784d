// Every deploy path, run as a user runs it, as the non-superuser deploy role, on a fresh
// Supabase-shaped database: `pnpm db:apply --env supabase` (declarative), `pnpm db:migrate --env
// supabase` (Atlas's ledger) and `pnpm db:push --env supabase` (the Supabase CLI's `supabase db
// push`, its ledger). Each succeeds, changes nothing the second time, leaves the host's objects
// alone and exactly the intended privileges, and db:drift finds nothing; the ledgered paths refuse
// each other's databases, and db:apply's, in one sentence.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { projectRoot } from "../../scripts/lib/atlas-cli.ts";
import { withClient } from "../../scripts/lib/postgres.ts";
import { findDeployLedgers } from "../../src/local-stack/deploy-ledgers.ts";
import { runScript } from "../support/databases.ts";
import { intendedPrivileges, readPrivileges } from "../support/privileges.ts";
import { type SupabaseProject, createSupabaseProject, dumpHostSchema, dumpLibraryObjects, supabaseEnv } from "../support/supabase-project.ts";

const paths = [
  { name: "db:apply", command: "db:apply", unchanged: /No changes: the database already matches schema\//, ledger: undefined },
  { name: "db:migrate", command: "db:migrate", unchanged: /No migration files to execute/, ledger: "atlas_schema_revisions.atlas_schema_revisions" },
  { name: "db:push (supabase db push)", command: "db:push", unchanged: /Remote database is up to date/, ledger: "supabase_migrations.schema_migrations" },
] as const;

/** Our objects as pg-delta reads them, per path, to compare what the three paths built. */
const built = new Map<string, string[]>();


describe.each(paths)("deploy path $name on a fresh Supabase-shaped database", ({ name, command, unchanged, ledger }) => {
  let project: SupabaseProject;
  let hostBefore: string[];
  const deploy = () => runScript(command, ["--env", "supabase"], "", projectRoot, supabaseEnv(project));

  beforeAll(async () => {
    project = await createSupabaseProject(command.replace(":", "_"));
    hostBefore = await dumpHostSchema(project.adminUrl);
  });
  afterAll(async () => {
    await project?.drop();
  });

  it("succeeds as the deploy role, which is not a superuser", async () => {
    const role = await withClient(project.url, async (client) => (await client.query("SELECT rolname, rolsuper FROM pg_roles WHERE rolname = current_user")).rows[0]);
    expect(role).toEqual({ rolname: "stand_in_postgres", rolsuper: false });
    const first = deploy();
    expect(first.status, first.stdout + first.stderr).toBe(0);
    built.set(name, await dumpLibraryObjects(project.url));
    expect(built.get(name)!.length).toBeGreaterThan(0);
  });

  it("changes nothing the second time, and says so", async () => {
    const second = deploy();
    expect(second.status, second.stdout + second.stderr).toBe(0);
    expect(second.stdout + second.stderr).toMatch(unchanged);
    expect(await dumpLibraryObjects(project.url)).toEqual(built.get(name));
  });

  it("leaves the host's tables, functions and auth exactly as they were", async () => {
    expect(hostBefore.some((line) => line.startsWith("table:public.scenelets"))).toBe(true);
    expect(hostBefore.some((line) => line.startsWith("column:public.stories.slug"))).toBe(true);
    expect(await dumpHostSchema(project.adminUrl)).toEqual(hostBefore);
  });

  it("leaves exactly the intended privileges, over Supabase's default grants", async () => {
    expect(await withClient(project.url, readPrivileges)).toEqual(intendedPrivileges);
  });

  it("db:drift --env supabase then finds nothing", () => {
    const drift = runScript("db:drift", ["--env", "supabase"], "", projectRoot, supabaseEnv(project));
    expect(drift.stdout).toContain("No drift");
    expect(drift.status).toBe(0);
  });

  it("the paths that keep another ledger, or none, refuse this database in one sentence and change nothing", async () => {
    const before = await dumpLibraryObjects(project.url);
    const ledgersBefore = await deployLedgersOf(project.url);
    const deployedWith = ledger ? `.*, whose ledger is ${ledger.replaceAll(".", "\\.")}` : "`pnpm db:apply`";
    for (const other of paths.filter((path) => path.command !== command)) {
      const refused = runScript(other.command, ["--env", "supabase"], "", projectRoot, supabaseEnv(project));
      expect(refused.status, other.command).toBe(1);
      expect(refused.stderr.trim()).toMatch(new RegExp(`^this database .*deployed with ${deployedWith}, (so|and) \`pnpm ${other.command}\` would [^\n]*$`));
    }
    expect(await dumpLibraryObjects(project.url)).toEqual(before);
    expect(await deployLedgersOf(project.url)).toEqual(ledgersBefore);
  });
});

/** The deploy ledgers a database holds (none after `db:apply`). */
function deployLedgersOf(url: string): Promise<string[]> {
  return withClient(url, findDeployLedgers);
}

describe("the three deploy paths", () => {
  it("build the same objects: tables, functions, triggers, policies, grants, publication membership", () => {
    const [first, ...others] = paths.map((path) => built.get(path.name));
    expect(first).toBeDefined();
    for (const other of others) expect(other).toEqual(first);
  });
});
