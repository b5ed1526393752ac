/**
 * The files a backup leaves: `NAME.tar.gz` (or `.tar`), `NAME.tar.gz.sha256` and
 * `NAME.manifest.jsonl`. Each is written under a `.partial` name and renamed into place when whole;
 * the manifest comes last, so its presence means the backup is complete. On failure, everything
 * this run created is removed.
 */
import { access, mkdir, open, readdir, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { OutputError, outputWriteError } from '../../errors.js';
import { CODECS, codecNamed } from '../../format/codecs/codecs.js';
import type { Codec } from '../../format/manifest.js';
import { RunLock, isDeadLock } from '../run-lock.js';

export interface OutputPaths {
  folder: string;
  name: string;
  archiveName: string;
  archive: string;
  checksum: string;
  manifest: string;
}

export const PARTIAL_SUFFIX = '.partial';

export function outputPaths(folder: string, name: string, codec: Codec): OutputPaths {
  const archiveName = `${name}${codecNamed(codec, 'codec').suffix}`;
  return {
    folder,
    name,
    archiveName,
    archive: join(folder, archiveName),
    checksum: join(folder, `${archiveName}.sha256`),
    manifest: join(folder, `${name}.manifest.jsonl`),
  };
}

/** `backup-20261128-060730`, in UTC, so names sort by time. */
export function defaultBackupName(date: Date): string {
  const iso = date.toISOString(); // 2026-11-28T06:07:30.123Z
  return `backup-${iso.slice(0, 10).replaceAll('-', '')}-${iso.slice(11, 19).replaceAll(':', '')}`;
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
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
export async function prepareOutput(folder: string, name: string | undefined, codec: Codec, now: Date, replace = false): Promise<PreparedOutput> {
  try {
    await ensureFolder(folder);
  } catch (error) {
    throw outputWriteError(folder, error);
  }
  const cleaned = await removeDeadRuns(folder);
  const base = name ?? defaultBackupName(now);
  for (let attempt = 1; ; attempt++) {
    const paths = outputPaths(folder, attempt === 1 ? base : `${base}-${attempt}`, codec);
    const lock = await RunLock.claim(join(folder, paths.name + LOCK_SUFFIX)).catch((error: unknown) => {
      throw outputWriteError(folder, error);
    });
    const taken = lock === undefined || (await Promise.all([paths.archive, paths.manifest].map(exists))).some(Boolean);
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
 * Removes what killed runs left in `folder`: the files of each dead run's lock (partial files, and
 * an archive and checksum that never got their manifest), and `.partial` files that no live run
 * claims. A backup whose manifest exists is complete and kept; only its stale lock goes.
 */
export async function removeDeadRuns(folder: string): Promise<string[]> {
  const names = await readdir(folder).catch(() => [] as string[]);
  const removed: string[] = [];
  const liveNames = new Set<string>();
  for (const lockName of names.filter((n) => n.endsWith(LOCK_SUFFIX))) {
    const name = lockName.slice(0, -LOCK_SUFFIX.length);
    if (!(await isDeadLock(join(folder, lockName)))) {
      liveNames.add(name);
      continue;
    }
    const complete = names.includes(`${name}.manifest.jsonl`);
    const own = [...CODECS.flatMap((codec) => [`${name}${codec.suffix}`, `${name}${codec.suffix}.sha256`]), `${name}.manifest.jsonl`];
    const ownFiles = new Set([...own, ...own.map((n) => n + PARTIAL_SUFFIX)]);
    const leftovers = complete ? [] : names.filter((n) => ownFiles.has(n));
    for (const file of [...leftovers, lockName]) {
      await rm(join(folder, file), { force: true });
      removed.push(file);
    }
  }
  for (const partial of names.filter((n) => n.endsWith(PARTIAL_SUFFIX))) {
    const owner = partial.replace(/\.(tar(\.gz|\.zst)?(\.sha256)?|manifest\.jsonl)\.partial$/, '');
    if (liveNames.has(owner) || removed.includes(partial)) continue;
    await rm(join(folder, partial), { force: true });
    removed.push(partial);
  }
  return removed;
}

/**
 * `mkdir -p` by hand: Node 20's `mkdir(path, { recursive: true })` never settles when mkdir fails
 * with ENOENT under an existing parent (seen with /proc/x); one level at a time, it fails cleanly.
 */
export async function ensureFolder(folder: string): Promise<void> {
  try {
    await mkdir(folder);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') {
      if ((await stat(folder)).isDirectory()) return;
      throw Object.assign(new Error(`${folder} is a file, not a folder`), { code: 'ENOTDIR' });
    }
    const parent = dirname(folder);
    if (code !== 'ENOENT' || parent === folder) throw error;
    await ensureFolder(parent);
    await mkdir(folder);
  }
}

/** A file written under a temporary name and renamed into place by `commit`. */
export class PartialFile {
  private constructor(
    readonly path: string,
    private readonly handle: FileHandle,
  ) {}

  static async create(path: string): Promise<PartialFile> {
    try {
      return new PartialFile(path, await open(path + PARTIAL_SUFFIX, 'wx'));
    } catch (error) {
      throw outputWriteError(path + PARTIAL_SUFFIX, error);
    }
  }

  async write(buffers: Buffer[]): Promise<void> {
    try {
      await this.handle.writev(buffers);
    } catch (error) {
      throw outputWriteError(this.path, error);
    }
  }

  /** Makes the content durable, then gives the file its final name. */
  async commit(): Promise<void> {
    await this.seal();
    await this.place();
  }

  private sealed = false;

  /** Makes the content durable and closes the file, still under its temporary name (once). */
  async seal(): Promise<void> {
    if (this.sealed) return;
    this.sealed = true;
    try {
      await this.handle.datasync();
      await this.handle.close();
    } catch (error) {
      throw outputWriteError(this.path, error);
    }
  }

  /** Gives a sealed file its final name (a rename: it replaces a file of that name at once). */
  async place(): Promise<void> {
    try {
      await rename(this.path + PARTIAL_SUFFIX, this.path);
    } catch (error) {
      throw outputWriteError(this.path, error);
    }
  }

  /** Removes the partial file (after a failure). */
  async discard(): Promise<void> {
    await this.handle.close().catch(() => {});
    await rm(this.path + PARTIAL_SUFFIX, { force: true });
  }
}

/** Writes `lines` to `path` atomically, in batches, so a million-line manifest is never one string. */
export async function writeLinesAtomically(path: string, lines: Iterable<string>): Promise<void> {
  const file = await writeLinesSealed(path, lines);
  await file.place();
}

/** `lines` written to `path`'s temporary name and made durable, for the caller to `place()`. */
export async function writeLinesSealed(path: string, lines: Iterable<string>): Promise<PartialFile> {
  const file = await PartialFile.create(path);
  try {
    let batch: Buffer[] = [];
    let batchBytes = 0;
    for (const line of lines) {
      const buffer = Buffer.from(line);
      batch.push(buffer);
      batchBytes += buffer.length;
      if (batch.length >= 512 || batchBytes >= 1 << 20) {
        await file.write(batch);
        batch = [];
        batchBytes = 0;
      }
    }
    if (batch.length > 0) await file.write(batch);
    await file.seal();
    return file;
  } catch (error) {
    await file.discard();
    throw error;
  }
}

/**
 * A backup that replaces one of the same name: the new files, whole and durable under their
 * temporary names, take their places; the old manifest goes first, so that at no moment does a
 * manifest name an archive it does not describe (a run killed in between leaves no backup of that
 * name, which the next run cleans up, rather than a mismatched one).
 */
export async function replaceBackup(paths: OutputPaths, sealed: PartialFile[]): Promise<void> {
  await rm(paths.manifest, { force: true });
  // The old archive may have another codec's name (`.tar` for `.tar.gz`).
  const others = CODECS.map((codec) => join(paths.folder, `${paths.name}${codec.suffix}`)).filter((path) => path !== paths.archive);
  await Promise.all(others.flatMap((other) => [other, `${other}.sha256`]).map((path) => rm(path, { force: true })));
  for (const file of sealed) await file.place();
}
