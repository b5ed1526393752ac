/**
 * An incremental or differential made from a gulp stream counts every file of the backup it
 * builds on that did not come through the stream as deleted: a restore of it will not have them.
 * `gulp.src(glob, { since: gulp.lastRun(task) })`, gulp's way to take only changed files, makes
 * exactly that: the backup would list the changed files alone. When most of the parent's files
 * are gone, the summary warns and says why it may be so.
 */
import type { FileChanges } from '../engine/write/statistics.js';
import { plural } from '../engine/plural.js';

export function partialStreamWarning(changes: FileChanges | undefined): string | undefined {
  if (!changes || changes.deleted === 0) return undefined;
  const parentFiles = changes.deleted + changes.changed + changes.unchanged + changes.notComparable;
  if (changes.deleted * 2 < parentFiles) return undefined;
  return (
    `${changes.deleted} of the ${plural(parentFiles, 'file')} of the backup this one builds on did not come through the stream and count as deleted: ` +
    'a restore of this backup will not have them. If gulp.src was given since (gulp.lastRun), drop it: an incremental backup finds what changed itself, and needs every file.'
  );
}
