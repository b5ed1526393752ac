/**
 * The file-system side of restore, where the safety rules meet the disk: folders are made one
 * component at a time and never through a symlink; every file is written to a temporary name in
 * its folder (O_EXCL | O_NOFOLLOW), hashed while written, and renamed into place only when its
 * size and hash match; links are made under a temporary name and renamed too. Folder modes and
 * times are applied last, deepest first, after their children.
 */
import { createHash, randomBytes, type Hash } from 'node:crypto';
import { closeSync, constants, fchmodSync, futimesSync, lstatSync, openSync, renameSync, unlinkSync, writevSync } from 'node:fs';
import { chmod, link, lstat, lutimes, mkdir, open, readdir, rm, symlink, utimes, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fsPath } from '../format/path-bytes.js';
import { ensureFolder } from './output-files.js';
import { RunLock, isDeadLock } from './run-lock.js';
import { collisionKey } from './safe-paths.js';

export class RestoreRefusal extends Error {}

const CREATE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

export interface FileMetadata {
  mode: number;
  mtimeMs: number;
}

export class RestoreWriter {
  private readonly verifiedFolders = new Set<string>();
  /** Collision keys of the symlinks this restore made: nothing may be written beneath them. */
  private readonly plantedLinks = new Set<string>();
  private readonly folderMetadata = new Map<string, FileMetadata>();
  /** Regular files restored by this run, for hard links. */
  readonly restoredFiles = new Set<string>();
  private lock: RunLock | undefined;

  constructor(
    readonly root: string,
    private readonly overwrite: boolean,
  ) {}

  /** Makes `path` (relative) and its parents as folders, refusing to pass through anything else. */
  async ensureFolder(path: string): Promise<void> {
    if (this.verifiedFolders.has(path)) return;
    if (path === '') {
      await ensureFolder(this.root); // the target itself, as the user named it
      this.verifiedFolders.add('');
      return;
    }
    const parent = path.includes('/') ? path.slice(0, path.lastIndexOf('/')) : '';
    await this.ensureFolder(parent);
    if (this.plantedLinks.has(collisionKey(path))) throw new RestoreRefusal(`${path} is a symlink restored earlier; nothing is written through it`);
    const full = join(this.root, path);
    const existing = await lstat(fsPath(full)).catch(() => undefined);
    if (existing?.isSymbolicLink()) throw new RestoreRefusal(`${path} is a symlink in the target; nothing is written through it`);
    if (existing && !existing.isDirectory()) throw new RestoreRefusal(`${path} is in the way: it exists and is not a folder`);
    if (!existing) await mkdir(fsPath(full), { mode: 0o700 });
    this.verifiedFolders.add(path);
  }

  /**
   * Marks the target as being restored into (a lock naming this process). Where a restore was
   * killed before, its temporary files are found and removed first; their names are returned.
   */
  async claim(): Promise<string[]> {
    const lockPath = join(this.root, RESTORE_LOCK);
    const removed: string[] = [];
    this.lock = await RunLock.claim(lockPath);
    if (!this.lock && (await isDeadLock(lockPath))) {
      for (const entry of await readdir(this.root, { recursive: true, withFileTypes: true })) {
        if (!entry.isFile() || !TEMPORARY_NAME.test(entry.name)) continue;
        const full = join(entry.parentPath, entry.name);
        await rm(full, { force: true });
        removed.push(full.slice(this.root.length + 1));
      }
      await rm(lockPath, { force: true });
      this.lock = await RunLock.claim(lockPath);
    }
    if (!this.lock) throw new RestoreRefusal(`another gulp-backup restore is writing into ${this.root} right now (${RESTORE_LOCK}); wait for it to finish`);
    return removed;
  }

  async release(): Promise<void> {
    await this.lock?.release();
  }

  /** Records a folder's mode and time, applied by `finishFolders` after its children. */
  async folder(path: string, metadata: FileMetadata): Promise<void> {
    await this.ensureFolder(path);
    this.folderMetadata.set(path, metadata);
  }

  /** Opens a temporary file beside `path`; `commit` renames it into place once its bytes are proven. */
  async createFile(path: string): Promise<PendingFile> {
    await this.ensureFolder(parentOf(path));
    const temporary = temporaryName(join(this.root, path));
    const handle = await open(fsPath(temporary), CREATE_FLAGS, 0o600);
    return new PendingFile(this, path, temporary, handle);
  }

  async symlink(path: string, target: string, mtimeMs: number): Promise<void> {
    await this.ensureFolder(parentOf(path));
    const temporary = temporaryName(join(this.root, path));
    await symlink(fsPath(target), fsPath(temporary));
    await lutimes(fsPath(temporary), mtimeMs / 1000, mtimeMs / 1000);
    this.place(path, temporary);
    this.plantedLinks.add(collisionKey(path));
  }

  async hardlink(path: string, target: string): Promise<void> {
    if (!this.restoredFiles.has(target)) throw new RestoreRefusal(`its hard-link target ${target} was not restored by this run`);
    await this.ensureFolder(parentOf(path));
    const temporary = temporaryName(join(this.root, path));
    await link(fsPath(join(this.root, target)), fsPath(temporary));
    this.place(path, temporary);
  }

