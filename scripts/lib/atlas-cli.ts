// Finds the Atlas CLI: an `atlas` on PATH, else the open-source CLI built from tools/atlas/
// (the pinned Go module) into .tools/, rebuilt whenever the pin changes.
import { spawnSync, type SpawnSyncReturns } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const toolModuleDir = path.join(projectRoot, "tools", "atlas");

/** Keeps Atlas from phoning home: no update checks, no upgrade hints, no telemetry. */
export const atlasEnvironment: Record<string, string> = {
  ATLAS_NO_UPDATE_NOTIFIER: "1",
  ATLAS_NO_UPGRADE_SUGGESTIONS: "1",
  ATLAS_NO_ANON_TELEMETRY: "true",
  DO_NOT_TRACK: "1",
};

export class AtlasUnavailableError extends Error {
  override name = "AtlasUnavailableError";
}

function onPath(command: string): string | undefined {
  const found = spawnSync("sh", ["-c", `command -v ${command}`], { encoding: "utf8" });
  return found.status === 0 ? found.stdout.trim() || undefined : undefined;
}

/** The CLI version the tool module pins, e.g. "v0.13.1". */
export function pinnedAtlasVersion(): string {
  const goMod = readFileSync(path.join(toolModuleDir, "go.mod"), "utf8");
  const pin = /^\s*ariga\.io\/atlas\/cmd\/atlas (\S+)/m.exec(goMod);
  if (!pin) throw new AtlasUnavailableError("tools/atlas/go.mod does not require ariga.io/atlas/cmd/atlas");
  return pin[1]!;
}

function builtBinaryPath(): string {
  const pin = createHash("sha256")
    .update(readFileSync(path.join(toolModuleDir, "go.mod")))
    .update(readFileSync(path.join(toolModuleDir, "go.sum")))
    .digest("hex")
    .slice(0, 12);
  return path.join(projectRoot, ".tools", `atlas-${pinnedAtlasVersion()}-${pin}`, "atlas");
}

function buildAtlas(target: string): void {
  if (!onPath("go")) {
    throw new AtlasUnavailableError(
      "Atlas is not installed: install Go 1.26 or newer (https://go.dev/dl/) so `pnpm atlas` can build the pinned CLI, or put an `atlas` binary on PATH.",
    );
  }
  mkdirSync(path.dirname(target), { recursive: true });
  process.stderr.write(`Building the Atlas CLI ${pinnedAtlasVersion()} from tools/atlas (once per pin)...\n`);
  const versionFlag = `-X ariga.io/atlas/cmd/atlas/internal/cmdapi.version=${pinnedAtlasVersion()}`;
  const build = spawnSync("go", ["build", "-trimpath", "-ldflags", versionFlag, "-o", target, "ariga.io/atlas/cmd/atlas"], {
    cwd: toolModuleDir,
    stdio: ["ignore", "inherit", "inherit"],
    env: { ...process.env, CGO_ENABLED: "0" },
  });
  if (build.status !== 0) throw new AtlasUnavailableError(`building the Atlas CLI failed (go build exited ${build.status})`);
}

/** Path of the Atlas binary to run, building the pinned one on first use. */
export function atlasBinary(): string {
  const fromPath = onPath("atlas");
  if (fromPath) return fromPath;
  const built = builtBinaryPath();
  if (!existsSync(built)) buildAtlas(built);
  return built;
}

/** Runs Atlas from the project root and returns its captured output. */
export function runAtlas(args: string[]): SpawnSyncReturns<string> {
  return spawnSync(atlasBinary(), args, {
    cwd: projectRoot,
    encoding: "utf8",
    env: { ...process.env, ...atlasEnvironment },
    maxBuffer: 64 * 1024 * 1024,
  });
}
