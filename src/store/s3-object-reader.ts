/**
 * Reading an S3 object: ranged GETs, each resumed from the byte where a reset connection broke it
 * off. A reader that goes on reading where it stopped (a whole archive, block after block) gets
 * windows fetched ahead in parallel, growing as the reads stay in order, as the kernel's readahead
 * does; a reader that jumps (restoring one file) fetches only what it asks for.
 */
import { Readable } from 'node:stream';
import type { StoredFile } from './backup-store.js';
import type { S3Connection } from './s3-connection.js';

export interface S3Object {
  connection: S3Connection;
  bucket: string;
  key: string;
  location: string;
}

/** Bytes `[start, end)` of the object, resumed after a broken body, in a buffer of their own. */
export async function getRange(object: S3Object, start: number, end: number): Promise<Buffer> {
  const bytes = Buffer.from(new ArrayBuffer(end - start));
  let filled = 0;
  for (let attempt = 1; filled < bytes.length; attempt++) {
    try {
      for await (const chunk of await rangeBody(object, start + filled, end)) {
        const piece = chunk as Buffer;
        const room = Math.min(piece.length, bytes.length - filled);
        piece.copy(bytes, filled, 0, room);
        filled += room;
        object.connection.counters.bytesRead += room;
      }
      break;
    } catch (error) {
      if (!resumable(error) || attempt >= object.connection.settings.maxAttempts) throw object.connection.explain(error, 'reading', object.location);
      object.connection.counters.retries++;
      await backoff(attempt);
    }
  }
  return bytes.subarray(0, filled);
}

async function rangeBody(object: S3Object, start: number, end: number): Promise<AsyncIterable<unknown>> {
  const response = await object.connection.send<{ Body?: AsyncIterable<unknown> }>('reading', object.location, (sdk) =>
    new sdk.GetObjectCommand({ Bucket: object.bucket, Key: object.key, Range: `bytes=${start}-${end - 1}` }),
  );
  return response.Body ?? (async function* () {})();
}

/** Errors of a body cut off mid-way (a reset, a timeout), after the SDK has handed it over. */
function resumable(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code ?? '';
  const name = (error as Error).name ?? '';
  return ['ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ECONNREFUSED', 'ERR_STREAM_PREMATURE_CLOSE', 'UND_ERR_SOCKET'].includes(code) || name === 'TimeoutError' || /aborted|socket hang up/i.test((error as Error).message ?? '');
}

function backoff(attempt: number): Promise<void> {
  const ms = Math.min(5_000, 100 * 2 ** (attempt - 1)) * (0.5 + Math.random() / 2);
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The whole object as a stream, fetched window by window ahead of the reader. */
export function objectStream(object: S3Object, size: number): Readable {
  const file = new S3File(object, size);
  return Readable.from(
    (async function* () {
      for (let position = 0; position < size; ) {
        const bytes = await file.read(position, Math.min(STREAM_CHUNK, size - position));
        if (bytes.length === 0) break;
        position += bytes.length;
        yield bytes;
      }
    })(),
    { objectMode: false },
  );
}

const STREAM_CHUNK = 1024 * 1024;

interface Window {
  start: number;
  end: number;
  data: Promise<Buffer>;
}

export class S3File implements StoredFile {
  readonly location: string;
  private windows: Window[] = [];
  /** Where the last read ended, and how many reads in a row began there. */
  private lastEnd = -1;
  private inOrder = 0;
  private windowSize = FIRST_WINDOW;

  constructor(
    private readonly object: S3Object,
    readonly size: number,
  ) {
    this.location = object.location;
  }

  async read(position: number, length: number): Promise<Buffer> {
    const end = Math.min(this.size, position + length);
    if (end <= position) return Buffer.alloc(0);
    this.inOrder = position === this.lastEnd ? this.inOrder + 1 : 0;
    this.lastEnd = end;
    this.windows = this.windows.filter((window) => window.end > position);
    if (this.inOrder >= IN_ORDER_BEFORE_AHEAD) this.fetchAhead(end);
    const covering = this.covering(position, end);
    if (!covering) return getRange(this.object, position, end);
    const pieces = await Promise.all(covering.map((window) => window.data));
    // A buffer of its own: the caller may transfer it to a worker.
    const bytes = Buffer.from(new ArrayBuffer(end - position));
    let filled = 0;
    covering.forEach((window, i) => {
      const from = Math.max(position, window.start) - window.start;
      const to = Math.min(end, window.end) - window.start;
      filled += pieces[i]!.copy(bytes, filled, from, to);
    });
    return bytes.subarray(0, filled);
  }

  async close(): Promise<void> {
    const pending = this.windows;
    this.windows = [];
    await Promise.allSettled(pending.map((window) => window.data));
  }

  /** The windows that hold `[start, end)` between them, in order; undefined when some of it is in none. */
  private covering(start: number, end: number): Window[] | undefined {
    const found: Window[] = [];
    let at = start;
    for (const window of this.windows) {
      if (window.start <= at && window.end > at) {
        found.push(window);
        at = window.end;
        if (at >= end) return found;
      }
    }
    return undefined;
  }

  /** Keeps `concurrency` windows in flight past `from`, each larger than the last up to the cap. */
  private fetchAhead(from: number): void {
    const depth = this.object.connection.settings.concurrency;
    let next = this.windows.length > 0 ? this.windows[this.windows.length - 1]!.end : from;
    if (next < from) next = from;
    while (this.windows.filter((window) => window.end > from).length < depth && next < this.size) {
      const end = Math.min(this.size, next + this.windowSize);
      const data = getRange(this.object, next, end);
      data.catch(() => {}); // read (and thrown) when a read needs it
      this.windows.push({ start: next, end, data });
      next = end;
      this.windowSize = Math.min(MAX_WINDOW, this.windowSize * 2);
    }
  }
}

/** Reads in a row, each where the last ended, before windows are fetched ahead. */
const IN_ORDER_BEFORE_AHEAD = 2;
const FIRST_WINDOW = 1024 * 1024;
const MAX_WINDOW = 8 * 1024 * 1024;
