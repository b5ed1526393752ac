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

/** The archive against its tar stream: `77.23% smaller`, or `1.54% larger` (level 0, content that does not compress). */
export function sizeAgainstTar(savedPercent: number): string {
  if (savedPercent > 0) return `${savedPercent}% smaller than`;
  if (savedPercent < 0) return `${-savedPercent}% larger than`;
  return savedPercent === 0 ? 'the same size as' : 'compared with'; // compared with: not a number (an edited manifest)
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

const C_ESCAPES: Readonly<Record<number, string>> = { 0x07: '\\a', 0x08: '\\b', 0x09: '\\t', 0x0a: '\\n', 0x0b: '\\v', 0x0c: '\\f', 0x0d: '\\r', 0x5c: '\\\\' };

/** What ls and stats say of entries that a manifest edited with its digest computed again holds malformed. */
export function malformedEntriesLine(count: number, manifestPath: string): string {
  return `${plural(count, 'entry')} of ${manifestPath} ${count === 1 ? 'is' : 'are'} malformed: restore refuses ${count === 1 ? 'it' : 'them'}.`;
}

/**
 * A name for one line of a listing, quoted as GNU tar's default (escape) style shows it: a
 * backslash, control characters and bytes that are not UTF-8 (path-bytes.ts) as C escapes (`\\`,
 * `\n`, `\377`), so that a name with a newline cannot pass for two entries. `--json` keeps names
 * exact.
 */
export function printableName(name: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are what is looked for
  if (!/[\x00-\x1f\x7f\\\udc80-\udcff]/.test(name)) return name;
  let out = '';
  for (let i = 0; i < name.length; i++) {
    const code = name.charCodeAt(i);
    const previous = i > 0 ? name.charCodeAt(i - 1) : 0;
    // A lone low surrogate is an escaped byte; one that completes a pair is part of a character.
    const escapedByte = code >= 0xdc80 && code <= 0xdcff && !(previous >= 0xd800 && previous <= 0xdbff);
    if (escapedByte) out += `\\${(code & 0xff).toString(8)}`;
    else if (code < 0x20 || code === 0x7f || code === 0x5c) out += C_ESCAPES[code] ?? `\\${code.toString(8).padStart(3, '0')}`;
    else out += name[i];
  }
  return out;
}
