// The packages only the local stack, the CLI's local modes and the demo use (PGlite, its socket
// server, pg, PostgREST) are optional peer dependencies: a production worker never installs
// them, so they are loaded here, when needed, and a missing one gets one sentence, not a trace.
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** Thrown when an optional peer dependency the caller needs is not installed. */
export class MissingOptionalPackageError extends Error {
  override name = "MissingOptionalPackageError";
  constructor(
    readonly packages: string[],
    purpose: string,
  ) {
    super(`${purpose} needs ${packages.join(", ")}, which ${packages.length === 1 ? "is" : "are"} not installed: run \`npm install ${packages.map(pinned).join(" ")}\`.`);
  }
}

interface PackageJson {
  name?: string;
  peerDependencies?: Record<string, string>;
}

/** This package's package.json: the nearest one above this file named story-task-persistence (src/ here, dist/src/ when installed). */
function ownPackageJson(): PackageJson {
  for (let dir = path.dirname(fileURLToPath(import.meta.url)); ; dir = path.dirname(dir)) {
    try {
      const found = JSON.parse(readFileSync(path.join(dir, "package.json"), "utf8")) as PackageJson;
      if (found.name === "story-task-persistence") return found;
    } catch {
      // none here
    }
    if (path.dirname(dir) === dir) return {};
  }
}

// The versions to install are this package's own peerDependencies.
let peerVersions: Record<string, string> | undefined;
function pinned(name: string): string {
  peerVersions ??= ownPackageJson().peerDependencies ?? {};
  const version = peerVersions[name];
  return version ? `${name}@${version}` : name;
}

function isNotFound(error: unknown, name: string): boolean {
  const { code, message } = error as { code?: unknown; message?: unknown };
  return (code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND") && typeof message === "string" && message.includes(name);
}

/**
 * Loads every package in `loaders` (keyed by package name), or throws one
 * MissingOptionalPackageError naming all that are missing.
 */
export async function loadOptionalPackages<Loaders extends Record<string, () => Promise<unknown>>>(
  purpose: string,
  loaders: Loaders,
): Promise<{ [Name in keyof Loaders]: Awaited<ReturnType<Loaders[Name]>> }> {
  const names = Object.keys(loaders);
  const settled = await Promise.allSettled(names.map((name) => loaders[name]!()));
  const missing = names.flatMap((name, i) => {
    const outcome = settled[i]!;
    if (outcome.status === "fulfilled") return [];
    if (outcome.reason instanceof MissingOptionalPackageError) return outcome.reason.packages;
    return isNotFound(outcome.reason, name) ? [name] : [];
  });
  if (missing.length > 0) throw new MissingOptionalPackageError(missing, purpose);
  const failed = settled.find((outcome): outcome is PromiseRejectedResult => outcome.status === "rejected");
  if (failed) throw failed.reason;
  return Object.fromEntries(names.map((name, i) => [name, (settled[i] as PromiseFulfilledResult<unknown>).value])) as never;
}
