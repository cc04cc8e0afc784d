// A repository on a local stack whose requests go through a function the test writes: where a
// test injects a fault (a failed request, PostgREST stopped or its connections cut) at a point
// it controls, rather than after a guessed delay.
import { type LocalStack, createNodeSupabaseClient } from "../../src/local-stack/index.ts";
import { type StoryTasksRepository, createStoryTasksRepository } from "../../src/repository/index.ts";

type Fetch = typeof globalThis.fetch;

/** Sees each request; `forward` sends it to PostgREST. */
export type Intercept = (forward: () => Promise<Response>, request: { method: string; input: Parameters<Fetch>[0]; init: Parameters<Fetch>[1] }) => Promise<Response>;

export interface InterceptedRepository {
  repo: StoryTasksRepository;
  /** Requests go through `next` from now on; undefined sends them straight to PostgREST. */
  intercept(next: Intercept | undefined): void;
}

/** `retry`: supabase-js's retries of failed GETs (after 1, 2 and 4 s); off unless asked for. */
export function interceptedRepository(stack: LocalStack, options: { retry?: boolean } = {}): InterceptedRepository {
  let current: Intercept | undefined;
  const fetch: Fetch = (input, init) => {
    const forward = () => stack.fetch(input, init);
    return current ? current(forward, { method: (init?.method ?? "GET").toUpperCase(), input, init }) : forward();
  };
  return {
    repo: createStoryTasksRepository(createNodeSupabaseClient(stack.url, stack.serviceRoleKey, { fetch, retry: options.retry ?? false })),
    intercept(next) {
      current = next;
    },
  };
}
