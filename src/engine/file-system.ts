/**
 * The file-system calls that read backup content, in one place, so that tests (and virtual file
 * systems) can inject faults at the I/O boundary (`fileSystem` option) instead of mocking the engine.
 */
import { closeSync, fstatSync, openSync, readSync, type Stats } from 'node:fs';
import { open } from 'node:fs/promises';

export interface ContentFileHandle {
  read(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number }>;
  stat(): Promise<Stats>;
  close(): Promise<void>;
}

export interface ContentFileSystem {
  openSync(path: string, flags: number): number;
  readSync(fd: number, buffer: Buffer, offset: number, length: number, position: number): number;
  closeSync(fd: number): void;
  fstatSync(fd: number): Stats;
  open(path: string, flags: number): Promise<ContentFileHandle>;
}

export const nodeFileSystem: ContentFileSystem = { openSync, readSync, closeSync, fstatSync: (fd) => fstatSync(fd), open };

export function withFileSystem(overrides: Partial<ContentFileSystem> | undefined): ContentFileSystem {
  return overrides ? { ...nodeFileSystem, ...overrides } : nodeFileSystem;
}
