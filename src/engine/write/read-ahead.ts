/**
 * Reads the next small files ahead of the ordered archive writer, several at once
 * (`readConcurrency`), for cold caches and network file systems, where one read at a time waits
 * on the device for each file. With a warm cache, one synchronous read at a time is cheaper
 * (docs/DESIGN-DECISIONS.md), so the default is 1: no read-ahead at all.
 *
 * A read ahead is only a hint: when it fails in any way (vanished, unreadable, replaced by a
 * FIFO) it is dropped, and the writer's own read of that file meets the error under the normal
 * rules (retries, onFileError, skipped list).
 */
import { waitOutRacyWindow } from './racy-window.js';
import { movedWhileRead, readIfRegularFile, type ContentFileSystem } from '../file-system.js';
import type { ArchiveEntry } from './scan.js';

export interface ReadAheadContent {
  bytes: Buffer;
  /** The size or mtime moved while the file was read. */
  changed: boolean;
}


export class ReadAhead {
  private readonly started = new Map<number, Promise<ReadAheadContent | undefined>>();
  private next = 0;

  /**
   * @param wanted whether entry `i` is a small file whose content the writer will read (not one
   *   the chain already holds), asked once per index, in order.
   */
  constructor(
    private readonly entries: readonly (ArchiveEntry | undefined)[],
    private readonly concurrency: number,
    private readonly smallFileLimit: number,
    private readonly fs: ContentFileSystem,
    private readonly wanted: (index: number) => boolean,
  ) {}

  /** The content read ahead for entry `index`, if any; reads for the entries after it start. */
  take(index: number): Promise<ReadAheadContent | undefined> | undefined {
    this.next = Math.max(this.next, index + 1);
    const content = this.started.get(index);
    this.started.delete(index);
    this.fill();
    return content;
  }

  /** Drops what was read ahead and not taken. */
  clear(): void {
    this.started.clear();
  }

  private fill(): void {
    while (this.started.size < this.concurrency - 1 && this.next < this.entries.length) {
      const index = this.next++;
      const entry = this.entries[index]!;
      if (entry.type !== 'file' || entry.content?.kind !== 'path' || entry.size > this.smallFileLimit || !this.wanted(index)) continue;
      const read = this.read(entry.content.path);
      read.catch(() => {});
      this.started.set(index, read);
    }
  }

  private read(path: string): Promise<ReadAheadContent | undefined> {
    return readIfRegularFile(this.fs, path, async (handle, before) => {
      if (before.size > this.smallFileLimit) return undefined;
      await waitOutRacyWindow(before.mtimeMs);
      const bytes = Buffer.allocUnsafe(before.size);
      let filled = 0;
      while (filled < bytes.length) {
        const { bytesRead } = await handle.read(bytes, filled, bytes.length - filled, filled);
        if (bytesRead === 0) break;
        filled += bytesRead;
      }
      const changed = filled < bytes.length || movedWhileRead(before, await handle.stat());
      return { bytes: bytes.subarray(0, filled), changed };
    });
  }
}
