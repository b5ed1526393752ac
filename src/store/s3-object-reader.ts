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
  const [bytes] = await getRanges(object, start, [end - start]);
  return bytes!;
}

/**
 * One GET from `start` for consecutive ranges of these lengths, each read into a buffer of its own
 * (transferable); `filled(i, bytes)` hears of each as it completes. Resumed from the byte reached
 * after a broken body; a range the object ends inside comes back short.
 */
export async function getRanges(object: S3Object, start: number, lengths: readonly number[], filled?: (i: number, bytes: Buffer) => void): Promise<Buffer[]> {
  const buffers = lengths.map((length) => Buffer.from(new ArrayBuffer(length)));
  const total = lengths.reduce((sum, length) => sum + length, 0);
  let at = 0; // bytes received in all
  let current = 0; // the range being filled, and how much of it is
  let inCurrent = 0;
  const finish = (i: number, length: number) => filled?.(i, buffers[i]!.subarray(0, length));
  for (let attempt = 1; at < total; attempt++) {
    try {
      for await (const chunk of await rangeBody(object, start + at, start + total)) {
        const piece = chunk as Buffer;
        for (let offset = 0; offset < piece.length && current < buffers.length; ) {
          const copied = piece.copy(buffers[current]!, inCurrent, offset);
          offset += copied;
          inCurrent += copied;
          at += copied;
          object.connection.counters.bytesRead += copied;
          if (inCurrent === buffers[current]!.length) {
            finish(current, inCurrent);
            current++;
            inCurrent = 0;
          }
        }
      }
      break;
    } catch (error) {
      if (!resumable(error) || attempt >= object.connection.settings.maxAttempts) throw object.connection.explain(error, 'reading', object.location);
      object.connection.counters.retries++;
      await backoff(attempt);
    }
  }
  // The object ended early: the range it ended in is short, those after it empty.
  for (let i = current; i < buffers.length; i++) {
    finish(i, i === current ? inCurrent : 0);
    buffers[i] = buffers[i]!.subarray(0, i === current ? inCurrent : 0);
  }
  return buffers;
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

/** A range the reader said it will read: fetched ahead into a buffer of its own. */
interface Planned {
  start: number;
  end: number;
  data: Promise<Buffer>;
  resolve: (bytes: Buffer) => void;
  reject: (error: unknown) => void;
  fetched: boolean;
}

export class S3File implements StoredFile {
  readonly location: string;
  private windows: Window[] = [];
  /** Where the last read ended, and how many reads in a row began there. */
  private lastEnd = -1;
  private inOrder = 0;
  private windowSize = FIRST_WINDOW;
  /** Ranges announced by `willRead`, in order; those before `consumed` were read (or passed over). */
  private planned: Planned[] = [];
  private readonly plannedAt = new Map<number, number>();
  private consumed = 0;
  private nextToFetch = 0;
  private aheadBytes = 0;

  constructor(
    private readonly object: S3Object,
    readonly size: number,
  ) {
    this.location = object.location;
  }

  willRead(ranges: readonly (readonly [number, number])[]): void {
    for (const [start, rangeEnd] of ranges) {
      const end = Math.min(this.size, rangeEnd);
      if (end <= start || this.plannedAt.has(start)) continue;
      let resolve!: (bytes: Buffer) => void;
      let reject!: (error: unknown) => void;
      const data = new Promise<Buffer>((yes, no) => ((resolve = yes), (reject = no)));
      data.catch(() => {}); // thrown by the read that needs it
      this.plannedAt.set(start, this.planned.length);
      this.planned.push({ start, end, data, resolve, reject, fetched: false });
    }
    this.fetchPlanned();
  }

  async read(position: number, length: number): Promise<Buffer> {
    const end = Math.min(this.size, position + length);
    if (end <= position) return Buffer.alloc(0);
    const planned = this.takePlanned(position, end);
    if (planned) return planned;
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
    const pending = [...this.windows.map((window) => window.data), ...this.planned.slice(this.consumed).filter((p) => p.fetched).map((p) => p.data)];
    this.windows = [];
    this.planned = [];
    this.plannedAt.clear();
    await Promise.allSettled(pending);
  }

  /** The announced range at `start`, once fetched; ranges announced before it and not read are let go. */
  private takePlanned(start: number, end: number): Promise<Buffer> | undefined {
    const index = this.plannedAt.get(start);
    if (index === undefined || index < this.consumed || this.planned[index]!.end < end) return undefined;
    for (; this.consumed <= index; this.consumed++) {
      const passed = this.planned[this.consumed]!;
      this.plannedAt.delete(passed.start);
      if (passed.fetched) this.aheadBytes -= passed.end - passed.start;
    }
    this.nextToFetch = Math.max(this.nextToFetch, index + 1);
    const planned = this.planned[index]!;
    if (!planned.fetched) this.fetchGroup([planned], false);
    this.fetchPlanned();
    return planned.data.then((bytes) => (bytes.length > end - start ? bytes.subarray(0, end - start) : bytes));
  }

  /** Keeps about `concurrency` windows of announced ranges in flight: one GET for each run of adjacent ranges, up to a window. */
  private fetchPlanned(): void {
    const limit = this.object.connection.settings.concurrency * MAX_WINDOW;
    while (this.nextToFetch < this.planned.length && this.aheadBytes < limit) {
      const group = [this.planned[this.nextToFetch++]!];
      let bytes = group[0]!.end - group[0]!.start;
      for (let next = this.planned[this.nextToFetch]; next && next.start === group.at(-1)!.end && bytes + next.end - next.start <= MAX_WINDOW; next = this.planned[this.nextToFetch]) {
        group.push(next);
        bytes += next.end - next.start;
        this.nextToFetch++;
      }
      this.fetchGroup(group, true);
    }
  }

  private fetchGroup(group: Planned[], counted: boolean): void {
    for (const planned of group) planned.fetched = true;
    if (counted) this.aheadBytes += group.at(-1)!.end - group[0]!.start;
    const lengths = group.map((planned) => planned.end - planned.start);
    getRanges(this.object, group[0]!.start, lengths, (i, bytes) => group[i]!.resolve(bytes)).catch((error: unknown) => {
      for (const planned of group) planned.reject(error);
    });
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
