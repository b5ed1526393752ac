/**
 * `restoreBackup`: writes a backup's entries into a folder, safely (docs/DESIGN-DECISIONS.md).
 *
 * With a manifest, it selects the entries (patterns), inflates only the blocks their content spans,
 * in parallel, and proves each file's size and SHA-256 before renaming it into place. Without one
 * (a plain .tar.gz, GNU tar's too), it extracts sequentially under the same path rules.
 * A file that cannot be restored (damaged block, refused path) is reported; the others still are.
 */
import { lstatSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { includeMatcher } from './include-matcher.js';
import { deleteExtra, keptFoldersWarning } from './delete-extra.js';
import { nestedInItself, strippedPath } from './restore-paths.js';
import { decompressedCopyWarning } from './decompressed-copy.js';
import { recompressedCopyWarning } from './recompressed-copy.js';
import { convertedLineEndingsWarning } from '../../format/manifest-line-endings.js';
import { skippedWhenMade } from './skipped-when-made.js';
import { expectedDigest } from './expected-digest.js';
import { AbortError, BackupError, OptionError, restoreFailureReason } from '../../errors.js';
import type { Manifest, ManifestEntry } from '../../format/manifest.js';
import { TarFormatError } from '../../format/tar-entry-stream.js';
import { GzipFormatError } from '../../format/gzip-members.js';
import { MULTIVOLUME_CONTINUATION, isDecompressionError } from './archive-format.js';
import { sparseContent } from './sparse.js';
import { BackupReader } from './backup-reader.js';
import { brokenChainWarning } from './backup-content.js';
import { StreamHasher } from '../write/stream-hasher.js';
import { OutsideLinkRefusal, RESTORE_LOCK, RestoreRefusal, RestoreWriter } from './restore-writer.js';
import { plural } from '../plural.js';
import { BlockCodecPool, defaultInflateWorkers } from '../block-codec-pool.js';
import { fsPath } from '../../format/path-bytes.js';
import { DEFAULT_MAX_DEPTH, safeEntryPath, symlinkTargetRefusal } from './safe-paths.js';
import { malformedEntry } from './malformed-entry.js';
import { secondsForUtimes } from './time.js';
import { optionKeys, rejectUnknownKeys } from '../option-keys.js';
import { BACKUP_PATH, pathArgument, stringList, windowMemory } from '../options.js';
import { ProgressTracker, type BackupProgress } from '../progress.js';
import { isS3Location, localFolderOf } from '../../store/location.js';
import type { StoreCounters } from '../../store/s3-connection.js';
import type { S3Settings } from '../../store/s3-settings.js';
import { storesFor, type Stores } from '../../store/stores.js';

export interface RestoreOptions {
  /** Folder to restore into; created when missing. */
  to: string;
  /**
   * Restore only entries that match one of these globs (their folders come too): matched against
   * the archive path (`src/app.js`) and against the path relative to the source it was backed up
   * from (`app.js`, as `include` meant when the backup was made). A pattern without `/` matches a
   * name at any depth (`*.js`); a trailing `/` is dropped (`src/` is the folder `src`).
   */
  include?: string | string[];
  /** A selection that matches nothing restores nothing instead of failing (gulp.src's `allowEmpty`). Default false. */
  allowEmpty?: boolean;
  /** Replace files that exist. Default false: existing files are reported, nothing is replaced. */
  overwrite?: boolean;
  /**
   * Once every entry is restored, delete from the target what the backup would have stored there
   * and does not hold (restic's `restore --delete`): a rollback of `dist/` leaves no file of a
   * later build. Only within the backup's own scope: its sources, scanned with the selection it
   * recorded, so files it excluded and anything outside its sources stay; with `include`, only
   * what matches. Folders go only once empty. Nothing is deleted when any entry failed. Needs
   * `overwrite` (together they make the target the backup) and a manifest that records its
   * sources (not an archive alone, nor a `backup()` plugin's backup). `verify --source TARGET`
   * lists beforehand, as "new", what it would delete. Default false.
   */
  delete?: boolean;
  /**
   * Leave runs of zeros in files over 1 MiB unwritten, as holes (whole 4 KiB pages of the file):
   * a sparse file (a VM image, a database) takes its own room on disk again instead of its full
   * size, and reads back the same. Default false: every byte is written, as `tar -x` writes a file
   * that was not archived with `--sparse` (`restic restore --sparse` and `borg extract --sparse`
   * are opt-in too). Holes that an archive records (GNU tar `--sparse`) are always kept.
   */
  sparse?: boolean;
  /**
   * Make symlinks that lead outside the restore folder (absolute targets such as
   * `/etc/alternatives/awk`, or climbing out with `..`) as they are, as GNU tar, bsdtar, restic and
   * borg do: for a backup you trust. Nothing is written through them, as nothing is written beneath
   * any symlink. Default false: every archive is treated as hostile, and such links are refused and
   * listed.
   */
  allowOutsideLinks?: boolean;
  /**
   * Leave out this many leading folders of every path, as `tar --strip-components` does: a backup
   * of `/var/www/site` (stored as `var/www/site/…`) restores into `to: '/srv/site'` with 3.
   * An entry whose path has no more parts than that is not restored (a file so is listed as
   * skipped); hard-link targets are stripped too, symlink targets kept as they are. `include`
   * patterns match the stored paths. Not with `delete`. Default 0.
   */
  stripComponents?: number;
  /** Inflate workers. Default: the number of cores. */
  concurrency?: number;
  /**
   * The most memory a zstd frame's window may take, for a `.tar.zst` made with `zstd --long`
   * (bytes, or a string such as `'2GB'`). Default `'128MB'`, zstd's own limit.
   */
  maxMemory?: number | string;
  /** Deepest entry path accepted. Default 256. */
  maxDepth?: number;
  signal?: AbortSignal;
  /** Called with progress events: entries and file bytes restored (phase `restore`, then `done`). */
  onProgress?: (progress: BackupProgress) => void;
  /** How to reach S3 when the backup is at `s3://bucket/prefix`. */
  s3?: S3Settings;
}

export interface RestoreFailure {
  path: string;
  reason: string;
  /** Set on what `delete` could not remove (restored entries have none). */
  deleting?: true;
}

export interface RestoreResult {
  /** False when some entry could not be restored (see `failures`). */
  ok: boolean;
  target: string;
  /** Whether sizes and SHA-256 were proven against a manifest. */
  hashesChecked: boolean;
  /** `holeBytes`: of `bytes`, the zeros left unwritten as holes (see `sparse`). */
  restored: { files: number; directories: number; symlinks: number; hardlinks: number; bytes: number; holeBytes: number };
  /** Entries left out on purpose (devices, FIFOs and other special entries). */
  skipped: RestoreFailure[];
  /** What the user should know although every file was restored (a broken chain bridged by id…). */
  warnings: string[];
  failures: RestoreFailure[];
  /** With `delete`: what was removed from the target, folders before their contents. */
  deleted: string[];
  /** Blocks inflated, and in the archive: a restore of one file reads a few blocks of many. */
  blocksRead: number;
  blocksTotal: number;
  /** Requests to object storage when the backup is in a bucket: bytes fetched (a one-file restore fetches a few blocks), retries. */
  store?: StoreCounters;
  elapsedMs: number;
}

const RESTORE_OPTION_KEYS = optionKeys<RestoreOptions>()('to', 'include', 'allowEmpty', 'overwrite', 'delete', 'sparse', 'allowOutsideLinks', 'stripComponents', 'concurrency', 'maxMemory', 'maxDepth', 'signal', 'onProgress', 's3');

/**
 * Checks restore options without doing anything (tasks call it when the gulpfile loads); returns
 * them with `include` as an array. `api` names the caller in the message about an unknown key.
 */
export function validateRestoreOptions(options: RestoreOptions, api = 'restoreBackup()'): ValidRestoreOptions {
  if (options === null || typeof options !== 'object') throw new OptionError('options', options, 'an object with at least `to`');
  if ('dryRun' in options) throw new OptionError('dryRun', (options as { dryRun: unknown }).dryRun, `${api} always writes; a dry run is previewRestore(path, options), which writes nothing`, true);
  rejectUnknownKeys(api, options, RESTORE_OPTION_KEYS);
  if (typeof options.to !== 'string' || options.to === '') throw new OptionError('to', options.to, 'the path of the folder to restore into');
  const concurrency = options.concurrency ?? defaultInflateWorkers();
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 1024) {
    throw new OptionError('concurrency', concurrency, 'an integer from 1 to 1024');
  }
  if (options.maxDepth !== undefined && (!Number.isInteger(options.maxDepth) || options.maxDepth < 1)) {
    throw new OptionError('maxDepth', options.maxDepth, 'an integer from 1 and up');
  }
  for (const key of ['overwrite', 'delete', 'allowEmpty', 'sparse', 'allowOutsideLinks'] as const) {
    if (options[key] !== undefined && typeof options[key] !== 'boolean') throw new OptionError(key, options[key], 'true or false');
  }
  if (options.stripComponents !== undefined && (!Number.isInteger(options.stripComponents) || options.stripComponents < 0 || options.stripComponents > 1024)) {
    throw new OptionError('stripComponents', options.stripComponents, 'a number of leading folders from 0 to 1024');
  }
  if (options.delete && options.stripComponents) {
    throw new BackupError(
      'INVALID_OPTION',
      "--delete (delete: true) cannot be combined with --strip-components (stripComponents): what the backup covered is known by its stored paths. Restore without --delete, or into the folder where the stored paths lead.",
    );
  }
  if (options.delete && !options.overwrite) {
    throw new BackupError(
      'INVALID_OPTION',
      '--delete (delete: true) makes the target the backup, deleting what it does not hold: pass --overwrite (overwrite: true) with it, so that the files the target has are replaced too.',
    );
  }
  const { include, s3, ...rest } = options;
  const maxMemory = windowMemory(options.maxMemory);
  return { ...rest, concurrency, maxMemory, stores: storesFor(s3), ...(include === undefined ? {} : { include: stringList('include', include, []) }) };
}

