// How every logging helper fails: by throwing the typed error, or through `onError`.
import { StoryTaskError } from "../repository/errors.ts";

/** Called instead of throwing, so that a CLI job keeps running when logging fails. */
export type LoggingErrorHandler = (error: StoryTaskError, action: string) => void;

export interface LoggingOptions {
  onError?: LoggingErrorHandler | undefined;
}

/** With an onError handler a helper resolves to undefined on failure; without one it throws. */
export type Logged<T, Options> = Options extends { onError: LoggingErrorHandler } ? T | undefined : T;

/** Runs a logging action: a failure throws, or goes to `onError` when there is one. */
export async function guarded<T, Options extends LoggingOptions>(action: string, options: Options | undefined, run: () => Promise<T>): Promise<Logged<T, Options>> {
  try {
    return await run();
  } catch (caught) {
    const error = asLoggingError(action, caught);
    if (!options?.onError) throw error;
    options.onError(error, action);
    return undefined as Logged<T, Options>;
  }
}

/** What a logging action hands on when it fails: the repository's typed error, or one wrapping anything else. */
export function asLoggingError(action: string, caught: unknown): StoryTaskError {
  return caught instanceof StoryTaskError ? caught : new StoryTaskError(`${action} failed: ${String(caught)}`, { cause: caught });
}
