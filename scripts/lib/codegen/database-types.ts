// generated/database.types.ts: Supabase's own type generator, the engine behind
// `supabase gen types typescript`, with the options the Supabase CLI passes.
import { spawnSync } from "node:child_process";
import { generateTypescript, introspect, sortGeneratorMetadata } from "@supabase/postgrest-typegen";
import type { Queryable } from "../catalog.ts";

export async function generateDatabaseTypes(db: Queryable): Promise<string> {
  const metadata = await introspect(db, { includedSchemas: ["public"] });
  return generateTypescript(sortGeneratorMetadata(metadata), {
    detectOneToOneRelationships: true,
    postgrestVersion: "12",
  });
}

/** The same file from the Supabase CLI itself (needs the CLI and Docker). */
export function generateDatabaseTypesViaSupabaseCli(databaseUrl: string): string {
  const result = spawnSync("supabase", ["gen", "types", "typescript", "--db-url", databaseUrl, "--schema", "public"], {
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.error || result.status !== 0) {
    throw new Error(`supabase gen types failed: ${result.error?.message ?? result.stderr.trim()}`);
  }
  return result.stdout;
}
