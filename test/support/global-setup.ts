// Fails fast, with one clear line, when the PostgreSQL the tests need does not answer, and
// builds the pinned Atlas CLI once before test files run in parallel.
import { atlasBinary } from "../../scripts/lib/atlas-cli.ts";
import { withClient } from "../../scripts/lib/postgres.ts";
import { serverUrl } from "./databases.ts";

export default async function setup(): Promise<void> {
  try {
    await withClient(serverUrl, (client) => client.query("SELECT 1"));
  } catch (error) {
    throw new Error(`The tests need PostgreSQL at ${serverUrl} (set TEST_DATABASE_URL to use another): ${String(error)}`);
  }
  atlasBinary();
}