export type ValidRestoreOptions = Omit<RestoreOptions, 'include' | 's3' | 'maxMemory'> & { include?: string[]; concurrency: number; maxMemory: number; stores: Stores };

export async function restoreBackup(path: string, restoreOptions: RestoreOptions): Promise<RestoreResult> {
  pathArgument('restoreBackup()', 'path', path, BACKUP_PATH);
  const start = performance.now();
  const options = validateRestoreOptions(restoreOptions);
  const pool = new BlockCodecPool(options.concurrency);
  try {
    return await restoreWith(pool, path, options, start);
  } finally {
    await pool.close();
  }
}

async function restoreWith(pool: BlockCodecPool, path: string, options: ValidRestoreOptions, start: number): Promise<RestoreResult> {
  const requestsBefore = options.stores.counters();
  // A long manifest is a large backup: its worker comes online while the rest of it is decoded.
  // Not for chosen files (`include`): one file of a large backup is read on this thread, and a
  // worker started for nothing cost that restore 50 ms (0.65 -> 0.70 s).
  const backup = await BackupReader.open(path, options.stores, options.include ? {} : { onLongManifest: () => pool.startOne() });
  if (backup.manifest && options.include && !options.allowEmpty && selectEntries(backup.manifest, options.include).length === 0) {
    throw nothingSelected(backup.archivePath, options.include);
  }
  if (options.delete) refuseUnscopedDelete(backup);
  const writer = new RestoreWriter(resolve(options.to), options.overwrite === true, options.allowOutsideLinks === true);
  await writer.ensureFolder('').catch((error: unknown) => {
    throw new BackupError('OUTPUT_UNWRITABLE', `Cannot restore into ${writer.root} (${(error as Error).message}). Choose a writable folder.`, {
      path: writer.root,
      cause: error,
    });
  });
  const context: RestoreContext = {
    progress: new ProgressTracker(options.onProgress),
    writer,
    hasher: new StreamHasher(),
    options,
    maxDepth: options.maxDepth ?? DEFAULT_MAX_DEPTH,
    outsideLinksRefused: 0,
    topNames: new Set(),
    result: {
      ok: true,
      target: writer.root,
      hashesChecked: backup.manifest !== undefined,
      restored: { files: 0, directories: 0, symlinks: 0, hardlinks: 0, bytes: 0, holeBytes: 0 },
      skipped: [],
      warnings: [],
      failures: [],
      deleted: [],
      blocksRead: 0,
      blocksTotal: 0,
      elapsedMs: 0,
    },
  };
  const claimed = await writer.claim().catch((error: unknown) => {
    throw error instanceof RestoreRefusal ? new BackupError('OUTPUT_EXISTS', `Cannot restore: ${error.message}.`, { path: writer.root }) : error;
  });
  const cleaned = claimed.removed;
  if (cleaned.length > 0) context.result.warnings.push(`removed ${plural(cleaned.length, 'temporary file')} that an interrupted restore left in ${writer.root}`);
  if (backup.unreadableManifest) {
    const { path: manifestPath, reason } = backup.unreadableManifest;
    context.result.warnings.push(
      `its manifest ${manifestPath} cannot be read (${reason}): the archive was restored on its own, its files checked against the tar headers only (an incremental's unchanged files lie in earlier archives and are not restored)`,
    );
  }
  if (backup.convertedLineEndings) context.result.warnings.push(convertedLineEndingsWarning(backup.manifestPath!));
  const leftOut = backup.manifest && skippedWhenMade(backup.manifest, options.include ? includeMatcher(options.include, backup.manifest.header.selection?.sources) : undefined);
  if (leftOut) context.result.warnings.push(leftOut);
  try {
    if (backup.manifest && !options.overwrite) await refuseTakenNames(backup.manifest, options, writer.root, claimed.interrupted);
    if (backup.manifest) await restoreWithManifest(backup, backup.manifest, pool, context);
    else await restoreSequentially(backup, context);
    for (const removed of writer.removeEscapedLinks()) {
      context.result.failures.push(removed);
      context.outsideLinksRefused++;
    }
    if (context.outsideLinksRefused > 0) {
      context.result.warnings.push(
        `${plural(context.outsideLinksRefused, 'symlink')} refused for leading outside ${writer.root} (an absolute target, or climbing out), as from an archive ` +
          'that may be hostile; for a backup you trust, --allow-outside-links (allowOutsideLinks: true) restores them as they are, as GNU tar does',
      );
    }
    if (options.delete) await deleteWhatBackupLacks(backup, context);
    const nested = nestedInItself(context.topNames, writer.root);
    if (nested) context.result.warnings.push(nested);
    await writer.release(); // before the folders' times: removing the lock changes the target's
    await writer.finishFolders();
    const owners = writer.ownerFailures;
    if (owners.length > 0) {
      context.result.warnings.push(`${owners.length} entr${owners.length === 1 ? 'y keeps' : 'ies keep'} the owner of this process: ${owners[0]!.path}: ${owners[0]!.reason}${owners.length > 1 ? ', …' : ''}`);
    }
    const modes = writer.metadataFailures;
    if (modes.length > 0) {
      const them = modes.length === 1 ? 'it' : 'them';
      context.result.warnings.push(
        `${modes.length} entr${modes.length === 1 ? 'y keeps' : 'ies keep'} the mode or time that the target's file system gave ${them} (FAT and exFAT hold no modes; the content is restored and proven): ${modes[0]!.path}: ${modes[0]!.reason}${modes.length > 1 ? ', …' : ''}`,
      );
    }
    const copies = writer.linksCopied;
    if (copies.length > 0) {
      context.result.warnings.push(`${plural(copies.length, 'hard link')} restored as ${copies.length === 1 ? 'a copy of its target' : 'copies of their targets'}: ${copies[0]!.path}: ${copies[0]!.reason}${copies.length > 1 ? ', …' : ''}`);
    }
  } catch (error) {
    if (options.signal?.aborted) throw new AbortError(options.signal.reason);
    throw error;
  } finally {
    await writer.release();
    await context.hasher.close();
  }
  context.progress.enter('done');
  context.result.ok = context.result.failures.length === 0;
  if (isS3Location(backup.archivePath)) context.result.store = options.stores.since(requestsBefore);
  context.result.elapsedMs = performance.now() - start;
  return context.result;
}

