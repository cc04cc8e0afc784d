// What neither Atlas v0.13.1 nor pg-delta 1.0.0-alpha.34 compares, read from the catalog and
// planned here: privileges on the identity sequences of our tables (pg-delta models identity
// sequences as part of their column, without their ACL; Supabase's default privileges grant them
// to every API role), and the statistics targets of our columns (SET STATISTICS).
import type { Queryable } from "./catalog.ts";

/** One privilege on a sequence owned by one of our tables, held by someone other than its owner. */
interface SequenceGrant {
  sequence: string;
  privilege: string;
  grantee: string;
}

const sequenceGrantsSql = `
SELECT format('%I.%I', n.nspname, s.relname) AS sequence, acl.privilege_type AS privilege,
       CASE WHEN acl.grantee = 0 THEN 'PUBLIC' ELSE format('%I', r.rolname) END AS grantee
FROM pg_class s
JOIN pg_namespace n ON n.oid = s.relnamespace
JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = s.oid AND d.deptype IN ('a', 'i')
JOIN pg_class t ON t.oid = d.refobjid
CROSS JOIN LATERAL aclexplode(coalesce(s.relacl, acldefault('S', s.relowner))) AS acl
LEFT JOIN pg_roles r ON r.oid = acl.grantee
WHERE s.relkind = 'S' AND n.nspname = 'public' AND t.relname LIKE '%story_task%' AND acl.grantee <> s.relowner
ORDER BY 1, 3, 2`;

async function readSequenceGrants(db: Queryable): Promise<SequenceGrant[]> {
  return (await db.query<SequenceGrant>(sequenceGrantsSql)).rows;
}

const describe = (grant: SequenceGrant) => `grant ${grant.privilege} on sequence ${grant.sequence} to ${grant.grantee}`;

/** A column of ours whose statistics target is not the default (-1). */
interface StatisticsTarget {
  table: string;
  column: string;
  target: number;
}

const statisticsTargetsSql = `
SELECT format('%I.%I', n.nspname, t.relname) AS table, format('%I', a.attname) AS column, a.attstattarget AS target
FROM pg_attribute a
JOIN pg_class t ON t.oid = a.attrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
WHERE n.nspname = 'public' AND t.relkind = 'r' AND t.relname LIKE '%story_task%' AND a.attnum > 0 AND NOT a.attisdropped AND a.attstattarget <> -1
ORDER BY 1, 2`;

async function readStatisticsTargets(db: Queryable): Promise<Map<string, StatisticsTarget>> {
  const rows = (await db.query<StatisticsTarget>(statisticsTargetsSql)).rows;
  return new Map(rows.map((row) => [`${row.table}.${row.column}`, row]));
}

export interface UnmodeledComparison {
  /** "- ..." only in the current database, "+ ..." only in the desired one. */
  differences: string[];
  /** The statements that take the current database to the desired one. */
  statements: string[];
}

/**
 * Compares the sequence privileges and statistics targets of `current` with `desired`'s, and
 * plans the statements between them.
 */
export async function compareUnmodeledFacts(current: Queryable, desired: Queryable): Promise<UnmodeledComparison> {
  const [have, want] = [await readSequenceGrants(current), await readSequenceGrants(desired)];
  const wanted = new Set(want.map(describe));
  const had = new Set(have.map(describe));
  const extra = have.filter((grant) => !wanted.has(describe(grant)));
  const missing = want.filter((grant) => !had.has(describe(grant)));

  const [targets, wantedTargets] = [await readStatisticsTargets(current), await readStatisticsTargets(desired)];
  const retargeted = [...new Set([...targets.keys(), ...wantedTargets.keys()])]
    .sort()
    .map((key) => ({ from: targets.get(key), to: wantedTargets.get(key) }))
    .filter(({ from, to }) => from?.target !== to?.target)
    .map(({ from, to }) => ({ table: (from ?? to)!.table, column: (from ?? to)!.column, from: from?.target ?? -1, to: to?.target ?? -1 }));

  return {
    differences: [
      ...extra.map((grant) => `- ${describe(grant)}`),
      ...missing.map((grant) => `+ ${describe(grant)}`),
      ...retargeted.map((change) => `set statistics of ${change.table}.${change.column}: ${change.from} -> ${change.to}`),
    ],
    statements: [
      ...extra.map((grant) => `REVOKE ${grant.privilege} ON SEQUENCE ${grant.sequence} FROM ${grant.grantee};`),
      ...missing.map((grant) => `GRANT ${grant.privilege} ON SEQUENCE ${grant.sequence} TO ${grant.grantee};`),
      ...retargeted.map((change) => `ALTER TABLE ${change.table} ALTER COLUMN ${change.column} SET STATISTICS ${change.to};`),
    ],
  };
}
