// `pnpm demo`, the README's first command, on the embedded PGlite: no server involved.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { listMigrations } from "../scripts/lib/schema-sources.ts";
import { runScript } from "./support/databases.ts";

const dataDir = mkdtempSync(path.join(tmpdir(), "story-tasks-demo-"));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

describe("pnpm demo", () => {
  it("builds every migration into an embedded database and shows the status machine at work", () => {
    const demo = runScript("demo", ["--data-dir", dataDir], "postgres://unused@127.0.0.1:1/unused");
    expect(demo.status).toBe(0);
    for (const file of listMigrations()) expect(demo.stdout).toContain(`applied supabase/migrations/${file}`);
    expect(demo.stdout).toMatch(/story_tasks: id uuid, story_id uuid null, operation text, status text/);
    expect(demo.stdout).toContain("policy story_tasks_select_own on story_tasks");
    expect(demo.stdout).toContain("publication supabase_realtime includes story_task_events");
    expect(demo.stdout).toContain("A task ran queued -> running -> succeeded, ending at progress 100.");
    expect(demo.stdout).toMatch(/Moving it back to running: refused: story task .* is succeeded, which is final/);
  });

  it("keeps its data directory: a second run applies nothing again", () => {
    const again = runScript("demo", ["--data-dir", dataDir], "postgres://unused@127.0.0.1:1/unused");
    expect(again.status).toBe(0);
    expect(again.stdout).not.toContain("applied supabase/migrations/");
    expect(again.stdout).toContain("ending at progress 100");
  });
});
