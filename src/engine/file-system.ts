/**
 * The file-system calls that read backup content, in one place, so that tests (and virtual file
 * systems) can inject faults at the I/O boundary (`fileSystem` option) instead of mocking the engine.
 */
import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from 'node:fs';
import { open } from 'node:fs/promises';
import { fsPath } from '../format/path-bytes.js';

export interface ContentFileHandle {
  read(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number }>;
  stat(): Promise<Stats>;
  close(): Promise<void>;
}

export interface ContentFileSystem {
  /** Paths hold escaped bytes where a name is not UTF-8 (path-bytes.ts: `fsPath` turns them into bytes). */
  openSync(path: string, flags: number): number;
  readSync(fd: number, buffer: Buffer, offset: number, length: number, position: number): number;
  closeSync(fd: number): void;
  fstatSync(fd: number): Stats;
  open(path: string, flags: number): Promise<ContentFileHandle>;
}

export const nodeFileSystem: ContentFileSystem = {
  openSync: (path, flags) => openSync(fsPath(path), flags),
  readSync,
  closeSync,
  fstatSync: (fd) => fstatSync(fd),
  open: (path, flags) => open(fsPath(path), flags),
};

export function withFileSystem(overrides: Partial<ContentFileSystem> | undefined): ContentFileSystem {
  return overrides ? { ...nodeFileSystem, ...overrides } : nodeFileSystem;
}

/** How content is opened: read-only, never through a link, never blocking (a FIFO put in place of a file must not hang a backup). */
export const CONTENT_OPEN_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/**
 * Opens a file's content as the backup reads it and hands the handle and its stat to `use`, for
 * reads that are only a hint or a comparison: undefined when it cannot be opened, is not a regular
 * file, or `use` fails (the store path then meets the same error and deals with it). Always closed.
 */
export async function readIfRegularFile<T>(
  fs: ContentFileSystem,
  path: string,
  use: (handle: ContentFileHandle, before: Stats) => Promise<T | undefined>,
): Promise<T | undefined> {
  let handle: ContentFileHandle;
  try {
    handle = await fs.open(path, CONTENT_OPEN_FLAGS);
  } catch {
    return undefined;
  }
  try {
    const before = await handle.stat();
    return before.isFile() ? await use(handle, before) : undefined;
  } catch {
    return undefined;
  } finally {
    await handle.close().catch(() => {});
  }
}

/** Whether a file's size or mtime moved between two stats taken around a read. */
export function movedWhileRead(before: Stats, after: Stats): boolean {
  return after.size !== before.size || after.mtimeMs !== before.mtimeMs;
}
