// What a caller can act on: real failed responses, classified by classifyStoryTaskError from
// their body and HTTP status, each with `retryable` saying whether the same call may succeed.
import { type Server, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { SupabaseClient } from "@supabase/supabase-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createNodeSupabaseClient } from "../../src/local-stack/index.ts";
import { signJwt } from "../../src/local-stack/jwt.ts";
import {
  StoryTaskAuthorizationError,
  StoryTaskConnectionError,
  StoryTaskError,
  classifyStoryTaskError,
  createStoryTasksRepository,
} from "../../src/repository/index.ts";
import { type TestStack, stacks } from "../support/stacks.ts";

/** A local HTTP server that answers every request with `answer` (or never, when it returns false). */
async function fakeGateway(answer: (response: import("node:http").ServerResponse) => boolean): Promise<{ url: string; server: Server }> {
  const server = createServer((_, response) => {
    if (!answer(response)) return;
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

async function rejection(call: () => Promise<unknown>): Promise<StoryTaskError> {
  const error = await call().then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(StoryTaskError);
  return error as StoryTaskError;
}

describe.each(stacks)("errors from real responses on $name", ({ start }) => {
  let running: TestStack;
  let taskId: string;

  beforeAll(async () => {
    running = await start("errors");
    taskId = (await createStoryTasksRepository(running.stack.service).createTask({ operation: "CREATE_STORY", status: "running" })).id;
  });
  afterAll(async () => {
    await running?.stop();
  });

  it("a bad key (401) is a StoryTaskAuthorizationError, not retryable", async () => {
    const forged = signJwt({ role: "service_role" }, "another secret, at least 32 characters long");
    const error = await rejection(() => createStoryTasksRepository(running.stack.client(forged, { retry: false })).getTask(taskId));
    expect(error).toBeInstanceOf(StoryTaskAuthorizationError);
    expect(error).toMatchObject({ httpStatus: 401, retryable: false });
  });

  it("a role without the privilege (anon, 42501) is a StoryTaskAuthorizationError", async () => {
    const error = await rejection(() => createStoryTasksRepository(running.stack.anon).appendEvent(taskId, { eventType: "info", message: "x" }));
    expect(error).toBeInstanceOf(StoryTaskAuthorizationError);
    expect(error).toMatchObject({ code: "42501", retryable: false });
  });

  it("a stopped PostgREST is a StoryTaskConnectionError, retryable", async () => {
    const repo = createStoryTasksRepository(running.stack.client(running.stack.serviceRoleKey, { retry: false }));
    await running.stack.stopPostgrest();
    try {
      for (const call of [() => repo.getTask(taskId), () => repo.appendEvent(taskId, { eventType: "info", message: "while down" })]) {
        const error = await rejection(call);
        expect(error).toBeInstanceOf(StoryTaskConnectionError);
        expect(error).toMatchObject({ httpStatus: 0, retryable: true });
      }
    } finally {
      await running.stack.startPostgrest();
    }
  });

  it("a gateway answering 502 with an HTML page is a StoryTaskConnectionError, retryable", async () => {
    const gateway = await fakeGateway((response) => {
      response.writeHead(502, { "content-type": "text/html" }).end("<html><body><h1>502 Bad Gateway</h1></body></html>");
      return true;
    });
    try {
      const error = await rejection(() => createStoryTasksRepository(createNodeSupabaseClient(gateway.url, running.stack.serviceRoleKey, { retry: false })).createTask({ operation: "CREATE_STORY" }));
      expect(error).toBeInstanceOf(StoryTaskConnectionError);
      expect(error).toMatchObject({ httpStatus: 502, retryable: true });
    } finally {
      gateway.server.closeAllConnections();
      gateway.server.close();
    }
  });

  it("a request that times out (fetch aborted) is a StoryTaskConnectionError, retryable", async () => {
    const gateway = await fakeGateway(() => false); // accepts, never answers
    try {
      const timingOut: typeof fetch = (input, init) => fetch(input, { ...init, signal: AbortSignal.timeout(200) });
      const client = createNodeSupabaseClient(gateway.url, running.stack.serviceRoleKey, { retry: false, fetch: timingOut });
      const error = await rejection(() => createStoryTasksRepository(client).getTask(taskId));
      expect(error).toBeInstanceOf(StoryTaskConnectionError);
      expect(error).toMatchObject({ httpStatus: 0, retryable: true });
      expect(error.message).toMatch(/TimeoutError|abort/i);
    } finally {
      gateway.server.closeAllConnections();
      gateway.server.close();
    }
  });

  it("a deadlock (40P01), a statement timeout (57014) and too many connections (53300, HTTP 503) are retryable; a unique violation (23505) is a conflict, not retryable", async () => {
    await running.stack.query(`
      CREATE FUNCTION public.raise_for_test(code text) RETURNS void LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'raised for a test' USING ERRCODE = code; END $$;
      GRANT EXECUTE ON FUNCTION public.raise_for_test TO service_role;`);
    await running.stack.stopPostgrest();
    await running.stack.startPostgrest(); // a new schema cache, with the function
    try {
      const untyped = running.stack.service as unknown as SupabaseClient;
      for (const [code, retryable, name] of [
        ["40P01", true, "StoryTaskError"],
        ["57014", true, "StoryTaskError"],
        ["53300", true, "StoryTaskError"],
        ["23505", false, "StoryTaskConflictError"],
      ] as const) {
        const { error, status } = await untyped.rpc("raise_for_test", { code });
        expect(error?.code, code).toBe(code);
        if (code === "53300") expect(status).toBe(503);
        const classified = classifyStoryTaskError(error!, { httpStatus: status });
        expect({ name: classified.name, retryable: classified.retryable }, code).toEqual({ name, retryable });
      }
    } finally {
      await running.stack.query("DROP FUNCTION public.raise_for_test");
    }
  });

  // PostgREST retries a transaction that fails with 40001 itself, so this body only reaches a
  // caller from another server in front of the database; it is classified all the same.
  it("a serialization failure (40001) is retryable", () => {
    const body = { code: "40001", message: "could not serialize access due to concurrent update", details: null, hint: null } as unknown as Parameters<typeof classifyStoryTaskError>[0];
    expect(classifyStoryTaskError(body, { httpStatus: 500 })).toMatchObject({ retryable: true, code: "40001" });
  });
});
