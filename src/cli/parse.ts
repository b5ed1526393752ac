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
