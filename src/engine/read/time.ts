/** Nanosecond times (as stat gives them with `bigint: true`) for APIs that take milliseconds or seconds. */

/** Milliseconds with the sub-millisecond part as a fraction, without losing the integer part. */
export function nanosecondsToMilliseconds(ns: bigint): number {
  return Number(ns / 1_000_000n) + Number(ns % 1_000_000n) / 1e6;
}

/**
 * Seconds to hand `utimes` for a nanosecond time, as the numeric string Node documents for it.
 * A string, because Node replaces a negative number with the current time (pre-1970 times would
 * be lost). Node has no nanosecond call, and the double it takes cannot hold every microsecond,
 * so a quarter of a microsecond is added to land inside the right one: Node 20's libuv truncates
 * to microseconds towards zero, Node 22's and later keep what the double holds.
 * - From 1970 on: the microsecond at or before the time, never after (rounding to the nearest
 *   moved a time in the last half microsecond of a second into the next one: a restored file
 *   newer than its original, to `make` and rsync).
 * - Before 1970: the nearest microsecond, a quarter further from zero (exact after Node 20's
 *   truncation; within one microsecond on later Node).
 * GNU tar sets times exactly (docs/DESIGN-DECISIONS.md).
 */
export function secondsForUtimes(ns: bigint): string {
  const negative = ns < 0n;
  const us = negative ? (-ns + 500n) / 1000n : ns / 1000n;
  const fraction = (us % 1_000_000n).toString().padStart(6, '0');
  return `${negative ? '-' : ''}${us / 1_000_000n}.${fraction}25`;
}
