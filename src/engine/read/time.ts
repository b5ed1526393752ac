/** Nanosecond times (as stat gives them with `bigint: true`) for APIs that take milliseconds or seconds. */

/** Milliseconds with the sub-millisecond part as a fraction, without losing the integer part. */
export function nanosecondsToMilliseconds(ns: bigint): number {
  return Number(ns / 1_000_000n) + Number(ns % 1_000_000n) / 1e6;
}

/**
 * Seconds to hand `utimes` for a nanosecond time, as the numeric string Node documents for it.
 * A string, because Node replaces a negative number with the current time (pre-1970 times would
 * be lost). The microsecond at or before the time, never after: rounding to the nearest moved a
 * time in the last half microsecond of a second into the next second (a restored file newer than
 * its original, to `make` and rsync). Plus a quarter of a microsecond away from zero, because libuv
 * truncates the double it gets to microseconds (towards zero), which would otherwise lose up to
 * 2 µs. Node has no nanosecond API; GNU tar sets times exactly (docs/DESIGN-DECISIONS.md).
 */
export function secondsForUtimes(ns: bigint): string {
  const negative = ns < 0n;
  // Floor to the microsecond: towards zero for later times, away from it for earlier ones.
  const us = negative ? (-ns + 999n) / 1000n : ns / 1000n;
  const fraction = (us % 1_000_000n).toString().padStart(6, '0');
  return `${negative ? '-' : ''}${us / 1_000_000n}.${fraction}25`;
}
