/** Nanosecond times (as stat gives them with `bigint: true`) for APIs that take milliseconds. */

/** Milliseconds with the sub-millisecond part as a fraction, without losing the integer part. */
export function nanosecondsToMilliseconds(ns: bigint): number {
  return Number(ns / 1_000_000n) + Number(ns % 1_000_000n) / 1e6;
}

/**
 * Milliseconds to hand `utimes` for a nanosecond time, so that the time set is the nearest
 * microsecond: Node passes seconds as a double and libuv truncates them to microseconds, which
 * would otherwise lose up to 2 µs. (Node has no nanosecond API; GNU tar sets times exactly.)
 */
export function millisecondsForUtimes(ns: bigint): number {
  const us = ns >= 0n ? (ns + 500n) / 1000n : (ns - 500n) / 1000n;
  return Number(us) / 1000 + 0.00025;
}