  /**
   * Gives a finished temporary file its name: a rename, which replaces a link rather than
   * following it. Without overwrite, a name that is taken is reported and left alone (checked
   * just before the rename, as GNU tar's --keep-old-files does).
   */
  place(path: string, temporary: string): void {
    const full = join(this.root, path);
    try {
      if (!this.overwrite && lstatSync(fsPath(full), { throwIfNoEntry: false })) {
        throw new RestoreRefusal(`${path} exists; pass --overwrite (overwrite: true) to replace it`);
      }
      renameSync(fsPath(temporary), fsPath(full));
    } catch (error) {
      rmQuietly(temporary);
      throw error;
    }
  }

  /**
   * A small file in one go, every step synchronous as tar does it (a cached metadata call costs
   * microseconds; a trip through libuv's pool costs tens). Size and hash are proven before
   * anything is written, so a mismatch leaves nothing behind. `ensureFolder` must have run.
   */
  writeFileSync(path: string, chunks: Buffer[], expected: { size: number; sha256: string | undefined }, metadata: FileMetadata): void {
    let size = 0;
    for (const chunk of chunks) size += chunk.length;
    if (size !== expected.size) throw new RestoreRefusal(`it came out as ${size} bytes where the manifest says ${expected.size}`);
    if (expected.sha256 !== undefined) {
      const hash = createHash('sha256');
      for (const chunk of chunks) hash.update(chunk);
      if (hash.digest('hex') !== expected.sha256) throw new RestoreRefusal('its content does not match its SHA-256 in the manifest');
    }
    const temporary = temporaryName(join(this.root, path));
    const fd = openSync(fsPath(temporary), CREATE_FLAGS, 0o600);
    try {
      const pending = chunks.filter((chunk) => chunk.length > 0);
      while (pending.length > 0) {
        let written = writevSync(fd, pending);
        while (pending.length > 0 && written >= pending[0]!.length) written -= pending.shift()!.length;
        if (written > 0) pending[0] = pending[0]!.subarray(written);
      }
      fchmodSync(fd, metadata.mode);
      futimesSync(fd, metadata.mtimeMs / 1000, metadata.mtimeMs / 1000);
    } catch (error) {
      closeSync(fd);
      rmQuietly(temporary);
      throw error;
    }
    closeSync(fd);
    this.place(path, temporary);
    this.restoredFiles.add(path);
  }

  /** Applies folder modes and times, deepest folders first. */
  async finishFolders(): Promise<void> {
    const folders = [...this.folderMetadata].sort(([a], [b]) => b.split('/').length - a.split('/').length);
    for (const [path, { mode, mtimeMs }] of folders) {
      const full = join(this.root, path);
      await chmod(fsPath(full), mode);
      await utimes(fsPath(full), mtimeMs / 1000, mtimeMs / 1000);
    }
  }
}

export class PendingFile {
  private readonly hash: Hash;
  private written = 0;
  private closed = false;

  constructor(
    private readonly writer: RestoreWriter,
    readonly path: string,
    private readonly temporary: string,
    private readonly handle: FileHandle,
    algorithm = 'sha256',
  ) {
    this.hash = createHash(algorithm);
  }

  async write(bytes: Buffer): Promise<void> {
    this.hash.update(bytes);
    this.written += bytes.length;
    let done = 0;
    while (done < bytes.length) done += (await this.handle.write(bytes, done, bytes.length - done)).bytesWritten;
  }

  /** Checks size and SHA-256, sets mode and times, then renames into place. */
  async commit(expected: { size: number; sha256: string | undefined }, metadata: FileMetadata): Promise<void> {
    try {
      if (this.written !== expected.size) throw new RestoreRefusal(`it came out as ${this.written} bytes where the manifest says ${expected.size}`);
      if (expected.sha256 !== undefined && this.hash.digest('hex') !== expected.sha256) {
        throw new RestoreRefusal('its content does not match its SHA-256 in the manifest');
      }
      await this.handle.chmod(metadata.mode);
      await this.handle.utimes(metadata.mtimeMs / 1000, metadata.mtimeMs / 1000);
      await this.close();
      this.writer.place(this.path, this.temporary);
      this.writer.restoredFiles.add(this.path);
    } catch (error) {
      await this.discard();
      throw error;
    }
  }

  /** Removes the temporary file: a failed restore leaves no half-written file. */
  async discard(): Promise<void> {
    await this.close().catch(() => {});
    await rm(fsPath(this.temporary), { force: true });
  }

  private async close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      await this.handle.close();
    }
  }
}

function rmQuietly(path: string): void {
  try {
    unlinkSync(fsPath(path));
  } catch {
    // already gone
  }
}

function parentOf(path: string): string {
  return path.includes('/') ? dirname(path) : '';
}

/** Marks a folder being restored into; removed when the restore ends. */
export const RESTORE_LOCK = '.gulp-backup-restore.lock';
const TEMPORARY_NAME = /^\.[0-9a-f]{12}\.gulp-backup\.partial$/;

function temporaryName(fullPath: string): string {
  return join(dirname(fullPath), `.${randomBytes(6).toString('hex')}.gulp-backup.partial`);
}
