/**
 * The files a backup leaves in its store: `NAME.tar.gz` (or `.tar`, `.tar.zst`), its `.sha256` and
 * `NAME.manifest.jsonl`. Each is written unseen (a `.partial` file on disk, a multipart upload on
 * S3) and put in place when whole; the manifest comes last, so its presence means the backup is
 * complete. On failure, everything this run created is removed.
 */
import { BackupError, OutputError, outputWriteError } from '../../errors.js';
import { CODECS, codecNamed } from '../../format/codecs/codecs.js';
import type { Codec } from '../../format/manifest.js';
import type { BackupStore, StoreWriter } from '../../store/backup-store.js';
import { PARTIAL_SUFFIX } from '../../store/local-store.js';
import { RunLock, isDeadLock } from '../run-lock.js';

export interface OutputPaths {
  store: BackupStore;
  /** The folder's location. */
  folder: string;
  name: string;
  archiveName: string;
  archive: string;
  checksum: string;
  manifest: string;
}

export function outputPaths(store: BackupStore, name: string, codec: Codec): OutputPaths {
  const archiveName = `${name}${codecNamed(codec, 'codec').suffix}`;
  return {
    store,
    folder: store.location,
    name,
    archiveName,
    archive: store.locationOf(archiveName),
    checksum: store.locationOf(`${archiveName}.sha256`),
    manifest: store.locationOf(`${name}.manifest.jsonl`),
  };
}

/** `backup-20261128-060730`, in UTC, so names sort by time. */
export function defaultBackupName(date: Date): string {
  const iso = date.toISOString(); // 2026-11-28T06:07:30.123Z
  return `backup-${iso.slice(0, 10).replaceAll('-', '')}-${iso.slice(11, 19).replaceAll(':', '')}`;
}

/** The lock that marks a run's files as its own: `NAME.gulp-backup.lock` beside them. */
export const LOCK_SUFFIX = '.gulp-backup.lock';

export interface PreparedOutput {
  paths: OutputPaths;
  lock: RunLock;
  /** Files of dead runs removed before this one started, for the summary. */
  cleaned: string[];
}

/**
 * Creates the output folder, removes what dead runs left there, and claims a name with a lock
 * (O_EXCL, so two runs never get the same one). A name given by the user must be free; a default
 * name gets a `-2`, `-3`… suffix when a backup was already made (or is being made) in that second.
 */
export async function prepareOutput(store: BackupStore, name: string | undefined, codec: Codec, now: Date, replace = false): Promise<PreparedOutput> {
  const folder = store.location;
  try {
    await store.ensure();
  } catch (error) {
    throw error instanceof BackupError ? error : outputWriteError(folder, error);
  }
  const cleaned = await removeDeadRuns(store);
  const base = name ?? defaultBackupName(now);
  for (let attempt = 1; ; attempt++) {
    const paths = outputPaths(store, attempt === 1 ? base : `${base}-${attempt}`, codec);
    const lock = await RunLock.claim(store, paths.name + LOCK_SUFFIX).catch((error: unknown) => {
      throw error instanceof BackupError ? error : outputWriteError(folder, error);
    });
    const taken = lock === undefined || (await Promise.all([paths.archiveName, `${paths.name}.manifest.jsonl`].map((file) => store.stat(file)))).some(Boolean);
    if (!taken || (replace && name !== undefined && lock)) return { paths, lock, cleaned };
    if (lock) await lock.release();
    if (name !== undefined) {
      throw new OutputError(
        'OUTPUT_EXISTS',
        lock
          ? `A backup named ${name} already exists in ${folder}. Pass --replace (replace: true) to replace it once the new one is complete, or choose another --name.`
          : `Another gulp-backup run is writing a backup named ${name} in ${folder} right now (${paths.name + LOCK_SUFFIX}). Wait for it, or choose another --name.`,
        { path: paths.archive },
      );
    }
  }
}

/**
 * Removes what killed runs left in the store: the files of each dead run's lock (partial files,
 * unfinished uploads, and an archive and checksum that never got their manifest), and `.partial`
 * files that no live run claims. A backup whose manifest exists is complete and kept; only its
 * stale lock goes. With `dryRun`, names what it would remove and removes nothing.
 */
export async function removeDeadRuns(store: BackupStore, dryRun = false): Promise<string[]> {
  const names = await store.list().catch(() => [] as string[]);
  const removed: string[] = [];
  const liveNames = new Set<string>();
  for (const lockName of names.filter((n) => n.endsWith(LOCK_SUFFIX))) {
    const name = lockName.slice(0, -LOCK_SUFFIX.length);
    if (!(await isDeadLock(store, lockName))) {
      liveNames.add(name);
      continue;
    }
    const complete = names.includes(`${name}.manifest.jsonl`);
    const own = [...CODECS.flatMap((codec) => [`${name}${codec.suffix}`, `${name}${codec.suffix}.sha256`]), `${name}.manifest.jsonl`];
    const ownFiles = new Set([...own, ...own.map((n) => n + PARTIAL_SUFFIX)]);
    const leftovers = complete ? [] : names.filter((n) => ownFiles.has(n));
    if (!dryRun) await store.abandonUploads?.(own);
    for (const file of [...leftovers, lockName]) {
      if (!dryRun) await store.remove(file);
      removed.push(file);
    }
  }
  for (const partial of names.filter((n) => n.endsWith(PARTIAL_SUFFIX))) {
    const owner = partial.replace(/\.(tar(\.gz|\.zst)?(\.sha256)?|manifest\.jsonl)\.partial$/, '');
    if (liveNames.has(owner) || removed.includes(partial)) continue;
    if (!dryRun) await store.remove(partial);
    removed.push(partial);
  }
  return removed;
}

/** `text` (pieces of it) written unseen to `name`, for the caller to `commit()` (or `seal()`, then `place()`): in batches, so a million-line manifest is never one string. */
export async function writeText(store: BackupStore, name: string, text: Iterable<string | Buffer>): Promise<StoreWriter> {
  const file = await store.create(name);
  try {
    let batch: Buffer[] = [];
    let batchBytes = 0;
    for (const piece of text) {
      const buffer = typeof piece === 'string' ? Buffer.from(piece) : piece;
      batch.push(buffer);
      batchBytes += buffer.length;
      if (batch.length >= 512 || batchBytes >= 1 << 20) {
        await file.write(batch);
        batch = [];
        batchBytes = 0;
      }
    }
    if (batch.length > 0) await file.write(batch);
    return file;
  } catch (error) {
    await file.discard();
    throw error;
  }
}

/**
 * A backup that replaces one of the same name: the new files, whole and durable but unseen, take
 * their places; the old manifest goes first, so that at no moment does a manifest name an archive
 * it does not describe (a run killed in between leaves no backup of that name, which the next run
 * cleans up, rather than a mismatched one).
 */
export async function replaceBackup(paths: OutputPaths, sealed: StoreWriter[]): Promise<void> {
  const { store } = paths;
  await store.remove(`${paths.name}.manifest.jsonl`);
  // The old archive may have another codec's name (`.tar` for `.tar.gz`).
  const others = CODECS.map((codec) => `${paths.name}${codec.suffix}`).filter((name) => name !== paths.archiveName);
  await Promise.all(others.flatMap((other) => [other, `${other}.sha256`]).map((name) => store.remove(name)));
  for (const file of sealed) await file.place();
}
