/** `gulp-backup stats <manifest>`: the summary of an existing backup, with the extensions that take the space. */
import type { Command } from 'commander';
import { extensionStatistics } from '../engine/write/extension-statistics.js';
import { BackupError } from '../errors.js';
import type { CliContext } from './context.js';
import { EXIT_DAMAGE, EXIT_OK } from './exit-codes.js';
import { malformedEntry } from '../engine/read/malformed-entry.js';
import { capped, formatBytes, formatDuration, malformedEntriesLine, printableName, sizeAgainstTar } from '../report/format.js';
import { countText, plural } from '../engine/plural.js';
import { storesFor } from '../store/stores.js';
import { s3SettingsFrom, type S3Flags } from './s3-flags.js';
import { parentLocation } from '../store/location.js';
import { leftOutLine } from '../report/backup-summary.js';

export function registerStats(program: Command, context: CliContext): void {
  program
    .command('stats')
    .description("print a backup's statistics: totals, compression, timings, the extensions that take the most space")
    .argument('<path>', 'NAME.manifest.jsonl, its archive, or a folder (its newest backup)')
    .option('--json', 'print them as JSON')
    .action(async (path: string, flags: { json?: boolean } & S3Flags) => {
      const { BackupReader } = await import('../engine/read/backup-reader.js');
      const { manifest, manifestPath } = await BackupReader.open(path, storesFor(s3SettingsFrom(flags)));
      if (!manifest) throw new BackupError('MANIFEST_INVALID', `${path} has no manifest beside it; statistics come from NAME.manifest.jsonl.`, { path });
      const { header, footer } = manifest;
      const extensions = extensionStatistics(manifest);
      const leftOut = leftOutLine(footer.leftOut, parentLocation(manifestPath ?? path));
      if (flags.json) {
        context.stdout.write(`${JSON.stringify({ id: header.id, kind: header.kind, createdAt: header.createdAt, manifestPath, totals: footer.totals, compression: footer.compression, timings: footer.timings, skipped: footer.skipped.length, skippedFiles: footer.skipped, ...(footer.leftOut ? { leftOut: footer.leftOut } : {}), extensions })}\n`);
      } else {
        const t = footer.totals;
        const lines = [
          `${header.kind} backup ${header.id} of ${header.createdAt}: ${manifestPath}`,
          `  ${plural(t.files, 'file')}, ${plural(t.directories, 'folder')}, ${plural(t.symlinks + t.hardlinks, 'link')}, ${countText(t.skipped)} skipped`,
          ...(t.unchangedFiles === undefined
            ? []
            : [`  ${plural(t.files - t.unchangedFiles, 'file')} stored, ${countText(t.unchangedFiles)} unchanged (${formatBytes(t.unchangedBytes ?? 0)} held by earlier backups of its chain)`]),
          // Saved against the tar stream (headers and padding included), as the backup's own summary says it: a tree of tiny files can have an archive larger than its content.
          `  ${formatBytes(t.contentBytes)} of content → ${formatBytes(t.archiveBytes)} archive (${sizeAgainstTar(footer.compression.savedPercent)} the ${formatBytes(t.tarBytes)} tar stream; ${footer.compression.codec} level ${footer.compression.level}, ${plural(footer.blocks.count, 'block')})`,
          `  took ${formatDuration(footer.timings.totalMs)}: scan ${formatDuration(footer.timings.scanMs)}, store ${formatDuration(footer.timings.storeMs)}, finish ${formatDuration(footer.timings.finishMs)}`,
          ...(leftOut ? [leftOut] : []),
          // What the backup skipped (too large, unreadable, vanished, special files): not in it, and restore says so.
          ...capped(footer.skipped.map((item) => `  skipped ${printableName(item.path)}: ${item.reason}`), 'skipped'),
          // No table for a backup that stored no file (an incremental with nothing new).
          ...(extensions.length > 0 ? ['  extension       files         size   in archive  ratio'] : []),
          ...extensions.map(
            (e) => `  ${e.extension.padEnd(12)} ${String(e.files).padStart(8)} ${formatBytes(e.bytes).padStart(12)} ${formatBytes(e.compressedBytes).padStart(12)}  ${e.ratio.toFixed(3)}`,
          ),
        ];
        context.stdout.write(`${lines.join('\n')}\n`);
      }
      // A manifest edited with its digest computed again: its malformed entries are left out above, and said.
      const malformed = manifest.entries.filter((entry) => malformedEntry(entry) !== undefined).length;
      if (malformed > 0) context.stderr.write(`gulp-backup: ${malformedEntriesLine(malformed, manifestPath ?? path)}\n`);
      context.exitCode = malformed > 0 ? EXIT_DAMAGE : EXIT_OK;
    });
}
