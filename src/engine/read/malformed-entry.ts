/**
 * A manifest is as untrusted as its archive, even when its digest holds (whoever edits it can
 * compute the digest again): the fields of an entry are checked before they are used, by restore,
 * the restore() plugin, the plan of blocks to read, verify --source, ls, stats and the extension
 * estimate, each of which names or leaves out a malformed entry rather than fail on it.
 */
import type { ManifestEntry } from '../../format/manifest.js';
import { isCount } from '../../format/manifest-shape.js';

/** The first field of `entry` that is not what gulp-backup writes, or undefined when all are. */
export function malformedEntry(entry: ManifestEntry): string | undefined {
  if (typeof entry.path !== 'string') return 'path';
  if (!['file', 'directory', 'symlink', 'hardlink'].includes(entry.type)) return 'type';
  if (!isCount(entry.size)) return 'size';
  if (!isCount(entry.mode) || entry.mode > 0o7777) return 'mode';
  if (typeof entry.mtimeNs !== 'string' || !/^-?\d{1,30}$/.test(entry.mtimeNs)) return 'mtimeNs';
  if (entry.type === 'file' && !isCount(entry.dataOffset)) return 'dataOffset';
  if ((entry.type === 'symlink' || entry.type === 'hardlink') && typeof entry.linkTarget !== 'string') return 'linkTarget';
  return undefined;
}
