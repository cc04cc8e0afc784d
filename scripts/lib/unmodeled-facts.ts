// What neither Atlas v0.13.1 nor pg-delta 1.0.0-alpha.34 compares, read from the catalog and
// planned here: privileges on the identity sequences of our tables (pg-delta models identity
// sequences as part of their column, without their ACL; Supabase's default privileges grant them
// to every API role).
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

export interface UnmodeledComparison {
  /** "- ..." only in the current database, "+ ..." only in the desired one. */
  differences: string[];
  /** The statements that take the current database to the desired one. */
  statements: string[];
}

/** Compares the sequence privileges of `current` with `desired`'s, and plans the REVOKEs and GRANTs between them. */
export async function compareUnmodeledFacts(current: Queryable, desired: Queryable): Promise<UnmodeledComparison> {
  const [have, want] = [await readSequenceGrants(current), await readSequenceGrants(desired)];
  const wanted = new Set(want.map(describe));
  const had = new Set(have.map(describe));
  const extra = have.filter((grant) => !wanted.has(describe(grant)));
  const missing = want.filter((grant) => !had.has(describe(grant)));
  return {
    differences: [...extra.map((grant) => `- ${describe(grant)}`), ...missing.map((grant) => `+ ${describe(grant)}`)],
    statements: [
      ...extra.map((grant) => `REVOKE ${grant.privilege} ON SEQUENCE ${grant.sequence} FROM ${grant.grantee};`),
      ...missing.map((grant) => `GRANT ${grant.privilege} ON SEQUENCE ${grant.sequence} TO ${grant.grantee};`),
    ],
  };
}
