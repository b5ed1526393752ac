/**
 * Reads small files ahead of the tar writer, several at once, and hands them over strictly in
 * archive order (as node-tar's `jobs`: read in parallel, write in order). Bounded by the number of
 * reads under way and the bytes held. Larger files are opened only when their turn comes and then
 * streamed, so memory stays flat whatever the file sizes.
 */
import type { ContentFileSystem } from './file-system.js';
import { openContent, type ContentSource, type OpenedContent, type VanishedContent } from './file-content.js';

export interface ReadAheadEntry {
  size: number;
  content?: ContentSource;
}

export interface ReadAheadLimits {
  /** Reads under way at once. */
  concurrency: number;
  /** Bytes read ahead and not yet taken. */
  maxBytes: number;
  /** Files up to this size are read whole (and ahead); larger ones are streamed. */
  readWholeUpTo: number;
  fs: ContentFileSystem;
}

type Opening = Promise<OpenedContent | VanishedContent>;

/** How far past the current entry the reader looks for work, in entries. */
const MAX_LOOKAHEAD = 4096;

export class ReadAhead {
  private readonly started = new Map<number, Opening>();
  private nextToStart = 0;
  private current = 0;
  private reading = 0;
  private heldBytes = 0;

  constructor(
    private readonly entries: readonly ReadAheadEntry[],
    private readonly limits: ReadAheadLimits,
  ) {
    this.fill();
  }

  /** Opens the content of entry `index`; entries must be taken in increasing order. */
  take(index: number): Opening {
    this.current = index;
    const entry = this.entries[index]!;
    let opening = this.started.get(index);
    if (opening) {
      this.started.delete(index);
      this.heldBytes -= entry.size;
    } else {
      opening = openContent(entry.content!, entry.size, this.limits.readWholeUpTo, this.limits.fs);
    }
    this.fill();
    return opening;
  }

  private isReadAhead(entry: ReadAheadEntry): boolean {
    return entry.content?.kind === 'path' && entry.size <= this.limits.readWholeUpTo;
  }

  private fill(): void {
    const { concurrency, maxBytes } = this.limits;
    if (this.nextToStart <= this.current) this.nextToStart = this.current + 1;
    while (
      this.nextToStart < this.entries.length &&
      this.reading < concurrency &&
      this.heldBytes < maxBytes &&
      this.nextToStart - this.current < MAX_LOOKAHEAD
    ) {
      const index = this.nextToStart++;
      const entry = this.entries[index]!;
      if (!this.isReadAhead(entry)) continue;
      this.reading++;
      this.heldBytes += entry.size;
      const opening = openContent(entry.content!, entry.size, this.limits.readWholeUpTo, this.limits.fs);
      opening
        .catch(() => {}) // surfaced in order, when the entry is taken
        .finally(() => {
          this.reading--;
          this.fill();
        });
      this.started.set(index, opening);
    }
  }
}
