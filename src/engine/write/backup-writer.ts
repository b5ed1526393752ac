/**
 * The one path from entries to a backup, behind `createBackup` (files in a folder) and the
 * `backup()` plugin (vinyl files for gulp.dest): the archive into the caller's sink, then the
 * checksum line and the manifest, each ready for the caller to put where its outputs go, in order.
 */
import { formatChecksumLine } from '../../format/checksum-file.js';
import { encodeManifestText, type ManifestHeader, type Selection, type SkippedEntry } from '../../format/manifest.js';
import type { BackupPlan } from '../chain/backup-plan.js';
import { changeDetectorFor } from '../chain/backup-plan.js';
import type { ArchiveSink } from './block-writer.js';
import { buildHeader } from './manifest-header.js';
import type { ResolvedArchiveOptions } from '../options.js';
import type { ProgressTracker } from '../progress.js';
import type { ArchiveEntry, ScanResult } from './scan.js';
import { buildFooter, computeStatistics, type BackupStatistics, type FileChanges } from './statistics.js';
import { writeArchive } from './write-archive.js';

export interface BackupToWrite {
  /** In archive order; consumed (each entry is released as it is written). */
  entries: (ArchiveEntry | undefined)[];
  sink: ArchiveSink;
  options: ResolvedArchiveOptions;
  plan: BackupPlan;
  archiveName: string;
  /** When the run began (before any file was read): the manifest's createdAt. */
  startedAt: Date;
  /** `performance.now()` when the run began, for the timings. */
  start: number;
  /** The folder archive paths are relative to. */
  root: string;
  /** How the engine chose the files; undefined for a gulp pipeline. */
  selection?: Selection;
  /** The engine's own scan: what it skipped and left out, and how long it took. */
  scan?: { skipped: ScanResult['skipped']; leftOut: ScanResult['leftOut']; ms: number };
  progress: ProgressTracker;
  /** Called once the archive's last byte is in the sink, before anything else is built (to seal the archive first). */
  archiveWritten(): Promise<void>;
}

export interface WrittenBackup {
  header: ManifestHeader;
  statistics: BackupStatistics;
  /** Entries left out, by the scan and while writing. */
  skipped: SkippedEntry[];
  /** The `.sha256` file's one line. */
  checksumLine: string;
  /** The manifest's text (header, entries, footer), in pieces of whole lines. */
  manifestText: Iterable<string | Buffer>;
  /** Files new, changed, deleted and unchanged since the parent, for a chained backup. */
  changes?: FileChanges;
}

export async function writeBackup(backup: BackupToWrite): Promise<WrittenBackup> {
  const { options, plan, progress } = backup;
  const scanMs = backup.scan?.ms ?? 0;
  progress.enter('store');
  const changes = changeDetectorFor(plan, options);
  const written = await writeArchive(backup.entries, backup.sink, options, progress, changes);
  const storeEnd = performance.now();
  progress.enter('finish');
  await backup.archiveWritten();
  const skipped = [...(backup.scan?.skipped ?? []), ...written.skipped];
  const statistics = {
    ...computeStatistics(written, skipped, {
      scanMs,
      storeMs: storeEnd - backup.start - scanMs,
      finishMs: performance.now() - storeEnd,
      totalMs: performance.now() - backup.start,
    }),
    ...(backup.scan ? { leftOut: backup.scan.leftOut } : {}),
  };
  const header = buildHeader(options, backup.archiveName, backup.startedAt, { plan, root: backup.root, ...(backup.selection ? { selection: backup.selection } : {}) });
  const footer = buildFooter(written, skipped, statistics, {
    name: backup.archiveName,
    codec: options.codec,
    level: options.level,
    blockSize: options.blockSize,
    chained: plan.parent !== undefined,
  });
  return {
    header,
    statistics,
    skipped,
    checksumLine: formatChecksumLine(written.blocks.archiveSha256, backup.archiveName),
    manifestText: encodeManifestText(header, written.records.lines(), footer),
    ...(changes ? { changes: written.tally.fileChanges()! } : {}),
  };
}
