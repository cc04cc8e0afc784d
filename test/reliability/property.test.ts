// Property tests of the repository against a real stack (PostgREST in front of PostgreSQL or
// PGlite): generated invalid input to every method is refused with one of the repository's
// own errors and changes nothing; generated valid input comes back exactly as written.
//
// What jsonb does to a JavaScript value, and how the valid cases account for it:
// - -0 becomes 0. JSON.stringify already writes -0 as "0", so the body supabase-js sends holds 0.
// - Object keys come back in jsonb's order (shorter keys first); deep equality ignores key order.
// - Numbers are stored as `numeric`, exactly as the decimal JSON.stringify wrote. That decimal
//   is the shortest one that reads back as the same double, and numeric_out prints it in full
//   (5e-324 as "0.000...5", 1e308 as 309 digits), so every finite double reads back unchanged.
//   Only numbers written as JSON text with more digits than a double holds would lose precision
//   on the way back, and a JavaScript caller cannot write those.
// - Strings and keys with NUL or lone surrogates cannot be stored: the validators refuse them,
//   and the valid generators never produce them.
// So the expected value of every JSON input is JSON.parse(JSON.stringify(input)).
import { randomUUID } from "node:crypto";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Json } from "../../generated/database.types.ts";
import type { StoryTaskRecord, StoryTaskStatus } from "../../generated/records.ts";
import { STORY_TASK_EVENT_TYPES, STORY_TASK_OPERATIONS, STORY_TASK_STATUSES } from "../../generated/validators.ts";
import {
  StoryTaskForeignKeyError,
  StoryTaskNotFoundError,
  StoryTaskTransitionError,
  StoryTaskValidationError,
  StoryTaskError,
  type StoryTasksRepository,
  classifyStoryTaskError,
  createStoryTasksRepository,
} from "../../src/repository/index.ts";
import { type TestStack, insertStory, insertUser, stacks, tableState } from "../support/stacks.ts";
import { describeError, expectRepositoryError, report, settleWithin } from "./helpers.ts";
import { STORY_TASK_FINAL_STATUSES } from "../../generated/status-machine.ts";

/**
 * numRuns per property (times FC_RUNS_SCALE, to search harder locally). Seeds are random; a
 * failure prints its seed and path, which FC_SEED and FC_PATH replay.
 */
function runs(numRuns: number): fc.Parameters<unknown> {
  const seed = process.env.FC_SEED === undefined ? undefined : Number(process.env.FC_SEED);
  const scale = Number(process.env.FC_RUNS_SCALE) || 1;
  return { numRuns: Math.ceil(numRuns * scale), ...(seed === undefined ? {} : { seed }), ...(process.env.FC_PATH ? { path: process.env.FC_PATH } : {}) };
}

// ---------------------------------------------------------------------------------------------
// Invalid values
// ---------------------------------------------------------------------------------------------

const guidPattern = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/** Strings that are not uuids, some of them nearly. */
const badUuidString = fc.oneof(
  fc.string().filter((value) => !guidPattern.test(value)),
  fc.uuid().map((id) => id.slice(1)),
  fc.uuid().map((id) => `${id}0`),
  fc.uuid().map((id) => id.replaceAll("-", "")),
  fc.uuid().map((id) => `{${id}}`),
  fc.uuid().map((id) => ` ${id}`),
  fc.uuid().map((id) => id.replace(/[0-9a-f]/, "g")),
  fc.uuid().map((id) => `${id}\u0000`),
  fc.uuid().map((id) => `${id.slice(0, 8)}\ud800${id.slice(9)}`),
);
/** Not a uuid, for a field that takes null (null and undefined are fine there). */
const badNullableUuid = fc.oneof(badUuidString, fc.constantFrom<unknown>(42, {}, [], true, 1n));
/** Not a uuid, for an id argument. */
const badUuid = fc.oneof(badNullableUuid, fc.constantFrom<unknown>(null, undefined));

/** Anything but one of `values`: other strings, near misses, other types. */
function badEnum(values: readonly string[]) {
  return fc
    .oneof(
      fc.string(),
      fc.constantFrom(...values).map((value) => (value.toUpperCase() === value ? value.toLowerCase() : value.toUpperCase())),
      fc.constantFrom(...values).map((value) => ` ${value}`),
      fc.constantFrom(...values).map((value) => `${value}\u0000`),
      fc.constantFrom<unknown>(null, 1, {}, [], true),
    )
    .filter((value) => !values.includes(value as string));
}

