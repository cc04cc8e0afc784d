// `pnpm atlas <args>`: the pinned open-source Atlas CLI (see scripts/lib/atlas-cli.ts).
import { spawnSync } from "node:child_process";
import { AtlasUnavailableError, atlasBinary, atlasEnvironment, projectRoot } from "./lib/atlas-cli.ts";

try {
  const result = spawnSync(atlasBinary(), process.argv.slice(2), {
    cwd: projectRoot,
    stdio: "inherit",
    env: { ...process.env, ...atlasEnvironment },
  });
  process.exitCode = result.status ?? 1;
} catch (error) {
  if (!(error instanceof AtlasUnavailableError)) throw error;
  console.error(error.message);
  process.exitCode = 1;
}
