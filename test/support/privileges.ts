// The privileges this library means to give, and what a database actually holds, for the access
// and deploy tests.
import type pg from "pg";

export interface Privilege {
  object: string;
  grantee: string;
  privileges: string[];
}

/** What schema/sql/30_row_level_security.sql and the functions' grants intend, whatever the platform's defaults. */
export const intendedPrivileges: Privilege[] = [
  { object: "function append_story_task_events", grantee: "service_role", privileges: ["EXECUTE"] },
  { object: "function create_story_task", grantee: "service_role", privileges: ["EXECUTE"] },
  { object: "function prune_finished_story_tasks", grantee: "service_role", privileges: ["EXECUTE"] },
  { object: "function rescue_stale_story_tasks", grantee: "service_role", privileges: ["EXECUTE"] },
  { object: "function story_task_column_default", grantee: "service_role", privileges: ["EXECUTE"] },
  { object: "function story_task_status_machine", grantee: "service_role", privileges: ["EXECUTE"] },
  { object: "function update_story_task_status", grantee: "service_role", privileges: ["EXECUTE"] },
  { object: "table story_task_events", grantee: "authenticated", privileges: ["SELECT"] },
  { object: "table story_task_events", grantee: "service_role", privileges: ["INSERT", "SELECT"] },
  { object: "table story_tasks", grantee: "authenticated", privileges: ["SELECT"] },
  { object: "table story_tasks", grantee: "service_role", privileges: ["DELETE", "INSERT", "SELECT", "UPDATE"] },
];

/** Every privilege on our tables, their columns, their identity sequence and our functions, held by anyone but the owner. */
export async function readPrivileges(client: pg.ClientBase): Promise<Privilege[]> {
  const result = await client.query<Privilege>(`
    WITH objects AS (
      SELECT CASE c.relkind WHEN 'S' THEN 'sequence ' ELSE 'table ' END || c.relname AS object, c.relacl AS acl, c.relowner AS owner,
             CASE c.relkind WHEN 'S' THEN 's' ELSE 'r' END AS type
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'public' AND c.relname LIKE 'story_task%' AND c.relkind IN ('r', 'S')
      UNION ALL
      -- Column grants (GRANT UPDATE (message) ...): none is intended, so any shows.
      SELECT 'column ' || c.relname || '.' || a.attname, a.attacl, c.relowner, 'c'
      FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'public' AND c.relname LIKE 'story_task%' AND c.relkind = 'r' AND a.attacl IS NOT NULL
      UNION ALL
      SELECT 'function ' || p.proname, p.proacl, p.proowner, 'f'
      FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
      WHERE n.nspname = 'public' AND p.proname LIKE '%story_task%'
    )
    SELECT o.object, coalesce(r.rolname, 'PUBLIC') AS grantee, array_agg(acl.privilege_type || CASE WHEN acl.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END ORDER BY acl.privilege_type) AS privileges
    FROM objects o CROSS JOIN LATERAL aclexplode(coalesce(o.acl, acldefault(o.type::"char", o.owner))) AS acl
    LEFT JOIN pg_roles r ON r.oid = acl.grantee
    WHERE acl.grantee <> o.owner
    GROUP BY 1, 2 ORDER BY 1, 2`);
  return result.rows;
}
