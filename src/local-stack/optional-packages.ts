// The packages only the local stack, the CLI's local modes and the demo use (PGlite, its socket
// server, pg, PostgREST) are optional peer dependencies: a production worker never installs
// them, so they are loaded here, when needed, and a missing one gets one sentence, not a trace.
import { readFileSync } from "node:fs";

/** Thrown when an optional peer dependency the caller needs is not installed. */
export class MissingOptionalPackageError extends Error {
  override name = "MissingOptionalPackageError";
  constructor(
    readonly packages: string[],
    purpose: string,
  ) {
    super(`${purpose} needs ${packages.join(", ")}, not installed here: run \`npm install ${packages.map(pinned).join(" ")}\`.`);
  }
}

// The versions to install are this package's own peerDependencies.
const packageJsonUrl = new URL("../../package.json", import.meta.url);
let peerVersions: Record<string, string> | undefined;
function pinned(name: string): string {
  peerVersions ??= (JSON.parse(readFileSync(packageJsonUrl, "utf8")) as { peerDependencies?: Record<string, string> }).peerDependencies ?? {};
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
  const missing = names.filter((name, i) => settled[i]!.status === "rejected" && isNotFound((settled[i] as PromiseRejectedResult).reason, name));
  if (missing.length > 0) throw new MissingOptionalPackageError(missing, purpose);
  const failed = settled.find((outcome): outcome is PromiseRejectedResult => outcome.status === "rejected");
  if (failed) throw failed.reason;
  return Object.fromEntries(names.map((name, i) => [name, (settled[i] as PromiseFulfilledResult<unknown>).value])) as never;
}
