/** A restore result in words, as the CLI prints it and gulp logs it. */
import type { RestoreResult } from '../engine/read/restore.js';
import { plural } from '../engine/plural.js';
import { capped, formatBytes, formatDuration, formatStoreCounters, printableName } from './format.js';

export function formatRestoreResult(result: RestoreResult, quiet: boolean): string[] {
  const lines: string[] = [];
  const r = result.restored;
  if (!quiet || !result.ok) {
    lines.push(
      `${result.ok ? 'Restored' : 'Restored with problems'} into ${result.target}: ${plural(r.files, 'file')} (${formatBytes(r.bytes)}${r.holeBytes > 0 ? `, ${formatBytes(r.holeBytes)} of it left as holes` : ''}), ` +
        `${plural(r.directories, 'folder')}, ${plural(r.symlinks + r.hardlinks, 'link')} in ${formatDuration(result.elapsedMs)}` +
        (result.blocksTotal > 0 ? `; read ${result.blocksRead} of ${plural(result.blocksTotal, 'block')}` : '') +
        (result.deleted.length > 0 ? `; deleted ${plural(result.deleted.length, 'entry')} not in the backup` : ''),
    );
    lines.push(...formatStoreCounters(result.store));
    if (!result.hashesChecked) lines.push('  sizes were checked against the tar headers; an archive without a gulp-backup manifest holds no file hashes to check');
  }
  for (const warning of result.warnings) lines.push(`  warning: ${warning}`);
  lines.push(...capped(result.failures.map((failure) => `  ${failure.deleting ? 'not deleted' : 'not restored'} ${printableName(failure.path)}: ${failure.reason}`), 'not restored'));
  if (!quiet) lines.push(...capped(result.deleted.map((path) => `  deleted ${printableName(path)}: not in the backup`), 'deleted'));
  lines.push(...capped(result.skipped.map((skipped) => `  skipped ${printableName(skipped.path)}: ${skipped.reason}`), 'skipped'));
  return lines;
}
