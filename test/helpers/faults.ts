/** Faults injected at the file-system boundary (the engine's `fileSystem` option), not by mocking the engine. */
import { openSync } from 'node:fs';
import { open } from 'node:fs/promises';
import type { ContentFileSystem } from '../../src/engine/file-system.js';

/** A system error as Node raises it. */
export function systemError(code: string, path: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: injected, open '${path}'`), { code, path, syscall: 'open' });
}

/**
 * The async `open` of large files, with a hook before each read (its 1-based number): the hook
 * throws to inject a read error, or changes the file to simulate a writer.
 */
export function openWithReadHook(beforeRead: (read: number, path: string) => void | Promise<void>): ContentFileSystem['open'] {
  return async (path, flags) => {
    const handle = await open(path, flags);
    let reads = 0;
    return {
      stat: () => handle.stat(),
      close: () => handle.close(),
      read: async (buffer, offset, length, position) => {
        await beforeRead(++reads, path);
        return handle.read(buffer, offset, length, position);
      },
    };
  };
}

/** A synchronous `open` (the small-file path) that fails with `code` for paths ending in `suffix`. */
export function openSyncFailing(suffix: string, code: string): ContentFileSystem['openSync'] {
  return (path, flags) => {
    if (path.endsWith(suffix)) throw systemError(code, path);
    return openSync(path, flags);
  };
}

/** The real calls, recording every path opened to read: to prove what a backup did not read. */
export function recordOpens(opened: string[]): Partial<ContentFileSystem> {
  return {
    openSync: (path, flags) => {
      opened.push(path);
      return openSync(path, flags);
    },
    open: async (path, flags) => {
      opened.push(path);
      const handle = await open(path, flags);
      return { stat: () => handle.stat(), read: (...args) => handle.read(...args), close: () => handle.close() };
    },
  };
}
