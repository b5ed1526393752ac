/**
 * What a backup left out when it was made (too large, unreadable, vanished, FIFOs and devices):
 * restoring or verifying it says so, so that a file missing from a restore is never a surprise.
 * What the selection left out on purpose (exclude patterns, `dot: false`) is not repeated.
 */
import type { Manifest } from '../../format/manifest.js';
import { plural } from '../plural.js';

export function skippedWhenMade(manifest: Manifest, include?: (path: string) => boolean): string | undefined {
  const skipped = manifest.footer.skipped.filter((entry) => include === undefined || include(entry.path));
  if (skipped.length === 0) return undefined;
  const first = skipped[0]!;
  return (
    `the backup left out ${plural(skipped.length, 'file')} when it was made, so ${skipped.length === 1 ? 'it is' : 'they are'} not in it: ` +
    `${JSON.stringify(first.path)} (${first.reason})${skipped.length > 1 ? ', …' : ''}; gulp-backup stats lists ${skipped.length === 1 ? 'it' : 'them'}`
  );
}
