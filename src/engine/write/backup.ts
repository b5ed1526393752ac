/**
 * `createBackup`: scan the sources, write the archive (blocks compressed in parallel), then the checksum
 * file and the manifest. Nothing that looks complete is left behind unless all of it succeeded.
 */
import { BackupError } from '../../errors.js';
import { codecNamed, usableCodec } from '../../format/codecs/codecs.js';
import type { BackupKind, SkippedEntry } from '../../format/manifest.js';
import { planBackup } from '../chain/backup-plan.js';
import { storeBackup } from './store-backup.js';
import { resolveBackupOptions, selectionOf, type BackupOptions, type ResolvedBackupOptions } from '../options.js';
import { plural } from '../plural.js';
import { isS3Location, resolveFrom } from '../../store/location.js';
import type { OutputPaths } from './output-files.js';
import { ProgressTracker } from '../progress.js';
import { scanSources, type ScanResult } from './scan.js';
import type { BackupStatistics, FileChanges } from './statistics.js';
import { throwIfAborted } from './write-archive.js';

export interface BackupResult {
  /** The backup's identifier, as in its manifest. */
  id: string;
  /** `full`, `incremental` or `differential` (what `kind: 'auto'` chose). */
  kind: BackupKind;
  /** Why this kind, and what it builds on, in words. */
  kindReason: string;
  /** Absolute locations of the files written (paths, or `s3://bucket/key`). */
  archivePath: string;
  manifestPath: string;
  checksumPath: string;
  statistics: BackupStatistics;
  /** Entries left out, with the reason (too large, vanished, not a regular file…). */
  skipped: SkippedEntry[];
  /** What the user should know that did not stop the backup (unreadable manifests skipped…). */
  warnings: string[];
  /** The backup this one builds on (incremental and differential kinds): its id and manifest. */
  parent?: { id: string; manifestPath: string };
  /** Files new, changed, deleted and unchanged since the parent (incremental and differential kinds). */
  changes?: FileChanges;
}

/**
 * Backs up files and folders into a tar archive of independently compressed blocks, with a checksum manifest.
 *
 * @example
 * const result = await createBackup({ sources: ['src', 'assets'], out: 'backups', exclude: ['*.log'] });
 * console.log(result.archivePath, result.statistics.savedPercent);
 */
export async function createBackup(options: BackupOptions): Promise<BackupResult> {
  const resolved = resolveBackupOptions(options);
  usableCodec(codecNamed(resolved.codec, 'codec')); // before anything is read or written
  const startedAt = new Date();
  const start = performance.now();
  const progress = new ProgressTracker(resolved.onProgress);
  progress.enter('scan');
  throwIfAborted(resolved.signal);
  const selection = selectionOf(resolved);
  const plan = await planBackup(resolved, { root: resolved.cwd, selection }, resolved.out, startedAt);
  const scan = await scanSources({ ...resolved, leaveOut: isS3Location(resolved.out) ? [] : [resolved.out] });
  if (!resolved.allowEmpty) refuseEmptySelection(scan, resolved);
  const scanMs = performance.now() - start;
  progress.filesTotal = scan.entries.length;
  progress.bytesTotal = scan.entries.reduce((sum, entry) => sum + entry.size, 0);
  throwIfAborted(resolved.signal);

  const made = await storeBackup(
    {
      entries: scan.entries,
      options: resolved,
      plan,
      startedAt,
      start,
      root: resolved.cwd,
      selection,
      scan: { skipped: scan.skipped, leftOut: scan.leftOut, ms: scanMs },
      progress,
    },
    resolved.out,
    resolved.replace,
  );
  progress.enter('done');
  const chained = plan.parent ? { parent: { id: plan.parent.link.id, manifestPath: resolveFrom(resolved.out, plan.parent.link.manifest) }, changes: made.changes! } : {};
  return { id: made.header.id, kind: plan.kind, kindReason: plan.reason, ...resultPaths(made.paths), statistics: made.statistics, skipped: made.skipped, warnings: [...scan.warnings, ...made.warnings], ...chained };
}

function resultPaths(paths: OutputPaths) {
  return { archivePath: paths.archive, manifestPath: paths.manifest, checksumPath: paths.checksum };
}

/**
 * A selection whose rules left out every file is a mistake more often than a wish (a pattern
 * relative to the wrong folder): it is refused, naming the rules, unless `allowEmpty`.
 */
function refuseEmptySelection(scan: ScanResult, options: ResolvedBackupOptions): void {
  if (scan.entries.some((entry) => entry.type !== 'directory')) return;
  const { notIncluded, excluded, dot } = scan.leftOut;
  if (notIncluded + excluded + dot === 0) return; // an empty folder is backed up as it is
  const rules = [
    notIncluded > 0 ? `${plural(notIncluded, 'file')} matched no include pattern (${options.include.join(', ')}; relative to each source, or archive paths)` : '',
    excluded > 0 ? `${plural(excluded, 'name')} matched an exclude pattern (${options.exclude.join(', ')})` : '',
    dot > 0 ? `${plural(dot, 'dot name')} left out by dot: false` : '',
  ].filter(Boolean);
  throw new BackupError(
    'NOTHING_SELECTED',
    `Nothing to back up in ${options.sources.join(', ')}: ${rules.join('; ')}. Check the patterns, or pass allowEmpty: true (--allow-empty) for a backup that may be empty.`,
    { path: options.cwd },
  );
}
