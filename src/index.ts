// The package's main entry: the repository, its records, validators and errors, and the
// generated Database type. The logging helpers are `story-task-persistence/task-logging`.
export type { Database, Json, Tables, TablesInsert } from "../generated/database.types.ts";
export * from "../generated/records.ts";
export * from "../generated/validators.ts";
export * from "./repository/index.ts";
export { createNodeSupabaseClient, type NodeSupabaseClientOptions } from "./local-stack/supabase-client.ts";
