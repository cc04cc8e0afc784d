import type { SupabaseClient } from "@supabase/supabase-js";
import type { Database } from "../../generated/database.types.ts";

/** The client the repository takes: the caller's own supabase-js client, typed with the generated Database. */
export type StoryTasksClient = SupabaseClient<Database>;
