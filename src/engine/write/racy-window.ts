/**
 * Torn reads. A file rewritten while it is read gets a new mtime, so comparing the stat before and
 * after the read finds the writer — unless both writes fall in the same tick of the file system's
 * clock (the kernel stamps with a coarse clock: 4–10 ms on Linux; FAT keeps 2 s, left aside). As
 * git does with racy index entries, a file whose mtime is that close to the moment its read starts
 * is not read until the clock has moved on: then any write during the read shows as a new mtime.
 * Only freshly written files wait, and the wait is shared: at most `RACY_WINDOW_MS` in a whole run.
 */

/** Well above any coarse clock tick of a local file system. */
export const RACY_WINDOW_MS = 100;

/**
 * An mtime up to this far ahead of `Date.now()` is taken as "now": Date.now() is whole
 * milliseconds, the mtime is not, so a file written in this very millisecond looks a little in
 * the future (that was read at once, unflagged, and a write during the read could go unseen).
 */
const CLOCK_GRAIN_MS = 5;

/** How long to wait before reading a file modified at `mtimeMs`, so that a write during the read cannot keep that mtime. */
export function racyWaitMs(mtimeMs: number, nowMs = Date.now()): number {
  const age = nowMs - mtimeMs;
  // A mtime well in the future (clock skew, touch -d) cannot be waited out: compared as it is.
  return age > -CLOCK_GRAIN_MS && age < RACY_WINDOW_MS ? RACY_WINDOW_MS - age : 0;
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/** The synchronous wait, for the small-file path that reads with readSync (compression runs in workers meanwhile). */
export function waitOutRacyWindowSync(mtimeMs: number): void {
  const wait = racyWaitMs(mtimeMs);
  if (wait > 0) Atomics.wait(sleeper, 0, 0, wait);
}

export async function waitOutRacyWindow(mtimeMs: number): Promise<void> {
  const wait = racyWaitMs(mtimeMs);
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
}
