/**
 * The file-system calls that read backup content, in one place, so that tests (and virtual file
 * systems) can inject faults at the I/O boundary (`fileSystem` option) instead of mocking the engine.
 */
import { closeSync, fstatSync, openSync, readSync, type Stats } from 'node:fs';
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
