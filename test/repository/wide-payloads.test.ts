// Wide JSON values: the validator must accept what jsonb accepts (an array of 200,000 numbers
// once overflowed its stack), while still refusing cycles and nesting deeper than maxJsonDepth.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Json } from "../../generated/database.types.ts";
import { StoryTaskValidationError, type StoryTasksRepository, createStoryTasksRepository } from "../../src/repository/index.ts";
import { jsonProblem, maxJsonDepth } from "../../src/validation/rules.ts";
import { type TestStack, stacks } from "../support/stacks.ts";

const numbers = Array.from({ length: 200_000 }, (_, i) => i * 1.5);

function nested(depth: number): NonNullable<Json> {
  let value: NonNullable<Json> = 0;
  for (let level = 0; level < depth; level++) value = [value];
  return value;
}

describe("jsonProblem", () => {
  it("accepts 200,000 numbers in one array and 200,000 keys in one object", () => {
    expect(jsonProblem(numbers)).toBeUndefined();
    expect(jsonProblem(Object.fromEntries(numbers.map((n, i) => [`k${i}`, n])))).toBeUndefined();
  });

  it("names the first problem in reading order in a wide array", () => {
    const values: unknown[] = [...numbers];
    values[150_000] = Number.NaN;
    values[199_999] = undefined;
    expect(jsonProblem(values)).toBe("NaN at $[150000] is not a finite number");
  });

  it(`accepts ${maxJsonDepth} levels, refuses one more, and refuses a cycle`, () => {
    expect(jsonProblem(nested(maxJsonDepth))).toBeUndefined();
    expect(jsonProblem(nested(maxJsonDepth + 1))).toMatch(`nested more than ${maxJsonDepth} levels deep`);
    const cycle: Record<string, unknown> = { list: [1, 2] };
    (cycle.list as unknown[]).push(cycle);
    expect(jsonProblem(cycle)).toBe("$.list[2] refers back to itself");
  });
});

describe.each(stacks)("wide payloads through the repository on $name", ({ start }) => {
  let running: TestStack;
  let repo: StoryTasksRepository;

  beforeAll(async () => {
    running = await start("wide_payloads");
    repo = createStoryTasksRepository(running.stack.service);
  });
  afterAll(async () => {
    await running?.stop();
  });

  it("stores a task payload and an event payload of 200,000 numbers and reads them back", async () => {
    const task = await repo.createTask({ operation: "CREATE_STORY", status: "running", payload: numbers });
    expect((await repo.getTask(task.id)).payload).toEqual(numbers);
    await repo.appendEvent(task.id, { eventType: "info", message: "wide", payload: { numbers } });
    expect((await repo.listEvents(task.id)).map((event) => event.payload)).toEqual([{ numbers }]);
  });

  it(`refuses a payload nested ${maxJsonDepth + 1} levels deep before sending it`, async () => {
    const refused = await repo.createTask({ operation: "CREATE_STORY", payload: nested(maxJsonDepth + 1) }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(StoryTaskValidationError);
    expect((refused as StoryTaskValidationError).issues.map((issue) => issue.field)).toEqual(["payload"]);
  });
});
