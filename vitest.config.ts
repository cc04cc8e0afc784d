import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // A guard against hangs, not a speed check: the heaviest test (a schema change carried through
    // Atlas, codegen and PostgREST on a project copy) takes 33 s on a quiet 2-core machine and
    // 51 s with the other core busy.
    testTimeout: 180_000,
    hookTimeout: 180_000,
    pool: "forks",
    globalSetup: ["test/support/global-setup.ts"],
  },
});
