// For .github/workflows/schema.yml: a Supabase-shaped scratch database on the test server
// (TEST_DATABASE_URL, default 127.0.0.1:5432), printed as KEY=value lines for $GITHUB_ENV:
// SUPABASE_DB_URL (as the deploy role) and ATLAS_DEV_URL.
import { createSupabaseProject, ensureSupabaseRoles, supabaseEnv } from "./supabase-project.ts";

await ensureSupabaseRoles();
const project = await createSupabaseProject("workflow");
for (const [name, value] of Object.entries(supabaseEnv(project))) console.log(`${name}=${value}`);
