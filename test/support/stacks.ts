// The stacks every repository test runs against, unchanged: a PostgreSQL server and the
// embedded PGlite, each behind a real PostgREST, reached through supabase-js.
import { type LocalStack, startLocalStack } from "../../src/local-stack/index.ts";
import pg from "pg";
import { expect } from "vitest";
import { createSupabaseProject } from "./supabase-project.ts";

export interface TestStack {
  stack: LocalStack;
  /**
   * SQL as the server's superuser, for what a test does that no deploy role may (switch the
   * triggers off to set a clock back, terminate PostgREST's backends). On PGlite, stack.query.
   */
  admin<Row>(sql: string, params?: unknown[]): Promise<{ rows: Row[] }>;
  stop(): Promise<void>;
}

export const stacks: { name: string; start(label: string): Promise<TestStack> }[] = [
  {
    // A Supabase-shaped database (test/support/supabase-project.ts), migrated by the local stack
    // as the deploy role, which stack.query connects as too.
    name: "PostgreSQL server",
    async start(label) {
      const project = await createSupabaseProject(label);
      const admin = new pg.Pool({ connectionString: project.adminUrl, max: 2 });
      admin.on("error", () => undefined);
      try {
        const stack = await startLocalStack({ databaseUrl: project.url, migrate: true });
        return {
          stack,
          admin: async <Row>(sql: string, params?: unknown[]) => {
            const result = await admin.query(sql, params);
            const last = Array.isArray(result) ? result.at(-1) : result;
            return { rows: (last?.rows ?? []) as Row[] };
          },
          async stop() {
            await stack.stop();
            await admin.end();
            await project.drop();
          },
        };
      } catch (error) {
        await admin.end();
        await project.drop();
        throw error;
      }
    },
  },
  {
    name: "embedded PGlite",
    async start() {
      const stack = await startLocalStack();
      return { stack, admin: (sql, params) => stack.query(sql, params), stop: () => stack.stop() };
    },
  },
];

/** Expects `call` to reject with `type` and leave both tables as they were; returns the error. */
export async function expectRefusedUnchanged<E extends Error>(stack: LocalStack, call: () => Promise<unknown>, type: new (...args: never[]) => E): Promise<E> {
  const before = await tableState(stack);
  const error = await call().then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(type);
  expect(await tableState(stack)).toEqual(before);
  return error as E;
}

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
