/** A verify or restore report through gulp's logger, and the message of the error a failed one ends with. */
import { heard, log } from './logger.js';

/**
 * Logs `lines` (as warnings when the report failed) and returns what the error should say: under
 * gulp, which prints the log, the first line, since the rest was just printed (a list of 20,000
 * damaged files twice is too much); in a script's own pipeline, where no one listens to gulp's
 * log, every line, since the error is then all the user sees.
 */
export function logReport(lines: readonly string[], ok: boolean): string {
  const level = ok ? 'info' : 'warn';
  for (const line of lines) log[level](line);
  return heard(level) && lines.length > 1 ? `${lines[0]} (the details are in the log above)` : lines.join('\n');
}
