/** Human-readable numbers for the CLI and the gulp log. */
import bytes from 'bytes';

export function formatBytes(count: number): string {
  return bytes.format(count, { unitSeparator: ' ', decimalPlaces: 1 }) ?? `${count} B`;
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const minutes = Math.floor(ms / 60_000);
  return `${minutes} min ${Math.round((ms - minutes * 60_000) / 1000)} s`;
}

export function formatRate(bytesPerSecond: number): string {
  return `${formatBytes(bytesPerSecond)}/s`;
}

/** The first lines of a long list and a count of the rest (--json has them all). */
export function capped(lines: string[], what = '', limit = 20): string[] {
  if (lines.length <= limit) return lines;
  return [...lines.slice(0, limit), `  … and ${lines.length - limit} more${what ? ` ${what}` : ''} (--json lists them all)`];
}