/** `delete` needs to know what the backup covered: refused up front, before anything is written. */
export function refuseUnscopedDelete(backup: BackupReader): void {
  const why = !backup.manifest
    ? `${backup.archivePath} is read without a manifest, and an archive alone does not say what it covered`
    : !backup.manifest.header.selection
      ? `${backup.manifestPath ?? backup.archivePath} records no sources (a backup made by the backup() plugin from a gulp stream)`
      : undefined;
  if (why === undefined) return;
  throw new BackupError(
    'INVALID_OPTION',
    `Cannot restore with --delete (delete: true): ${why}, so what is not in it cannot be told from what it left out; nothing was restored. Restore without --delete, into an empty folder to get the backup alone.`,
    { path: backup.manifestPath ?? backup.archivePath },
  );
}

/** Restore's last step with `delete`, once every entry is in place (a failed restore deletes nothing). */
async function deleteWhatBackupLacks(backup: BackupReader, context: RestoreContext): Promise<void> {
  const { result, options, writer } = context;
  if (result.failures.length > 0) {
    result.warnings.push(`nothing was deleted (--delete): ${plural(result.failures.length, 'entry')} failed to restore, and the target is left as it was beside them`);
    return;
  }
  const backupFolder = localFolderOf(backup.manifestPath);
  const removal = await deleteExtra(backup.manifest!, writer.root, {
    ...(options.include ? { include: options.include } : {}),
    ...(backupFolder ? { backupFolder } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  result.deleted = removal.deleted;
  result.failures.push(...removal.failures.map((failure) => ({ ...failure, deleting: true as const })));
  const kept = keptFoldersWarning(removal.keptFolders);
  if (kept) result.warnings.push(kept);
}

interface RestoreContext {
  progress: ProgressTracker;
  writer: RestoreWriter;
  /** Hashes large files on a thread of their own. */
  hasher: StreamHasher;
  options: ValidRestoreOptions;
  maxDepth: number;
  /** Symlinks refused for leading outside the target: the summary says how to allow them. */
  outsideLinksRefused: number;
  /** The first names of the entries' paths (two are enough to know they are not all one folder's). */
  topNames: Set<string>;
  result: RestoreResult;
}

/**
 * How a file's content reaches the writer: its bytes through `write`, and (sparse files) the holes
 * between them through `hole`. Resolves to the content's SHA-256 when a worker already took it.
 */
type ContentWriter = (write: (bytes: Buffer) => Promise<void>, hole: (length: number) => Promise<void> | void) => Promise<string | undefined>;

/**
 * Whether restoring an entry at `path` would replace something: for a folder, anything there that
 * is not a folder; for the rest, anything there; for both, a file where one of its folders goes.
 */
function isTaken(path: string, isFolder: boolean): boolean {
  try {
    const existing = lstatSync(fsPath(path), { throwIfNoEntry: false });
    return existing !== undefined && !(isFolder && existing.isDirectory());
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOTDIR';
  }
}

/**
 * Without overwrite, names that are taken in the target are refused once, before anything is
 * written, naming a few and the count (one line per file buried the answer under thousands).
 * Folders that exist are fine: a restore merges into them.
 */
export async function refuseTakenNames(manifest: Manifest, options: ValidRestoreOptions, root: string, interrupted: boolean): Promise<void> {
  const present = await readdir(root);
  if (present.every((name) => name === RESTORE_LOCK)) return; // an empty (or new) folder
  const taken: string[] = [];
  let count = 0;
  for (const entry of selectEntries(manifest, options.include)) {
    const safe = safeEntryPath(strippedPath(entry.path, options.stripComponents), { maxDepth: options.maxDepth ?? DEFAULT_MAX_DEPTH });
    if (!('path' in safe) || !isTaken(join(root, safe.path), entry.type === 'directory')) continue;
    if (++count <= 3) taken.push(safe.path);
  }
  if (count === 0) return;
  throw new BackupError(
    'OUTPUT_EXISTS',
    `${plural(count, 'file')} to restore already exist${count === 1 ? 's' : ''} in ${root} (${taken.join(', ')}${count > taken.length ? ', …' : ''}); nothing was restored. ` +
      (interrupted
        ? 'A restore into this folder was interrupted before it finished (its lock was still there): pass --overwrite (overwrite: true) to finish it, or restore into an empty folder.'
        : 'Pass --overwrite (overwrite: true) to replace them, or restore into an empty folder.'),
    { path: root },
  );
}

export function nothingSelected(archivePath: string, include: string[]): BackupError {
  return new BackupError(
    'NOTHING_SELECTED',
    `No entry of ${archivePath} matches ${include.map((pattern) => `'${pattern}'`).join(', ')}. Patterns match archive paths (as \`gulp-backup ls\` lists them) or paths relative to a backed-up source; pass allowEmpty: true (--allow-empty) to restore nothing without an error.`,
    { path: archivePath },
  );
}

/** The entries to restore: those that match, the folders above them, and the files their hard links share. */
export function selectEntries(manifest: Manifest, include: string[] | undefined): ManifestEntry[] {
  const entries = manifest.entries;
  if (!include) return [...entries];
  const matches = includeMatcher(include, manifest.header.selection?.sources);
  const wanted = new Set<string>();
  const byPath = new Map(entries.map((entry) => [entry.path, entry]));
  for (const entry of entries) {
    if (!matches(entry.path)) continue;
    wanted.add(entry.path);
    if (entry.type === 'hardlink' && entry.linkTarget) wanted.add(entry.linkTarget);
  }
  for (const path of [...wanted]) {
    for (let cut = path.lastIndexOf('/'); cut > 0; cut = path.lastIndexOf('/', cut - 1)) {
      if (byPath.get(path.slice(0, cut))?.type === 'directory') wanted.add(path.slice(0, cut));
    }
  }
  return entries.filter((entry) => wanted.has(entry.path));
}

async function restoreWithManifest(backup: BackupReader, manifest: Manifest, pool: BlockCodecPool, context: RestoreContext): Promise<void> {
  const { result } = context;
  const selected = selectEntries(manifest, context.options.include);
  context.progress.filesTotal = selected.length;
  context.progress.bytesTotal = selected.reduce((sum, entry) => sum + (entry.type === 'file' ? entry.size : 0), 0);
  // A point of a chain: each file's content comes from the backup that holds it, all read at once.
  // A backup of the chain that is gone fails only the files it holds; the others are restored.
  // Small files whole in one block are hashed by the worker that inflates it, off this thread.
  const content = await backup.content(selected, { concurrency: context.options.concurrency, pool, signal: context.options.signal, hashInBlockUpTo: SMALL_FILE_LIMIT });
  if (content.brokenChain) {
    result.warnings.push(brokenChainWarning(content.brokenChain));
  }
  for (const { archivePath, codec } of content.decompressedCopies) result.warnings.push(decompressedCopyWarning(archivePath, codec));
  for (const { archivePath, codec } of content.recompressedCopies) result.warnings.push(recompressedCopyWarning(archivePath, codec));
  result.blocksTotal += content.blocksTotal;
  result.blocksRead += content.blocksNeeded;
  context.progress.enter('restore');
  try {
    for (const entry of selected) {
      context.options.signal?.throwIfAborted();
      await restoreEntry(entry, context, (write) => content.read(entry, write));
    }
  } finally {
    await content.close();
  }
}

/** Files up to this size are restored with synchronous calls, in one write. */
const SMALL_FILE_LIMIT = 1024 * 1024;

function parentPath(path: string): string {
  return path.includes('/') ? path.slice(0, path.lastIndexOf('/')) : '';
}

/** Restores one entry through the writer; a refusal or an error is recorded, not thrown. */
async function restoreEntry(entry: ManifestEntry, context: RestoreContext, content: ContentWriter, checkHash = true): Promise<void> {
  const { progress } = context;
  progress.currentFile = String(entry.path);
  try {
    await restoreOneEntry(entry, context, content, checkHash);
  } finally {
    progress.filesDone++;
    if (entry.type === 'file') progress.bytesDone += Number(entry.size) || 0;
    progress.tick();
  }
}

async function restoreOneEntry(entry: ManifestEntry, context: RestoreContext, content: ContentWriter, checkHash: boolean): Promise<void> {
  const { writer, result } = context;
  const record = checkHash ? 'the manifest' : 'its tar header';
  const malformed = malformedEntry(entry);
  if (malformed) {
    result.failures.push({ path: String(entry.path), reason: `refused: ${checkHash ? 'its manifest record' : 'its tar header'} is malformed (${malformed})` });
    return;
  }
  const metadata = { mode: entry.mode & 0o7777, mtime: secondsForUtimes(BigInt(entry.mtimeNs)), uid: entry.uid, gid: entry.gid };
  const stored = strippedPath(entry.path, context.options.stripComponents);
  if (stored === '') {
    // Above the folders kept (--strip-components): a folder there is not made, a file is said.
    if (entry.type !== 'directory') result.skipped.push({ path: entry.path, reason: `its path has no more than ${context.options.stripComponents} parts to strip (--strip-components)` });
    return;
  }
  const safe = safeEntryPath(stored, { maxDepth: context.maxDepth });
  if ('refused' in safe) {
    // `./` (every `tar -C dir -cf x.tar .`) is the target itself: GNU tar gives it the entry's metadata.
    if (entry.type === 'directory' && isRootEntry(stored)) await writer.folder('', metadata);
    else result.failures.push({ path: entry.path, reason: `refused: ${safe.refused}` });
    return;
  }
  const path = safe.path;
  if (context.topNames.size < 2) context.topNames.add(path.split('/')[0]!);
  try {
    switch (entry.type) {
      case 'directory':
        await writer.folder(path, metadata);
        result.restored.directories++;
        return;
      case 'symlink': {
        const target = entry.linkTarget ?? '';
        if (target.includes('\0')) throw new RestoreRefusal('refused: its link target contains a NUL byte');
        const outside = context.options.allowOutsideLinks ? undefined : symlinkTargetRefusal(path, target);
        if (outside) throw new OutsideLinkRefusal(`refused: ${outside}`);
        await writer.symlink(path, entry.linkTarget!, metadata);
        result.restored.symlinks++;
        return;
      }
      case 'hardlink': {
        const storedTarget = strippedPath(entry.linkTarget ?? '', context.options.stripComponents);
        if (storedTarget === '') throw new RestoreRefusal(`its hard-link target ${entry.linkTarget} lies above the folders kept (--strip-components)`);
        const target = safeEntryPath(storedTarget, { maxDepth: context.maxDepth });
        if ('refused' in target) throw new RestoreRefusal(`refused: its hard-link target: ${target.refused}`);
        await writer.hardlink(path, target.path);
        result.restored.hardlinks++;
        return;
      }
      case 'file': {
        const expected = { size: entry.size, digest: checkHash ? expectedDigest(entry.hashes) : undefined, record } as const;
        if (entry.size <= SMALL_FILE_LIMIT) {
          const chunks: Buffer[] = [];
          let received = 0;
          const digest = await content(
            // Kept until the file is whole: a view of a block the reader then moves past is copied
            // (see BackupContent.read); the last one, most often the only one, is not.
            async (bytes) => {
              received += bytes.length;
              chunks.push(received < entry.size ? Buffer.from(bytes) : bytes);
            },
            (length) => void chunks.push(Buffer.alloc(length)),
          );
          await writer.ensureFolder(parentPath(path));
          writer.writeFileSync(path, chunks, expected, metadata, digest);
          result.restored.files++;
          result.restored.bytes += entry.size;
          return;
        }
        const file = await writer.createFile(path, expected.digest && { hasher: context.hasher, algorithm: expected.digest.algorithm });
        const sparse = context.options.sparse === true;
        try {
          await content(
            (bytes) => (sparse ? file.writeLeavingHoles(bytes) : file.write(bytes)),
            (length) => file.skip(length),
          );
        } catch (error) {
          await file.discard();
          throw error;
        }
        await file.commit(expected, metadata);
        result.restored.files++;
        result.restored.bytes += entry.size;
        result.restored.holeBytes += file.holeBytes;
        return;
      }
      default:
        result.skipped.push({ path: entry.path, reason: `a ${String(entry.type)} entry is never created` });
    }
  } catch (error) {
    // A cut or damaged stream inside a file fails that file; the archive-level failure follows.
    if (error instanceof RestoreRefusal || isSystemError(error) || error instanceof GzipFormatError) {
      result.failures.push({ path: entry.path, reason: isSystemError(error) ? restoreFailureReason(error as Error) : (error as Error).message });
      if (error instanceof OutsideLinkRefusal) context.outsideLinksRefused++;
    } else throw error;
  }
}

/** Whether a path names the archive's root (`.`, `./`): empty once its root and dots are removed, with no `..`. */
function isRootEntry(path: string): boolean {
  return /^[/\\.]*$/.test(path) && !/(^|[/\\])\.\.([/\\]|$)/.test(path);
}

function isSystemError(error: unknown): boolean {
  return typeof (error as NodeJS.ErrnoException | undefined)?.code === 'string' && !(error instanceof BackupError);
}

/**
 * Any .tar.gz, .tar.zst or .tar, GNU tar's too: one sequential pass through the tar entry reader,
 * entries restored one at a time under the same rules. Sizes are checked against the tar headers;
 * there are no hashes to check. A damaged or truncated archive keeps what came before the damage.
 */
async function restoreSequentially(backup: BackupReader, context: RestoreContext): Promise<void> {
  const { archivePath } = backup;
  const { result } = context;
  context.progress.enter('restore'); // totals unknown: a plain archive says nothing of its end
  const include = context.options.include ? includeMatcher(context.options.include) : undefined;
  let matched = 0;
  const signal = context.options.signal;
  const end = { endMarker: false, bytes: 0 };
  try {
    for await (const entry of backup.entries({ end, warnings: result.warnings, maxMemory: context.options.maxMemory })) {
      signal?.throwIfAborted();
      if (include) {
        // Patterns name paths as they are restored: `a.txt` matches the `./a.txt` of `tar -C dir .`.
        const safe = safeEntryPath(entry.path, { maxDepth: context.maxDepth });
        if (!('path' in safe) || !include(safe.path)) continue;
        matched++;
      }
      if (entry.type === 'multivolume continuation') {
        // Part of a file, whose start is in another volume: GNU tar fails it too (without -M).
        result.failures.push({ path: entry.path, reason: MULTIVOLUME_CONTINUATION });
        continue;
      }
      if (!isOurType(entry.type)) {
        result.skipped.push({ path: entry.path, reason: `a ${entry.type} entry is never created` });
        continue;
      }
      const manifestLike: ManifestEntry = {
        record: 'entry',
        path: entry.path,
        type: entry.type,
        size: entry.type === 'file' ? (entry.sparse?.realSize ?? entry.size) : 0,
        mode: entry.mode,
        uid: entry.uid,
        gid: entry.gid,
        mtimeNs: entry.mtimeNs.toString(),
        ctimeNs: '0',
        ino: '0',
        ...(entry.type === 'symlink' || entry.type === 'hardlink' ? { linkTarget: entry.linkTarget } : {}),
        offset: entry.offset,
        dataOffset: entry.dataOffset,
      };
      await restoreEntry(
        manifestLike,
        context,
        async (write, hole) => {
          for await (const part of entry.sparse ? sparseContent(entry.content(), entry.sparse) : entry.content()) {
            signal?.throwIfAborted(); // one entry can take minutes: Ctrl-C and SIGTERM must not wait for its end
            if (typeof part === 'number') await hole(part);
            else await write(part);
          }
          return undefined; // no digest: an archive without a manifest has none to prove
        },
        false,
      );
    }
  } catch (error) {
    if (!(error instanceof TarFormatError) && !isDecompressionError(error)) throw error;
    const reason = end.endMarker
      ? `damaged archive after its last entry (${(error as Error).message}): every entry was restored, but the archive could not be proven whole`
      : `damaged archive (${(error as Error).message}): the entries after this point were not restored`;
    result.failures.push({ path: archivePath, reason });
  }
  if (context.options.include && matched === 0 && !context.options.allowEmpty) throw nothingSelected(archivePath, context.options.include);
}

export function isOurType(type: string): type is ManifestEntry['type'] {
  return type === 'file' || type === 'directory' || type === 'symlink' || type === 'hardlink';
}