/** Not an integer from 0 to 100. */
const badPercentNumber = fc.oneof(
  fc.integer({ max: -1 }),
  fc.integer({ min: 101 }),
  fc.double().filter((value) => !(Number.isInteger(value) && value >= 0 && value <= 100)),
  fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 2.5, 99.999, -0.5, 1e21, Number.MAX_SAFE_INTEGER + 2, -1),
);
const badPercent = fc.oneof(badPercentNumber, fc.constantFrom<unknown>("50", 50n, true, {}, []));

/** Not an integer from 1 to 1000. */
const badLimit = fc.oneof(
  fc.integer({ max: 0 }),
  fc.integer({ min: 1001 }),
  fc.double().filter((value) => !(Number.isInteger(value) && value >= 1 && value <= 1000)),
  fc.constantFrom<unknown>(Number.NaN, Number.POSITIVE_INFINITY, 0.5, 1e21, "10", 10n, true, {}),
);

/** Strings that are not valid messages, and non-strings. */
const badMessage = fc.oneof(
  fc.constant(""),
  fc.tuple(fc.string(), fc.string()).map(([before, after]) => `${before}\u0000${after}`),
  fc
    .tuple(fc.string(), fc.oneof(fc.integer({ min: 0xd800, max: 0xdbff }), fc.integer({ min: 0xdc00, max: 0xdfff })), fc.string())
    .map(([before, unit, after]) => `${before}${String.fromCharCode(unit)}${after}`),
  fc.constant("\udc00\ud800"),
  fc.constantFrom<unknown>(null, undefined, 42, {}, ["a"], true),
);

/** What JSON (as jsonb stores it) cannot hold, by name, so counterexamples read well. */
const poisons: Record<string, () => unknown> = {
  NaN: () => Number.NaN,
  Infinity: () => Number.POSITIVE_INFINITY,
  "-Infinity": () => Number.NEGATIVE_INFINITY,
  undefined: () => undefined,
  function: () => () => 1,
  bigint: () => 10n,
  symbol: () => Symbol("s"),
  Date: () => new Date(0),
  Map: () => new Map([["k", 1]]),
  Set: () => new Set([1]),
  RegExp: () => /x/,
  Uint8Array: () => new Uint8Array(2),
  "a class instance": () => new (class Thing {
    a = 1;
  })(),
  "a boxed string": () => new String("s"),
  "an object with a prototype": () => Object.create({ inherited: 1 }) as unknown,
  "NUL in a string": () => "a\u0000b",
  "lone high surrogate": () => "a\ud800b",
  "lone low surrogate": () => "\udc00",
  "reversed surrogate pair": () => "\udc00\ud800",
  "NUL in a key": () => ({ "k\u0000": 1 }),
  "lone surrogate in a key": () => ({ "\ud83d": 1 }),
  cycle: () => undefined, // built by poisoned(): the innermost container refers to the root
};
const poisonName = fc.constantFrom(...Object.keys(poisons));

function put(container: Record<string, unknown> | unknown[], key: string | number, value: unknown): void {
  if (Array.isArray(container)) {
    const index = typeof key === "number" ? key : container.length;
    while (container.length < index) container.push(null); // no holes: sparse arrays are a case of their own
    container[index] = value;
  } else {
    container[String(key)] = value;
  }
}

/** A JSON value with one poison somewhere below it, at the end of `path`. */
function poisoned(base: unknown, path: (string | number)[], poison: string): Record<string, unknown> {
  const root: Record<string, unknown> = { base };
  let container: Record<string, unknown> | unknown[] = root;
  let key: string | number = "poison";
  for (const step of path) {
    const next: Record<string, unknown> | unknown[] = typeof step === "number" ? [] : {};
    put(container, key, next);
    container = next;
    key = step;
  }
  put(container, key, poison === "cycle" ? root : poisons[poison]!());
  return root;
}

const poisonedJson = fc.oneof(
  fc.tuple(fc.jsonValue({ maxDepth: 2 }), fc.array(fc.oneof(fc.string({ maxLength: 5 }), fc.nat(3)), { maxLength: 4 }), poisonName).map(([base, path, poison]) => poisoned(base, path, poison)),
  // The value itself (not undefined: a payload left out is fine).
  poisonName.filter((name) => name !== "undefined" && name !== "cycle").map((name) => poisons[name]!()),
);

/** An extra key the input schema does not know. */
function withUnknownKey(known: string[]) {
  return fc.tuple(fc.string().filter((key) => !known.includes(key)), fc.jsonValue({ maxDepth: 1 }));
}

// ---------------------------------------------------------------------------------------------
// Valid values
// ---------------------------------------------------------------------------------------------

