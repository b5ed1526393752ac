/** Turning option strings into the engine's values, in one place. */

/**
 * Whole numbers become numbers; anything else is passed on as given, so that the engine's one
 * validation quotes it in its message (``got `high` ``).
 */
export function integerOrRaw(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  return /^\d+$/.test(value) ? Number(value) : (value as unknown as number);
}

/** Commander's reducer for repeatable options. */
export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** `--max-memory` of the commands that read archives: what it bounds there (create's bounds blocks in flight). */
export const READ_MEMORY_FLAG = [
  '--max-memory <size>',
  "the most memory a zstd window may take, for a .tar.zst made with zstd --long (default: '128MB', zstd's own limit; --long=31 needs '2GB')",
] as const;
