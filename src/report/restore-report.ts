/** A restore result in words, as the CLI prints it and gulp logs it. */
import type { RestoreResult } from '../engine/read/restore.js';
import type { RestorePreview } from '../engine/read/restore-preview.js';
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

/** A restore's dry run in words: what it would write, replace and delete. */
export function formatRestorePreview(preview: RestorePreview): string[] {
  const count = (type: string) => preview.restore.filter((entry) => entry.type === type).length;
  const bytes = preview.restore.reduce((sum, entry) => sum + entry.size, 0);
  const links = count('symlink') + count('hardlink');
  return [
    `Dry run, nothing written: would restore into ${preview.target}: ${plural(count('file'), 'file')} (${formatBytes(bytes)}), ${plural(count('directory'), 'folder')}, ${plural(links, 'link')}`,
    ...(preview.replace.length > 0 ? [`  would replace ${plural(preview.replace.length, 'entry')} that exist${preview.replace.length === 1 ? 's' : ''} in the target (--overwrite)`] : []),
    ...capped(preview.delete.map((path) => `  would delete ${printableName(path)}: not in the backup`), 'to delete'),
    ...preview.warnings.map((warning) => `  warning: ${warning}`),
    ...capped(preview.skipped.map((skipped) => `  would skip ${printableName(skipped.path)}: ${skipped.reason}`), 'to skip'),
  ];
}