/** One code point (or a grapheme) that text and jsonb store as it is: no NUL, no lone surrogate. */
const storableUnit = fc.oneof(
  { arbitrary: fc.integer({ min: 1, max: 0x10ffff }).filter((cp) => cp < 0xd800 || cp > 0xdfff).map((cp) => String.fromCodePoint(cp)), weight: 3 },
  {
    arbitrary: fc.constantFrom("\\", '"', "'", "\u0001", "\u001f", "\u007f", "\u0085", "\u2028", "\u2029", "\ufeff", "\ufffd", "\uffff", "\u{10ffff}", "😀", "👩‍👩‍👧", "e\u0301", "\u200d", "%", "&", "?", "/", "\n", "\r\n", "\t", "\\u0000"),
    weight: 2,
  },
  { arbitrary: fc.string({ unit: "grapheme", minLength: 1, maxLength: 1 }), weight: 2 },
);
const unicodeText = (maxLength: number) => fc.string({ unit: storableUnit, maxLength });
const unicodeMessage = fc.oneof(fc.string({ unit: storableUnit, minLength: 1, maxLength: 300 }), fc.string({ unit: storableUnit, minLength: 2_000, maxLength: 5_000 }));

/** Finite doubles at the edges of what numeric and JSON.stringify must carry exactly. */
const edgeNumbers = [5e-324, -5e-324, 2.2250738585072014e-308, 1.7976931348623157e308, -1.7976931348623157e308, 2 ** 53 + 2, 0.1, 0.30000000000000004, 1e21, 1e-7, -0, 123456789.12345678, 1 / 3];

const storableJson = fc.jsonValue({ stringUnit: storableUnit, maxDepth: 4 });
const storablePayload: fc.Arbitrary<NonNullable<Json>> = fc.oneof(
  storableJson.filter((value): value is NonNullable<typeof value> => value !== null),
  fc.tuple(storableJson, fc.subarray(edgeNumbers)).map(([value, numbers]) => ({ value, numbers })),
  fc.dictionary(fc.string({ unit: storableUnit, maxLength: 12 }), storableJson, { maxKeys: 6 }),
) as fc.Arbitrary<NonNullable<Json>>;

/** What a JSON value reads back as (see the top of this file). */
const stored = <T>(value: T): T => (value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T));

// ---------------------------------------------------------------------------------------------

type ErrorClass = new (...args: never[]) => StoryTaskError;

interface InvalidCall {
  method: keyof StoryTasksRepository;
  args: unknown[];
  /** The class the rejection must be; StoryTaskValidationError ones are refused before any request. */
  expected: ErrorClass;
}

const invalid = (method: InvalidCall["method"], args: unknown[], expected: ErrorClass): InvalidCall => ({ method, args, expected });
const field = (name: string, value: unknown, expected: ErrorClass = StoryTaskValidationError): [string, unknown, ErrorClass] => [name, value, expected];
type Patch = Record<string, unknown>;

