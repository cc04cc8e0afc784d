// The deploy paths that apply supabase/migrations/ each record what they applied in their own
// table. They cannot be mixed on one database: a path that finds another's ledger would re-run
// migrations that are already applied. So each path checks first, and says which one to use.

/** A pg client or pool: what the checks read the catalog through. */
interface SqlSession {
  query<Row>(sql: string, params?: unknown[]): Promise<{ rows: Row[] }>;
}

export type DeployLedger = "supabase" | "atlas" | "local-stack";

/** Each ledger's table, and the command that keeps it. */
export const deployLedgers: Record<DeployLedger, { table: string; command: string }> = {
  supabase: { table: "supabase_migrations.schema_migrations", command: "`pnpm db:push` (the Supabase CLI's `supabase db push`)" },
  atlas: { table: "atlas_schema_revisions.atlas_schema_revisions", command: "`pnpm db:migrate` (Atlas)" },
  "local-stack": { table: "embedded.applied_migrations", command: "the local stack's `--migrate`" },
};

/** The ledgers `client`'s database holds. */
export async function findDeployLedgers(client: SqlSession): Promise<DeployLedger[]> {
  const entries = Object.entries(deployLedgers) as [DeployLedger, { table: string }][];
  const result = await client.query<{ found: boolean[] }>("SELECT array_agg(to_regclass(name) IS NOT NULL ORDER BY ordinality) AS found FROM unnest($1::text[]) WITH ORDINALITY AS name", [
    entries.map(([, ledger]) => ledger.table),
  ]);
  return entries.filter((_, index) => result.rows[0]?.found[index]).map(([name]) => name);
}

async function hasStoryTaskTables(client: SqlSession): Promise<boolean> {
  const result = await client.query<{ found: boolean }>("SELECT to_regclass('public.story_tasks') IS NOT NULL AND to_regclass('public.story_task_events') IS NOT NULL AS found");
  return result.rows[0]?.found === true;
}

export class DeployLedgerConflictError extends Error {
  override name = "DeployLedgerConflictError";
}

/**
 * Throws, in one sentence, when the database is deployed by another path than `own` (null: a
 * path that keeps no ledger, such as `pnpm db:apply`, which a ledgered database must not get;
 * a database with our tables and no ledger is `pnpm db:apply`'s).
 */
export async function requireDeployPath(client: SqlSession, own: DeployLedger | null, attempted: string): Promise<void> {
  const ledgers = await findDeployLedgers(client);
  if (own && ledgers.length === 0 && (await hasStoryTaskTables(client))) {
    throw new DeployLedgerConflictError(
      `this database has the story-task tables and no migration ledger, so it is deployed with \`pnpm db:apply\`, and ${attempted} would create tables that exist: keep deploying it with \`pnpm db:apply\`.`,
    );
  }
  const others = ledgers.filter((ledger) => ledger !== own);
  if (others.length === 0) return;
  const ledger = deployLedgers[others[0]!];
  throw new DeployLedgerConflictError(
    `this database is deployed with ${ledger.command}, whose ledger is ${ledger.table}, so ${attempted} would ${own ? "re-run migrations that are already applied" : "change it behind that ledger's back"}: keep deploying it with ${ledger.command}.`,
  );
}
