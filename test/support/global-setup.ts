// Fails fast, with one clear line, when the PostgreSQL the tests need does not answer; builds the
// pinned Atlas CLI once before test files run in parallel; and creates the server roles a
// Supabase-shaped database needs, dropping afterwards the ones it had to create.
import { atlasBinary } from "../../scripts/lib/atlas-cli.ts";
import { withClient } from "../../scripts/lib/postgres.ts";
import { serverUrl } from "./databases.ts";
import { ensureSupabaseRoles } from "./supabase-project.ts";

export default async function setup(): Promise<() => Promise<void>> {
  try {
    await withClient(serverUrl, (client) => client.query("SELECT 1"));
  } catch (error) {
    throw new Error(`The tests need PostgreSQL at ${serverUrl} (set TEST_DATABASE_URL to use another): ${String(error)}`);
  }
  atlasBinary();
  const created = await ensureSupabaseRoles();
  return async () => {
    // Leave the server's roles as they were found; a role still used somewhere stays, and says so.
    await withClient(serverUrl, async (client) => {
      for (const role of created.reverse()) {
        await client.query(`DROP ROLE IF EXISTS "${role}"`).catch((error: Error) => console.warn(`could not drop the test role ${role}: ${error.message}`));
      }
    });
  };
}
