/**
 * `createBackup`: scan the sources, write the archive (blocks compressed in parallel), then the checksum
 * file and the manifest. Nothing that looks complete is left behind unless all of it succeeded.
 */
import { AbortError, BackupError } from '../../errors.js';
import { codecNamed, usableCodec } from '../../format/codecs/codecs.js';
import type { BackupKind, SkippedEntry } from '../../format/manifest.js';
import { planBackup } from '../chain/backup-plan.js';
import { writeBackup } from './backup-writer.js';
import { resolveBackupOptions, selectionOf, type BackupOptions, type ResolvedBackupOptions } from '../options.js';
import { plural } from '../plural.js';
import { prepareOutput, replaceBackup, writeLines, type OutputPaths } from './output-files.js';
import type { StoreWriter } from '../../store/backup-store.js';
import { isS3Location, nameOf, resolveFrom } from '../../store/location.js';
import type { RunLock } from '../run-lock.js';
import type { Stores } from '../../store/stores.js';
import { readChainLink } from '../chain/backup-chain.js';
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

  const store = resolved.stores.folder(resolved.out);
  const requestsBefore = resolved.stores.counters();
  const { paths, lock, cleaned } = await prepareOutput(store, resolved.name, resolved.codec, startedAt, resolved.replace);
  if (resolved.replace) await refuseReplacingAParent(paths, plan.parent?.link.id, lock, resolved.stores);
  const warnings = [...plan.warnings, ...(cleaned.length > 0 ? [`removed what an interrupted run left in ${resolved.out}: ${cleaned.join(', ')}`] : [])];
  let archiveFile: StoreWriter;
  try {
    archiveFile = await store.create(paths.archiveName);
  } catch (error) {
    await lock.release();
    throw error;
  }
  const created: string[] = [];
  // With replace, every new file waits, whole and durable, unseen; they are swapped in together
  // at the end (replaceBackup).
  const sealed: StoreWriter[] = [];
  const finishFile = async (file: StoreWriter, path: string) => {
    if (resolved.replace) {
      await file.seal();
      sealed.push(file);
    } else {
      await file.commit();
      created.push(nameOf(path));
    }
  };
  try {
    const made = await writeBackup({
      entries: scan.entries,
      sink: archiveFile,
      options: resolved,
      plan,
      archiveName: paths.archiveName,
      startedAt,
      start,
      root: resolved.cwd,
      selection,
      scan: { skipped: scan.skipped, leftOut: scan.leftOut, ms: scanMs },
      progress,
      archiveWritten: async () => {
        throwIfAborted(resolved.signal);
        await finishFile(archiveFile, paths.archive);
      },
    });
    await finishFile(await writeLines(store, nameOf(paths.checksum), [made.checksumLine]), paths.checksum);
    throwIfAborted(resolved.signal);
    await finishFile(await writeLines(store, nameOf(paths.manifest), made.manifestLines), paths.manifest);
    if (resolved.replace) await replaceBackup(paths, sealed);
    await lock.release(); // after the manifest: a run killed before this point is a dead run's
    progress.enter('done');
    const chained = plan.parent ? { parent: { id: plan.parent.link.id, manifestPath: resolveFrom(resolved.out, plan.parent.link.manifest) }, changes: made.changes! } : {};
    const statistics = store.remote ? { ...made.statistics, store: resolved.stores.since(requestsBefore) } : made.statistics;
    return { id: made.header.id, kind: plan.kind, kindReason: plan.reason, ...resultPaths(paths), statistics, skipped: made.skipped, warnings, ...chained };
  } catch (error) {
    await archiveFile.discard();
    await Promise.all(sealed.map((file) => file.discard()));
    await Promise.all(created.map((name) => store.remove(name).catch(() => {})));
    await lock.release();
    throw resolved.signal?.aborted && !(error instanceof AbortError) ? new AbortError(resolved.signal.reason) : error;
  }
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
    notIncluded > 0 ? `${plural(notIncluded, 'file')} matched no include pattern (${options.include.join(', ')}; relative to each source)` : '',
    excluded > 0 ? `${plural(excluded, 'name')} matched an exclude pattern (${options.exclude.join(', ')})` : '',
    dot > 0 ? `${plural(dot, 'dot name')} left out by dot: false` : '',
  ].filter(Boolean);
  throw new BackupError(
    'NOTHING_SELECTED',
    `Nothing to back up in ${options.sources.join(', ')}: ${rules.join('; ')}. Check the patterns, or pass allowEmpty: true (--allow-empty) for a backup that may be empty.`,
    { path: options.cwd },
  );
}

/**
 * A backup that others build on is never replaced: their parent link names its manifest's
 * SHA-256, and a new one would break their chains.
 */
async function refuseReplacingAParent(paths: OutputPaths, parentId: string | undefined, lock: RunLock, stores: Stores): Promise<void> {
  const old = await readChainLink(paths.manifest, stores).catch(() => undefined);
  if (!old) return; // nothing (readable) to replace
  const children: string[] = [];
  if (parentId === old.header.id) children.push('the backup being made now');
  for (const name of await paths.store.list()) {
    if (!name.endsWith('.manifest.jsonl') || paths.store.locationOf(name) === paths.manifest) continue;
    const link = await readChainLink(paths.store.locationOf(name), stores).catch(() => undefined);
    if (link?.header.parent?.id === old.header.id) children.push(name);
  }
  if (children.length === 0) return;
  await lock.release();
  throw new BackupError(
    'OUTPUT_EXISTS',
    `${nameOf(paths.manifest)} is not replaced: ${children.join(', ')} ${children.length === 1 ? 'builds' : 'build'} on it, and replacing it would break ${children.length === 1 ? 'that chain' : 'those chains'}. Choose another --name, or make a full backup (replace works on a full backup that nothing builds on).`,
    { path: paths.manifest },
  );
}
