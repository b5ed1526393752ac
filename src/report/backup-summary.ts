/** The closing summary of a backup, shared by the CLI and the gulp task. */
import { dirname } from 'node:path';
import type { BackupResult } from '../engine/write/backup.js';
import { FULL_ASKED_FOR } from '../engine/chain/backup-plan.js';
import { capped, formatBytes, formatDuration, formatRate, formatStoreCounters, printableName, sizeAgainstTar } from './format.js';
import type { BackupPreview } from '../engine/write/preview.js';
import type { BackupStatistics } from '../engine/write/statistics.js';
import { countText, plural } from '../engine/plural.js';

/** What the selection rules left out, in words (the backup's summary and `stats`); undefined when nothing. */
export function leftOutLine(left: BackupStatistics['leftOut'], outputFolder: string): string | undefined {
  if (!left || left.excluded + left.notIncluded + left.dot + (left.output ?? 0) === 0) return undefined;
  const parts = [
    left.excluded > 0 ? `${countText(left.excluded)} by exclude patterns` : '',
    left.notIncluded > 0 ? `${countText(left.notIncluded)} not matching the include patterns` : '',
    left.dot > 0 ? `${plural(left.dot, 'dot name')} (dot: false)` : '',
    (left.output ?? 0) > 0 ? `its own output folder ${printableName(outputFolder)}` : '',
  ].filter(Boolean);
  return `  left out by the selection: ${parts.join(', ')}`;
}

export function formatBackupSummary(result: BackupResult): string[] {
  const s = result.statistics;
  const changes = result.changes;
  const lines = [
    `Backup ${result.archivePath} (${result.kind})`,
    ...(result.kind === 'full'
      ? result.kindReason === FULL_ASKED_FOR
        ? []
        : [`  full: ${result.kindReason}`]
      : [
          `  ${result.kindReason}` +
            (changes
              ? `: files ${countText(changes.new)} new, ${countText(changes.changed)} changed, ${countText(changes.deleted)} deleted, ${countText(changes.unchanged)} unchanged` +
                (changes.notComparable > 0 ? `, ${countText(changes.notComparable)} stored again (the parent recorded no digest of the kinds this backup records)` : '')
              : `: ${plural(s.storedFiles, 'file')} stored, ${countText(s.unchangedFiles)} unchanged`) +
            ` (${formatBytes(s.unchangedBytes)} held by earlier backups${storedAgain(s.storedFiles, changes)}), ${formatBytes(s.bytesRead)} read` +
            (s.comparedFiles > 0 ? `; ${countText(s.comparedFiles)} compared by hash${comparedWhy(s.racyFiles)}` : ''),
        ]),
    `  ${plural(s.files, 'file')}, ${plural(s.directories, 'folder')}, ${plural(s.symlinks + s.hardlinks, 'link')}` + (s.skipped > 0 ? `, ${countText(s.skipped)} skipped` : ''),
    `  ${formatBytes(s.contentBytes)} of content → ${formatBytes(s.archiveBytes)} archive (${sizeAgainstTar(s.savedPercent)} the ${formatBytes(s.tarBytes)} tar stream) in ${formatDuration(s.timings.totalMs)}, ${formatRate(s.bytesPerSecond)}`,
    `  scan ${formatDuration(s.timings.scanMs)}, store ${formatDuration(s.timings.storeMs)}, finish ${formatDuration(s.timings.finishMs)}; ${plural(s.blocks, 'block')}` +
      (s.retries > 0 ? `; ${plural(s.retries, 'read')} retried` : ''),
    `  manifest ${result.manifestPath}`,
    ...formatStoreCounters(s.store),
  ];
  const left = leftOutLine(s.leftOut, dirname(result.archivePath));
  if (left) lines.push(left);
  // An estimate that rounds to nothing (a few bytes of content) says nothing: left out.
  const roomy = s.extensions.filter((e) => e.compressedBytes > 0);
  if (roomy.length > 0) {
    // Shares of each block, by bytes: with few blocks the ratios blur together, so they show from 8 blocks on.
    const detail = s.blocks >= 8;
    lines.push(`  most room: ${roomy.map((e) => `${e.extension} ${formatBytes(e.compressedBytes)}${detail ? ` (ratio ${e.ratio.toFixed(2)})` : ''}`).join(', ')}`);
  }
  for (const warning of result.warnings) lines.push(`  warning: ${warning}`);
  if (s.changedDuringBackup > 0) lines.push(`  warning: ${plural(s.changedDuringBackup, 'file')} changed while read (flagged in the manifest)`);
  for (const item of result.skipped.slice(0, 10)) lines.push(`  skipped ${printableName(item.path)}: ${item.reason}`);
  if (result.skipped.length > 10) lines.push(`  … and ${result.skipped.length - 10} more skipped (listed in the manifest's footer)`);
  return lines;
}

/** Unchanged files stored again all the same (their mtime moved, so they were not compared): how many. */
function storedAgain(stored: number, changes: BackupResult['changes']): string {
  const again = changes ? stored - changes.new - changes.changed - changes.notComparable : 0;
  return again > 0 ? `, ${countText(again)} stored again with the same content` : '';
}

/** Why files were compared, when some were racy (the others: their ctime or inode moved, or checksum mode). */
function comparedWhy(racy: number): string {
  return racy > 0 ? ` (${countText(racy)} as modified within 2 s before the last backup)` : '';
}

/** A dry run in words: what would be stored, held by the chain and left out (each list cut at 20; --json has them all). */
export function formatPreview(preview: BackupPreview): string[] {
  const bytes = preview.store.reduce((sum, entry) => sum + entry.size, 0);
  const files = preview.store.filter((entry) => entry.type === 'file').length;
  const held = preview.unchanged.reduce((sum, entry) => sum + entry.size, 0);
  return [
    `Dry run, nothing written: ${preview.kind === 'incremental' ? 'an' : 'a'} ${preview.kind} backup${preview.kind === 'full' && preview.kindReason === FULL_ASKED_FOR ? '' : ` (${preview.kindReason})`}`,
    `  would store ${plural(files, 'file')} (${formatBytes(bytes)}) and ${plural(preview.store.length - files, 'other entry', 'other entries')}; ` +
      `${countText(preview.unchanged.length)} unchanged (${formatBytes(held)} held by earlier backups); ${countText(preview.leftOut.length)} left out`,
    ...preview.warnings.map((warning) => `  warning: ${warning}`),
    ...capped(preview.store.map((entry) => `  store ${printableName(entry.path)}${entry.type === 'file' ? ` (${formatBytes(entry.size)})` : ` (${entry.type})`}`), 'to store'),
    ...capped(preview.unchanged.map((entry) => `  unchanged ${printableName(entry.path)} (held by ${entry.heldBy})`), 'unchanged'),
    ...capped(preview.leftOut.map((entry) => `  left out ${printableName(entry.path)}: ${entry.rule}`), 'left out'),
  ];
}
