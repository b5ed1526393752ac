/**
 * Backups in a folder on disk. A file is written under `NAME.partial`, made durable and renamed
 * into place: a reader never sees half of it.
 */
import { constants, createReadStream, statSync } from 'node:fs';
import { mkdir, open, readFile, readdir, rename, rm, stat, utimes, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { notAFileError, outputWriteError } from '../errors.js';
import type { BackupStore, StoredFile, StoredFileStat, StoreWriter } from './backup-store.js';

export const PARTIAL_SUFFIX = '.partial';

/** Streams read in chunks this large: a large manifest or archive parses in fewer, bigger steps. */
const READ_CHUNK = 1024 * 1024;

export class LocalStore implements BackupStore {
  readonly remote = false;

  constructor(readonly location: string) {}

  locationOf(name: string): string {
    return join(this.location, name);
  }

  async ensure(): Promise<void> {
    await ensureFolder(this.location);
  }

  async isFolder(): Promise<boolean> {
    return (await stat(this.location).catch(() => undefined))?.isDirectory() ?? false;
  }

  async list(): Promise<string[]> {
    const entries = await readdir(this.location, { withFileTypes: true });
    return entries.filter((entry) => !entry.isDirectory()).map((entry) => entry.name);
  }

  async stat(name: string): Promise<StoredFileStat | undefined> {
    const found = await stat(this.locationOf(name)).catch(() => undefined);
    return found && !found.isDirectory() ? { size: found.size, modified: found.mtime } : undefined;
  }

  async open(name: string): Promise<StoredFile> {
    const location = this.locationOf(name);
    // O_NONBLOCK: opening a FIFO for reading would wait for a writer, however long.
    const handle = await open(location, constants.O_RDONLY | constants.O_NONBLOCK);
    const stats = await handle.stat();
    if (!stats.isFile()) {
      await handle.close();
      throw notAFileError(location, stats);
    }
    const { size } = stats;
    return {
      location,
      size,
      read: (position, length) => readAt(handle, position, length),
      close: () => handle.close(),
    };
  }

  stream(name: string): Readable {
    const location = this.locationOf(name);
    const stats = statSync(location, { throwIfNoEntry: false });
    if (stats && !stats.isFile()) {
      const refused = new Readable({ read() {} });
      refused.destroy(notAFileError(location, stats));
      return refused;
    }
    return createReadStream(location, { highWaterMark: READ_CHUNK });
  }

  async readAll(name: string): Promise<Buffer> {
    const location = this.locationOf(name);
    const stats = await stat(location).catch(() => undefined);
    if (stats && !stats.isFile()) throw notAFileError(location, stats);
    return readFile(location);
  }

  create(name: string): Promise<StoreWriter> {
    return PartialFile.create(this.locationOf(name));
  }

  async createExclusive(name: string, content: string): Promise<boolean> {
    let handle;
    try {
      handle = await open(this.locationOf(name), 'wx');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw error;
    }
    try {
      await handle.writeFile(content);
    } finally {
      await handle.close();
    }
    return true;
  }

  async remove(name: string): Promise<void> {
    await rm(this.locationOf(name), { force: true });
  }

  async touch(name: string): Promise<void> {
    const now = new Date();
    await utimes(this.locationOf(name), now, now).catch((error: unknown) => {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    });
  }
}

/** Up to `length` bytes at `position`, in a buffer of their own (transferable to a worker). */
async function readAt(handle: FileHandle, position: number, length: number): Promise<Buffer> {
  const bytes = Buffer.from(new ArrayBuffer(length));
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await handle.read(bytes, filled, length - filled, position + filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return bytes.subarray(0, filled);
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

/** A file written under a temporary name and renamed into place by `place`. */
export class PartialFile implements StoreWriter {
  readonly doneWithBuffersOnWrite = true; // writev returns once the bytes are in the file
  private constructor(
    readonly location: string,
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
      throw outputWriteError(this.location, error);
    }
  }

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
      throw outputWriteError(this.location, error);
    }
  }

  /** Gives a sealed file its final name (a rename: it replaces a file of that name at once). */
  async place(): Promise<void> {
    try {
      await rename(this.location + PARTIAL_SUFFIX, this.location);
    } catch (error) {
      throw outputWriteError(this.location, error);
    }
  }

  async discard(): Promise<void> {
    await this.handle.close().catch(() => {});
    await rm(this.location + PARTIAL_SUFFIX, { force: true });
  }
}
