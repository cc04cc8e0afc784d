// The stacks every repository test runs against, unchanged: a PostgreSQL server and the
// embedded PGlite, each behind a real PostgREST, reached through supabase-js.
import { type LocalStack, startLocalStack } from "../../src/local-stack/index.ts";
import { createEmptyDatabase } from "./databases.ts";

export interface TestStack {
  stack: LocalStack;
  stop(): Promise<void>;
}

export const stacks: { name: string; start(label: string): Promise<TestStack> }[] = [
  {
    name: "PostgreSQL server",
    async start(label) {
      const database = await createEmptyDatabase(label);
      try {
        const stack = await startLocalStack({ databaseUrl: database.url, migrate: true });
        return {
          stack,
          async stop() {
            await stack.stop();
            await database.drop();
          },
        };
      } catch (error) {
        await database.drop();
        throw error;
      }
    },
  },
  {
    name: "embedded PGlite",
    async start() {
      const stack = await startLocalStack();
      return { stack, stop: () => stack.stop() };
    },
  },
];

/** Row counts and a checksum of both tables: equal before and after means nothing changed. */
export async function tableState(stack: LocalStack): Promise<{ tasks: number; events: number; checksum: string }> {
  const result = await stack.query<{ tasks: number; events: number; checksum: string }>(`
    SELECT (SELECT count(*)::int FROM public.story_tasks) AS tasks,
           (SELECT count(*)::int FROM public.story_task_events) AS events,
           md5(coalesce((SELECT string_agg(t::text, '|' ORDER BY t.id) FROM public.story_tasks t), '')
               || coalesce((SELECT string_agg(e::text, '|' ORDER BY e.seq) FROM public.story_task_events e), '')) AS checksum`);
  return result.rows[0]!;
}

export async function insertStory(stack: LocalStack, name = "A story"): Promise<string> {
  const result = await stack.query<{ id: string }>("INSERT INTO public.stories (display_name) VALUES ($1) RETURNING id", [name]);
  return result.rows[0]!.id;
}

export async function insertUser(stack: LocalStack): Promise<string> {
  const result = await stack.query<{ id: string }>("INSERT INTO auth.users (id) VALUES (gen_random_uuid()) RETURNING id");
  return result.rows[0]!.id;
}
