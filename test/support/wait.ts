// Waiting for a condition with a deadline, on the real clock: vi.waitFor advances faked timers,
// which would move the very clock a test is controlling.
import { setTimeout as pause } from "node:timers/promises";

/** Runs `check` until it stops throwing (every `intervalMs`), for at most `deadlineMs` of real time; then throws its last error. */
export async function waitUntil<T>(check: () => T | Promise<T>, deadlineMs = 15_000, intervalMs = 10): Promise<T> {
  const deadline = performance.now() + deadlineMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (performance.now() > deadline) throw error;
      await pause(intervalMs);
    }
  }
}

/** Waits until `condition()` holds, for at most `deadlineMs` of real time; then throws naming `what`. */
export function waitForCondition(condition: () => boolean, what: string, deadlineMs = 15_000): Promise<void> {
  return waitUntil(() => {
    if (!condition()) throw new Error(`${what}: not within ${deadlineMs} ms`);
  }, deadlineMs, 20);
}