describe.each(stacks)("repository properties on $name", ({ start }) => {
  let running: TestStack;
  let repo: StoryTasksRepository;
  let storyId: string;
  let userId: string;
  const fixtures = {} as Record<"queued" | "running" | StoryTaskStatus, StoryTaskRecord>;

  beforeAll(async () => {
    running = await start("reliability_property");
    repo = createStoryTasksRepository(running.stack.service);
    storyId = await insertStory(running.stack, "Property story");
    userId = await insertUser(running.stack);
    fixtures.queued = await repo.createTask({ operation: "CREATE_STORY" });
    fixtures.running = await repo.createTask({ operation: "CREATE_STORY", status: "running", progress: 30 });
    for (const status of STORY_TASK_FINAL_STATUSES) {
      const task = await repo.createTask({ operation: "CREATE_STORY", status: "running", progress: 40 });
      fixtures[status] = await repo.updateStatus(task.id, { status });
    }
  });
  afterAll(async () => {
    await running?.stop();
  });

  /** Calls the method; it must reject with `expected` (a StoryTaskError) and leave both tables as they were. */
  async function expectRefused({ method, args, expected }: InvalidCall): Promise<void> {
    const before = await tableState(running.stack);
    const call = (repo[method] as (...params: unknown[]) => Promise<unknown>)(...args);
    const outcome = await settleWithin(call, 15_000);
    expect(outcome.status, `${method} should reject`).toBe("rejected");
    const error = outcome.status === "rejected" ? outcome.reason : undefined;
    expectRepositoryError(error, method);
    expect(error, describeError(error)).toBeInstanceOf(expected);
    // Refused by the validators: nothing was sent, so no PostgREST error stands behind it.
    if (expected === StoryTaskValidationError) expect(error.cause).toBeUndefined();
    expect(await tableState(running.stack)).toEqual(before);
  }

  const terminal = () => fc.constantFrom(...STORY_TASK_FINAL_STATUSES).map((status) => fixtures[status]);
  const someTask = () => fc.constantFrom(...STORY_TASK_STATUSES).map((status) => fixtures[status].id);

  describe("invalid input: refused with a repository error, nothing changed", () => {
    it("createTask", async () => {
      const validInput = fc.record(
        {
          operation: fc.constantFrom(...STORY_TASK_OPERATIONS),
          status: fc.constantFrom("queued", "running" as const),
          progress: fc.integer({ min: 0, max: 100 }),
          payload: fc.jsonValue({ maxDepth: 2 }).map((value) => value ?? {}),
          storyId: fc.constantFrom(storyId, null),
          requestedBy: fc.constantFrom(userId, null),
          displayFields: fc.option(fc.record({ title: fc.string() })),
        },
        { requiredKeys: ["operation"] },
      );
      const known = ["operation", "status", "progress", "payload", "storyId", "requestedBy", "displayFields"];
      const V = StoryTaskValidationError;
      const mutation: fc.Arbitrary<[string, unknown, ErrorClass]> = fc.oneof(
        badEnum(STORY_TASK_OPERATIONS).map((value) => field("operation", value)),
        fc.oneof(badEnum(STORY_TASK_STATUSES), fc.constant(null)).map((value) => field("status", value)),
        fc.oneof(badPercent, fc.constant(null)).map((value) => field("progress", value)),
        badNullableUuid.map((value) => field("storyId", value)),
        badNullableUuid.map((value) => field("requestedBy", value)),
        fc.oneof(poisonedJson, fc.constant(null)).map((value) => field("payload", value)),
        poisonedJson.map((value) => field("displayFields", value)),
        withUnknownKey(known).map(([key, value]) => field(key, value)),
        // Valid to the validators, refused by the database.
        fc.uuid().map((id) => field("storyId", id, StoryTaskForeignKeyError)),
        fc.uuid().map((id) => field("requestedBy", id, StoryTaskForeignKeyError)),
        fc.constantFrom(...STORY_TASK_FINAL_STATUSES).map((status) => field("status", status, StoryTaskTransitionError)),
      );
      const cases: fc.Arbitrary<InvalidCall> = fc.oneof(
        { arbitrary: fc.tuple(validInput, mutation).map(([input, [name, value, expected]]) => invalid("createTask", [{ ...input, [name]: value }], expected)), weight: 9 },
        // Not an input object at all.
        fc.constantFrom<unknown>(null, undefined, "CREATE_STORY", 42, [], [{ operation: "CREATE_STORY" }], {}).map((input) => invalid("createTask", [input], V)),
      );
      await fc.assert(fc.asyncProperty(cases, expectRefused), runs(50));
    });

    it("appendEvent", async () => {
      const validEvent = fc.record(
        {
          eventType: fc.constantFrom(...STORY_TASK_EVENT_TYPES),
          message: fc.string({ minLength: 1 }),
          payload: fc.option(fc.jsonValue({ maxDepth: 2 })),
          progressOverride: fc.option(fc.integer({ min: 0, max: 100 })),
        },
        { requiredKeys: ["eventType", "message"] },
      );
      const known = ["eventType", "message", "payload", "progressOverride"];
      const V = StoryTaskValidationError;
      const mutation: fc.Arbitrary<[string, unknown, ErrorClass]> = fc.oneof(
        badEnum(STORY_TASK_EVENT_TYPES).map((value) => field("eventType", value)),
        badMessage.map((value) => field("message", value)),
        poisonedJson.map((value) => field("payload", value)),
        badPercent.map((value) => field("progressOverride", value)),
        withUnknownKey(known).map(([key, value]) => field(key, value)),
      );
      const cases: fc.Arbitrary<InvalidCall> = fc.oneof(
        fc.tuple(someTask(), validEvent, mutation).map(([taskId, event, [name, value, expected]]) => invalid("appendEvent", [taskId, { ...event, [name]: value }], expected)),
        fc.tuple(badUuid, validEvent).map(([taskId, event]) => invalid("appendEvent", [taskId, event], V)),
        fc.tuple(someTask(), fc.constantFrom<unknown>(null, undefined, "info", [], {})).map(([taskId, event]) => invalid("appendEvent", [taskId, event], V)),
        // Valid to the validators, refused by the database.
        fc.tuple(fc.uuid(), validEvent).map(([taskId, event]) => invalid("appendEvent", [taskId, event], StoryTaskForeignKeyError)),
        fc
          .tuple(terminal(), validEvent, fc.integer({ min: 0, max: 100 }))
          .map(([task, event, progressOverride]) => invalid("appendEvent", [task.id, { ...event, progressOverride }], StoryTaskTransitionError)),
      );
      await fc.assert(fc.asyncProperty(cases, expectRefused), runs(50));
    });

    it("updateStatus", async () => {
      const validEvent = fc.record(
        { eventType: fc.constantFrom(...STORY_TASK_EVENT_TYPES), message: fc.string({ minLength: 1 }), payload: fc.jsonValue({ maxDepth: 2 }) },
        { requiredKeys: ["message"] },
      );
      const validPatch = fc.record(
        { status: fc.constantFrom(...STORY_TASK_STATUSES), progress: fc.integer({ min: 0, max: 100 }), event: validEvent },
        { requiredKeys: ["status"] },
      );
      const V = StoryTaskValidationError;
      const patchMutation: fc.Arbitrary<(patch: Patch) => Patch> = fc.oneof(
        badEnum(STORY_TASK_STATUSES).map((status) => (patch: Patch) => ({ ...patch, status })),
        fc.oneof(badPercent, fc.constant(null)).map((progress) => (patch: Patch) => ({ ...patch, progress })),
        withUnknownKey(["status", "progress", "event"]).map(([key, value]) => (patch: Patch) => ({ ...patch, [key]: value })),
        fc.constantFrom<unknown>(null, "x", 1, []).map((event) => (patch: Patch) => ({ ...patch, event })),
        fc
          .tuple(
            validEvent,
            fc.oneof(
              badMessage.map((value) => field("message", value)),
              badEnum(STORY_TASK_EVENT_TYPES).map((value) => field("eventType", value)),
              poisonedJson.map((value) => field("payload", value)),
              withUnknownKey(["eventType", "message", "payload"]).map(([key, value]) => field(key, value)),
            ),
          )
          .map(([event, [name, value]]) => (patch: Patch) => ({ ...patch, event: { ...event, [name]: value } })),
      );
      // Refused transitions on the fixtures: final tasks move nowhere, a queued task cannot succeed.
      const refusedTransition = fc.oneof(
        fc.tuple(terminal(), fc.constantFrom(...STORY_TASK_STATUSES)).filter(([task, status]) => task.status !== status),
        fc.constant(fixtures.queued).map((task): [StoryTaskRecord, StoryTaskStatus] => [task, "succeeded"]),
      );
      const cases: fc.Arbitrary<InvalidCall> = fc.oneof(
        fc.tuple(someTask(), validPatch, patchMutation).map(([taskId, patch, mutate]) => invalid("updateStatus", [taskId, mutate(patch)], V)),
        fc.tuple(badUuid, validPatch).map(([taskId, patch]) => invalid("updateStatus", [taskId, patch], V)),
        fc.tuple(someTask(), fc.constantFrom<unknown>(null, undefined, "running", {}, [])).map(([taskId, patch]) => invalid("updateStatus", [taskId, patch], V)),
        // Valid to the validators, refused by the database.
        fc.tuple(fc.uuid(), validPatch).map(([taskId, patch]) => invalid("updateStatus", [taskId, patch], StoryTaskNotFoundError)),
        fc
          .tuple(refusedTransition, fc.option(validEvent, { nil: undefined }))
          .map(([[task, status], event]) => invalid("updateStatus", [task.id, event ? { status, event } : { status }], StoryTaskTransitionError)),
      );
      await fc.assert(fc.asyncProperty(cases, expectRefused), runs(50));
    });

    it("listRecentByStory, getTask and listEvents", async () => {
      const V = StoryTaskValidationError;
      const cases: fc.Arbitrary<InvalidCall> = fc.oneof(
        badUuid.map((id) => invalid("listRecentByStory", [id], V)),
        fc.tuple(fc.constant(storyId), fc.oneof(badLimit, fc.constant(null))).map((args) => invalid("listRecentByStory", args, V)),
        badUuid.map((id) => invalid("getTask", [id], V)),
        fc.uuid().map((id) => invalid("getTask", [id], StoryTaskNotFoundError)),
        badUuid.map((id) => invalid("listEvents", [id], V)),
        fc.tuple(someTask(), badLimit, fc.boolean()).map(([id, limit, newestFirst]) => invalid("listEvents", [id, { limit, newestFirst }], V)),
      );
      await fc.assert(fc.asyncProperty(cases, expectRefused), runs(50));
    });
  });

  describe("valid input: read back exactly as written", () => {
    it("createTask with any storable payload and display fields, then getTask and listRecentByStory", async () => {
      const input = fc.record(
        {
          operation: fc.constantFrom(...STORY_TASK_OPERATIONS),
          status: fc.constantFrom("queued", "running" as const),
          progress: fc.integer({ min: 0, max: 100 }),
          payload: storablePayload,
          storyId: fc.constantFrom(storyId, null),
          requestedBy: fc.constantFrom(userId, null),
          displayFields: fc.oneof(fc.constant(null), fc.record({ title: unicodeText(80), description: unicodeText(400) }), storableJson),
        },
        { requiredKeys: ["operation"] },
      );
      await fc.assert(
        fc.asyncProperty(input, async (value) => {
          const task = await repo.createTask(value);
          const status = value.status ?? "queued";
          expect(task).toEqual({
            id: expect.stringMatching(guidPattern),
            operation: value.operation,
            status,
            progress: value.progress ?? 0,
            payload: value.payload === undefined ? {} : stored(value.payload),
            storyId: value.storyId ?? null,
            requestedBy: value.requestedBy ?? null,
            displayFields: value.displayFields === undefined ? null : stored(value.displayFields),
            createdAt: expect.any(String),
            updatedAt: expect.any(String),
            startedAt: status === "running" ? expect.any(String) : null,
            finishedAt: null,
          });
          expect(await repo.getTask(task.id)).toEqual(task);
          const row = await running.stack.query<{ payload: unknown; display_fields: unknown }>("SELECT payload, display_fields FROM public.story_tasks WHERE id = $1", [task.id]);
          expect(row.rows[0]).toEqual({ payload: task.payload, display_fields: task.displayFields });
          if (value.storyId) expect(await repo.listRecentByStory(value.storyId, 1000)).toContainEqual(task);
        }),
        runs(40),
      );
    });

    it("appendEvent with unicode messages and any storable payload, then listEvents", async () => {
      const task = await repo.createTask({ operation: "CONSTITUTION_CHAT_UPDATE", status: "running" });
      let progress = 0;
      const event = fc.record(
        {
          eventType: fc.constantFrom(...STORY_TASK_EVENT_TYPES),
          message: unicodeMessage,
          payload: fc.oneof(fc.constant(null), storablePayload),
          progressOverride: fc.option(fc.integer({ min: 0, max: 100 })),
        },
        { requiredKeys: ["eventType", "message"] },
      );
      await fc.assert(
        fc.asyncProperty(event, async (value) => {
          const appended = await repo.appendEvent(task.id, value);
          expect(appended).toEqual({
            id: expect.stringMatching(guidPattern),
            seq: expect.any(Number),
            createdAt: expect.any(String),
            taskId: task.id,
            eventType: value.eventType,
            message: value.message,
            payload: value.payload === undefined ? null : stored(value.payload),
            progressOverride: value.progressOverride ?? null,
          });
          expect(await repo.listEvents(task.id, { newestFirst: true, limit: 1 })).toEqual([appended]);
          progress = Math.max(progress, value.progressOverride ?? 0);
          expect((await repo.getTask(task.id)).progress).toBe(progress);
        }),
        runs(40),
      );
    });

    it("updateStatus with its unicode event, then getTask and listEvents", async () => {
      const event = fc.record(
        { eventType: fc.constantFrom(...STORY_TASK_EVENT_TYPES), message: unicodeMessage, payload: fc.oneof(fc.constant(null), storablePayload) },
        { requiredKeys: ["message"] },
      );
      const steps = fc.tuple(fc.option(fc.integer({ min: 0, max: 100 }), { nil: undefined }), event, fc.constantFrom(...STORY_TASK_FINAL_STATUSES), event);
      await fc.assert(
        fc.asyncProperty(steps, async ([progress, startEvent, ending, endEvent]) => {
          const task = await repo.createTask({ operation: "RUN_WORKFLOW_TASK" });
          const started = await repo.updateStatus(task.id, { status: "running", progress, event: startEvent });
          expect(started).toMatchObject({ status: "running", progress: progress ?? 0, finishedAt: null });
          expect(started.startedAt).not.toBeNull();
          const ended = await repo.updateStatus(task.id, { status: ending, event: endEvent });
          expect(ended).toMatchObject({ status: ending, progress: ending === "succeeded" ? 100 : (progress ?? 0), startedAt: started.startedAt });
          expect(ended.finishedAt).not.toBeNull();
          expect(await repo.getTask(task.id)).toEqual(ended);
          const events = await repo.listEvents(task.id);
          expect(events.map((stored) => [stored.eventType, stored.message, stored.payload, stored.progressOverride])).toEqual(
            [startEvent, endEvent].map((written) => [written.eventType ?? "info", written.message, written.payload === undefined ? null : stored(written.payload), null]),
          );
        }),
        runs(25),
      );
    });
  });

  // Defence in depth: what the validators refuse, sent straight to PostgREST, is refused there
  // too, and classifyStoryTaskError makes the refusal a typed error.
  describe("the database's own refusals, the validators bypassed", () => {
    type Raw = { error: Parameters<typeof classifyStoryTaskError>[0] | null; status: number };
    const raw: [string, (taskId: string) => PromiseLike<Raw>, string][] = [
      ["a NUL in a message", (id) => running.stack.service.rpc("append_story_task_events", {  task_id: id, events: [{ event_type: "info", message: "a\u0000b"  }] }), "(input)"],
      ["a NUL in a JSON string", (id) => running.stack.service.rpc("append_story_task_events", {  task_id: id, events: [{ event_type: "info", message: "m", payload: { a: "x\u0000" }  }] }), "(input)"],
      ["a NUL in a JSON key", (id) => running.stack.service.rpc("append_story_task_events", {  task_id: id, events: [{ event_type: "info", message: "m", payload: { "k\u0000": 1 }  }] }), "(input)"],
      ["a NUL in a status event", (id) => running.stack.service.rpc("update_story_task_status", { task_id: id, status: "running", event: { message: "\u0000" } }), "(input)"],
      ["a NUL in display fields", () => running.stack.service.from("story_tasks").insert({ operation: "CREATE_STORY", display_fields: { t: "\u0000" } }), "(input)"],
      ["a lone surrogate in a message", (id) => running.stack.service.rpc("append_story_task_events", {  task_id: id, events: [{ event_type: "info", message: "a\ud800b"  }] }), "(input)"],
      ["a lone surrogate in a payload", () => running.stack.service.from("story_tasks").insert({ operation: "CREATE_STORY", payload: { t: "\udc00" } }), "(input)"],
      ["an empty message", (id) => running.stack.service.rpc("append_story_task_events", {  task_id: id, events: [{ event_type: "info", message: ""  }] }), "message"],
      ["an unknown event type", (id) => running.stack.service.rpc("append_story_task_events", {  task_id: id, events: [{ event_type: "debug", message: "m"  }] }), "eventType"],
      ["progress_override 101", (id) => running.stack.service.rpc("append_story_task_events", {  task_id: id, events: [{ event_type: "progress", message: "m", progress_override: 101  }] }), "progressOverride"],
      ["progress_override 2.5", (id) => running.stack.service.rpc("append_story_task_events", {  task_id: id, events: [{ event_type: "progress", message: "m", progress_override: 2.5  }] }), "(input)"],
      ["an unknown operation", () => running.stack.service.from("story_tasks").insert({ operation: "WRITE_POEM" }), "operation"],
      ["progress -1", () => running.stack.service.from("story_tasks").insert({ operation: "CREATE_STORY", progress: -1 }), "progress"],
      ["a malformed task id", () => running.stack.service.rpc("append_story_task_events", {  task_id: "task-1", events: [{ event_type: "info", message: "m"  }] }), "(input)"],
    ];
    it.each(raw)("%s is refused, and classified as a StoryTaskValidationError of %s", async (label, send, field) => {
      const before = await tableState(running.stack);
      const { error, status } = await send(fixtures.running.id);
      expect(error, `${label} was accepted`).not.toBeNull();
      const classified = classifyStoryTaskError(error!, { httpStatus: status });
      report(`${label}: ${error?.code} -> ${classified.name}`);
      expect(classified).toBeInstanceOf(StoryTaskValidationError);
      expect((classified as StoryTaskValidationError).issues.map((issue) => issue.field)).toEqual([field]);
      expect(classified.retryable).toBe(false);
      expect(await tableState(running.stack)).toEqual(before);
    });
  });

  describe("large and deep values", () => {
    // 5 MiB of text (2.5 M two-byte characters): PostgREST 12 sets no body limit and both stacks
    // store it. Either way the outcome must be stored-and-read-back or a typed error with nothing written.
    const big = "é".repeat(2.5 * 1024 * 1024);

    /** The write resolves (within a bound), and what it stored reads back. */
    async function stored<T>(label: string, write: () => Promise<T>, readBack: (written: T) => Promise<void>): Promise<void> {
      const startedAt = Date.now();
      const outcome = await settleWithin(write(), 45_000);
      report(`${label}: ${outcome.status === "rejected" ? describeError(outcome.reason) : outcome.status} in ${Date.now() - startedAt} ms`);
      expect(outcome.status, `${label}: ${outcome.status === "rejected" ? describeError(outcome.reason) : ""}`).toBe("fulfilled");
      if (outcome.status === "fulfilled") await readBack(outcome.value);
    }

    it("a 5 MiB task payload, event message and event payload are stored and read back", async () => {
      const task = async () => repo.createTask({ operation: "CREATE_STORY", status: "running" });
      // Each case removes its task afterwards, so that the checksums stay cheap.
      const remove = (taskId: string) => running.stack.query("DELETE FROM public.story_tasks WHERE id = $1", [taskId]);
      await stored(
        "createTask with a 5 MiB payload string",
        () => repo.createTask({ operation: "CREATE_STORY", status: "running", payload: { big } }),
        async (created) => {
          expect((await repo.getTask(created.id)).payload).toEqual({ big });
          await remove(created.id);
        },
      );
      const forMessage = await task();
      await stored(
        "appendEvent with a 5 MiB message",
        () => repo.appendEvent(forMessage.id, { eventType: "chat_message", message: big, progressOverride: 5 }),
        async (event) => expect(await repo.listEvents(forMessage.id)).toEqual([event]),
      );
      await remove(forMessage.id);
      const forStatus = await task();
      await stored(
        "updateStatus with a 5 MiB event payload",
        () => repo.updateStatus(forStatus.id, { status: "succeeded", event: { message: "done", payload: [big] } }),
        async (ended) => {
          expect(ended.status).toBe("succeeded");
          expect((await repo.listEvents(forStatus.id)).map((event) => [event.message, event.payload])).toEqual([["done", [big]]]);
        },
      );
      await remove(forStatus.id);
    });

    it("a payload nested 100 levels deep is stored and read back; 2,000 levels is refused before sending (the validators' limit is 1,000)", async () => {
      const nested = (depth: number) => {
        let payload: NonNullable<Json> = { leaf: true };
        for (let level = 0; level < depth; level++) payload = level % 2 ? { d: payload } : [payload];
        return payload;
      };
      await stored(
        "createTask with a payload 100 levels deep",
        () => repo.createTask({ operation: "CREATE_STORY", payload: nested(100) }),
        async (task) => {
          expect((await repo.getTask(task.id)).payload).toEqual(nested(100));
          await running.stack.query("DELETE FROM public.story_tasks WHERE id = $1", [task.id]);
        },
      );
      await expectRefused(invalid("createTask", [{ operation: "CREATE_STORY", payload: nested(2_000) }], StoryTaskValidationError));
    });
  });

  // Each of these failed when written: the repository let a plain TypeError or RangeError escape
  // (see the report of the reliability suites). They state what the README promises.
  describe("input that once crashed the validators (regressions)", () => {
    it("a sparse array in a payload is refused with a StoryTaskValidationError, not a TypeError", async () => {
      // eslint-disable-next-line no-sparse-arrays
      const sparse = [1, , 3] as unknown as Json;
      await expectRefused(invalid("createTask", [{ operation: "CREATE_STORY", payload: { list: sparse } }], StoryTaskValidationError));
      await expectRefused(invalid("appendEvent", [fixtures.running.id, { eventType: "info", message: "holes", payload: [, 1] }], StoryTaskValidationError));
    });

    it("payloads nested 10 000 and 100 000 levels deep are refused before sending, naming the payload, not with a RangeError", async () => {
      for (const depth of [10_000, 100_000]) {
        let payload: unknown = 1;
        for (let level = 0; level < depth; level++) payload = level % 2 ? { d: payload } : [payload];
        const before = await tableState(running.stack);
        const error = await repo.createTask({ operation: "CREATE_STORY", payload: payload as NonNullable<Json> }).then(
          () => undefined,
          (caught: unknown) => caught,
        );
        expect(error, `createTask with a payload ${depth} levels deep`).toBeInstanceOf(StoryTaskValidationError);
        expect((error as StoryTaskValidationError).issues).toEqual([{ field: "payload", rule: expect.stringMatching(/is nested more than 1000 levels deep/) }]);
        expect((error as StoryTaskValidationError).cause).toBeUndefined();
        expect(await tableState(running.stack)).toEqual(before);
      }
    });

    it("listEvents(taskId, null) is listEvents(taskId): the options are optional, null included", async () => {
      expect(await repo.listEvents(fixtures.running.id, null)).toEqual(await repo.listEvents(fixtures.running.id));
    });
  });

  it("the suite's own fixtures are intact (no invalid call changed them)", async () => {
    for (const task of Object.values(fixtures)) expect(await repo.getTask(task.id)).toEqual(task);
    expect(await repo.listEvents(fixtures.queued.id)).toEqual([]);
    // Sanity of the generators: a uuid they never use is unknown.
    await expect(repo.getTask(randomUUID())).rejects.toBeInstanceOf(StoryTaskNotFoundError);
  });
});
