/** Nanosecond times (as stat gives them with `bigint: true`) for APIs that take milliseconds or seconds. */

/** Milliseconds with the sub-millisecond part as a fraction, without losing the integer part. */
export function nanosecondsToMilliseconds(ns: bigint): number {
  return Number(ns / 1_000_000n) + Number(ns % 1_000_000n) / 1e6;
}

/**
 * Seconds to hand `utimes` for a nanosecond time, as the numeric string Node documents for it.
 * A string, because Node replaces a negative number with the current time (pre-1970 times would
 * be lost); the nearest microsecond plus a quarter of one, because libuv truncates the double it
 * gets to microseconds (towards zero), which would otherwise lose up to 2 µs. Node has no
 * nanosecond API; GNU tar sets times exactly (docs/DESIGN-DECISIONS.md).
 */
export function secondsForUtimes(ns: bigint): string {
  const negative = ns < 0n;
  const magnitude = negative ? -ns : ns;
  const us = (magnitude + 500n) / 1000n;
  const fraction = (us % 1_000_000n).toString().padStart(6, '0');
  return `${negative ? '-' : ''}${us / 1_000_000n}.${fraction}25`;
}
