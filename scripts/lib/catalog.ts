// Reads, from the live catalog, the objects of ours that Atlas does not manage (and the CHECK
// expressions, which Atlas v0.13.1 does not compare), one line each, so two databases (or one
// database before and after a change) can be compared.
/** What both a `pg` client and an embedded PGlite offer. */
export interface Queryable {
  query<Row>(sql: string, params?: unknown[]): Promise<{ rows: Row[] }>;
}

const ownedTables = ["story_tasks", "story_task_events"];

const describeObjectsSql = `
WITH owned_tables AS (
  SELECT c.oid, c.relname, c.relowner, c.relacl, c.relrowsecurity, c.relforcerowsecurity
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname = 'public' AND c.relname = ANY ($1::text[])
),
owned_functions AS (
  SELECT p.oid, p.proowner, p.proacl, p.oid::regprocedure::text AS signature
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
  WHERE n.nspname = 'public' AND p.proname LIKE '%story_task%'
)
SELECT format('rls %s enabled=%s forced=%s', relname, relrowsecurity, relforcerowsecurity) AS line FROM owned_tables
UNION ALL
SELECT format('grant %s on %s to %s', acl.privilege_type, t.relname, coalesce(r.rolname, 'PUBLIC'))
FROM owned_tables t, aclexplode(t.relacl) acl LEFT JOIN pg_roles r ON r.oid = acl.grantee
WHERE acl.grantee <> t.relowner
UNION ALL
SELECT format('policy %s on %s: %s %s to %s using (%s) with check (%s)',
  p.policyname, p.tablename, p.permissive, p.cmd, p.roles::text, coalesce(p.qual, ''), coalesce(p.with_check, ''))
FROM pg_policies p WHERE p.schemaname = 'public' AND p.tablename = ANY ($1::text[])
UNION ALL
SELECT format('trigger %s', pg_get_triggerdef(tg.oid))
FROM pg_trigger tg JOIN owned_tables t ON t.oid = tg.tgrelid
WHERE NOT tg.tgisinternal
UNION ALL
SELECT format('function %s md5=%s', f.signature, md5(pg_get_functiondef(f.oid))) FROM owned_functions f
UNION ALL
SELECT format('grant %s on function %s to %s', acl.privilege_type, f.signature, coalesce(r.rolname, 'PUBLIC'))
FROM owned_functions f, aclexplode(coalesce(f.proacl, acldefault('f', f.proowner))) acl
LEFT JOIN pg_roles r ON r.oid = acl.grantee
WHERE acl.grantee <> f.proowner
UNION ALL
SELECT format('check %s on %s: %s', c.conname, t.relname, pg_get_constraintdef(c.oid))
FROM pg_constraint c JOIN owned_tables t ON t.oid = c.conrelid
WHERE c.contype = 'c'
UNION ALL
SELECT format('publication %s includes %s', pt.pubname, pt.tablename)
FROM pg_publication_tables pt WHERE pt.schemaname = 'public' AND pt.tablename = ANY ($1::text[])
ORDER BY 1`;

/** One sorted line per RLS flag, grant, policy, trigger, function, check and publication membership of ours. */
export async function describeDatabaseObjects(client: Queryable): Promise<string[]> {
  const result = await client.query<{ line: string }>(describeObjectsSql, [ownedTables]);
  return result.rows.map((row) => row.line);
}

/** Lines only in `before` (prefixed "-") and only in `after` (prefixed "+"). */
export function diffLines(before: string[], after: string[]): string[] {
  const kept = new Set(before);
  const added = new Set(after);
  return [...before.filter((line) => !added.has(line)).map((line) => `- ${line}`), ...after.filter((line) => !kept.has(line)).map((line) => `+ ${line}`)];
}
