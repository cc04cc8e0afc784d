// The CLI's option values: read and checked before anything connects, each refusal a UsageError
// naming the option and its rule.
import { UsageError } from "./failures.ts";

const durationUnits = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
// Ten years: any longer and the cut-off date or PostgreSQL's interval would overflow.
const longestDurationDays = 3650;

/** `90s`, `15m`, `2h`, `30d`: a positive whole number and a unit (ms, s, m, h, d), in milliseconds. */
export function parseDuration(option: string, value: string): number {
  const [, amount, unit] = /^([1-9][0-9]*)(ms|s|m|h|d)$/.exec(value) ?? [];
  const milliseconds = amount && unit ? Number(amount) * durationUnits[unit as keyof typeof durationUnits] : Number.NaN;
  if (!(milliseconds <= longestDurationDays * durationUnits.d)) {
    throw new UsageError(
      `--${option} must be a positive whole number with a unit (ms, s, m, h or d), e.g. 90s, 15m, 2h or 30d, of at most ${longestDurationDays}d; got ${JSON.stringify(value)}`,
    );
  }
  return milliseconds;
}

/** A whole number from `min` to `max` (digits only: no sign, fraction, exponent or NaN). */
export function parseWholeNumber(option: string, value: string, min: number, max: number): number {
  const number = /^[0-9]+$/.test(value) ? Number(value) : Number.NaN;
  if (!(number >= min && number <= max)) throw new UsageError(`--${option} must be a whole number from ${min} to ${max}; got ${JSON.stringify(value)}`);
  return number;
}

/** A positive whole number; its upper bound, where there is one, is the repository's to check. */
export function parseCount(option: string, value: string): number {
  const number = /^[0-9]+$/.test(value) ? Number(value) : Number.NaN;
  if (!(number >= 1 && Number.isSafeInteger(number))) throw new UsageError(`--${option} must be a positive whole number; got ${JSON.stringify(value)}`);
  return number;
}
