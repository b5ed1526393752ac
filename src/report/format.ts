/** Human-readable numbers for the CLI and the gulp log. */
import bytes from 'bytes';
import { plural } from '../engine/plural.js';
import type { StoreCounters } from '../store/s3-connection.js';

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

/** What a run asked of object storage: `S3: 14 requests, 12.0 MB sent, 2 retried`. */
export function formatStoreCounters(counters: StoreCounters | undefined): string[] {
  if (!counters) return [];
  const moved = [counters.bytesWritten > 0 ? `${formatBytes(counters.bytesWritten)} sent` : '', counters.bytesRead > 0 ? `${formatBytes(counters.bytesRead)} fetched` : ''].filter(Boolean);
  return [`  S3: ${plural(counters.requests, 'request')}${moved.length > 0 ? `, ${moved.join(', ')}` : ''}${counters.retries > 0 ? `, ${counters.retries} retried` : ''}`];
}

/** The first lines of a long list and a count of the rest (--json has them all). */
export function capped(lines: string[], what = '', limit = 20): string[] {
  if (lines.length <= limit) return lines;
  return [...lines.slice(0, limit), `  … and ${lines.length - limit} more${what ? ` ${what}` : ''} (--json lists them all)`];
}
