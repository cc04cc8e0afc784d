// `pnpm demo`: the main job on the embedded default. Starts a local Supabase (PGlite behind the
// real PostgREST, no server, no configuration), creates a story and runs a CREATE_SHOT_IMAGES
// task over a dozen scenelets through the task-logging helpers, with a live progress bar, then
// prints the event timeline and the task's final record.
// DATABASE_URL or SUPABASE_URL + SUPABASE_SERVICE_ROLE_KEY run the same against that instead
// (--migrate applies supabase/migrations/ to a DATABASE_URL that lacks them); --data-dir DIR
// keeps the embedded database, so `story-tasks --data-dir DIR show <id>` can read it.
import { parseArgs } from "node:util";
import { connect } from "../src/cli/connect.ts";
import { failureKindOf, failureKinds, oneLine } from "../src/cli/failures.ts";
import { duration, progressBar, table } from "../src/cli/format.ts";
import { createProgressReporter, logTaskCompletion, logTaskEvent, logTaskStart } from "../src/task-logging/index.ts";

const { values } = parseArgs({
  options: { "data-dir": { type: "string" }, migrate: { type: "boolean", default: false }, "step-ms": { type: "string", default: "40" } },
});
const stepMs = Number(values["step-ms"]);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const scenelets = [
  "The keeper climbs the spiral stairs",
  "A ship's lights on the horizon",
  "The lamp will not light",
  "Storm clouds gather over the bay",
  "A knock at the lighthouse door",
  "The stranger's lantern",
  "Waves break over the rocks",
  "The lamp flares to life",
  "The ship turns away from the reef",
  "Dawn over a calm sea",
  "The stranger is gone",
  "A letter left on the table",
];
const stepsPerShot = 20;

async function main(): Promise<void> {
  const started = performance.now();
  const connection = await connect({ dataDir: values["data-dir"], inMemoryAllowed: true, migrate: values.migrate });
  try {
    console.log(`Using ${connection.description}`);
    const { repo, client } = connection;
    const story = await client.from("stories").insert({ display_name: "The Lighthouse Keeper" }).select().single();
    if (story.error) throw new Error(`creating the story failed: ${story.error.message}`);
    console.log(`Story "${story.data.display_name}" ${story.data.id}`);

    const task = await logTaskStart(repo, {
      storyId: story.data.id,
      operation: "CREATE_SHOT_IMAGES",
      payload: { scenelets: scenelets.length, style: "ink and watercolour" },
      displayFields: { title: "Shot images", description: `${scenelets.length} scenelets of "The Lighthouse Keeper"` },
    });
    console.log(`Task CREATE_SHOT_IMAGES ${task.id}\n`);

    // The live line: redrawn in place on a terminal, one line per shot otherwise.
    const live = process.stdout.isTTY;
    let shown = "";
    const show = (percent: number, message: string) => {
      shown = `${progressBar(percent)}  ${message}`;
      if (live) process.stdout.write(`\r\x1b[2K${shown.slice(0, (process.stdout.columns ?? 120) - 1)}`);
    };

    await logTaskEvent(repo, task.id, { eventType: "info", message: `Loaded ${scenelets.length} scenelets and the visual design` });
    const reporter = createProgressReporter(repo, task.id);
    let reports = 0;
    for (const [index, scenelet] of scenelets.entries()) {
      const shot = index + 1;
      for (let step = 1; step <= stepsPerShot; step++) {
        // Diffusion steps: many reports a second, coalesced by the reporter.
        const percent = Math.floor(((index + step / stepsPerShot) / scenelets.length) * 95);
        reporter.report(percent, `Shot ${shot}/${scenelets.length}: step ${step}/${stepsPerShot}`);
        reports += 1;
        show(percent, `Shot ${shot}/${scenelets.length}: ${scenelet}`);
        await sleep(stepMs / 4);
      }
      if (shot === 7) {
        await logTaskEvent(repo, task.id, { eventType: "error", message: "Image service timed out on shot 7; retried (attempt 2 of 3)" });
        await sleep(stepMs);
      }
      await reporter.flush();
      await logTaskEvent(repo, task.id, {
        eventType: "progress",
        message: `Shot ${shot}/${scenelets.length} rendered: ${scenelet}`,
        progressOverride: Math.floor((shot / scenelets.length) * 95),
        payload: { shot, image: `shots/${String(shot).padStart(2, "0")}.png` },
      });
      if (!live) console.log(shown);
    }
    await reporter.close();
    await logTaskEvent(repo, task.id, { eventType: "info", message: "Uploaded 12 images to storage" });
    await logTaskCompletion(repo, task.id, "succeeded", { message: `Rendered ${scenelets.length} shots` });
    show(100, "Done");
    if (live) process.stdout.write("\n");
    else console.log(shown);

    const final = await repo.getTask(task.id);
    const events = await repo.listEvents(task.id, { limit: 1000 });
    const origin = Date.parse(final.createdAt);
    console.log(`\nTimeline (${events.length} events; the progress reporter was given ${reports} reports and wrote ${reporter.writes})`);
    console.log(
      table(
        ["time", "type", "progress", "message"],
        events.map((event) => [
          `+${((Date.parse(event.createdAt) - origin) / 1000).toFixed(2)}s`,
          event.eventType,
          event.progressOverride === null ? "" : `${event.progressOverride}%`,
          event.message,
        ]),
      ),
    );
    console.log("\nFinal record");
    console.log(
      table(
        ["field", "value"],
        Object.entries(final).map(([field, value]) => [field, typeof value === "string" ? value : JSON.stringify(value)]),
      ),
    );
    const ranFor = final.startedAt && final.finishedAt ? duration(Date.parse(final.finishedAt) - Date.parse(final.startedAt)) : "-";
    console.log(`\n${final.operation} ${final.status} at ${final.progress}% after ${ranFor}.`);
    if (values["data-dir"]) console.log(`Read it again with: pnpm story-tasks --data-dir ${values["data-dir"]} show ${final.id}`);
    console.log(`Done in ${duration(performance.now() - started)}.`);
  } finally {
    await connection.close();
  }
}

// Every failure is one line saying what kind it is, with the story-tasks CLI's exit code for it.
await main().catch((error: unknown) => {
  const kind = failureKindOf(error);
  console.error(`demo: ${failureKinds[kind].label}: ${oneLine(error)}`);
  process.exitCode = failureKinds[kind].exitCode;
});
