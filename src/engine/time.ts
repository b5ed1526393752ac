/** Nanosecond times (as stat gives them with `bigint: true`) for APIs that take milliseconds. */

/** Milliseconds with the sub-millisecond part as a fraction, without losing the integer part. */
export function nanosecondsToMilliseconds(ns: bigint): number {
  return Number(ns / 1_000_000n) + Number(ns % 1_000_000n) / 1e6;
}
