/**
 * Opening the content of one file entry for the archive. A file is opened without following a
 * link and without blocking (a FIFO that appears in place of a file must never hang a backup).
 * The tar header needs the size before the content, so every opened content states its size and
 * then yields exactly that many bytes: a file that shrinks while read is padded with zeros, one that
 * grows is cut at the stated size, and both are flagged as changed during the backup.
 */
import { waitOutRacyWindow, waitOutRacyWindowSync } from './racy-window.js';
import type { Readable } from 'node:stream';
import { sourceReadError } from '../../errors.js';
import { CONTENT_OPEN_FLAGS, type ContentFileHandle, type ContentFileSystem } from '../file-system.js';
import { NO_RETRIES, retryAsync, retrySync, type RetryPolicy } from './retry.js';

/** Where a file entry's bytes come from. */
export type ContentSource =
  | { kind: 'path'; path: string }
  | { kind: 'buffer'; buffer: Buffer }
  | {
      kind: 'stream';
      open: () => Readable;
      size: number;
      /** When set, a stream of another length is this error rather than a change flagged in the manifest. */
      onSizeMismatch?: (actualSize: number) => Error;
    };

interface ContentBase {
  /** Bytes the archive holds for this entry. */
  size: number;
  /** Once the content is consumed: whether the source changed while it was read. */
  changed(): boolean;
  /** Releases the file, when the content was not consumed to the end. */
  discard(): Promise<void>;
}

/** Content that arrives as chunks: large files, vinyl buffers and streams. Yields exactly `size` bytes. */
export interface ChunkedContent extends ContentBase {
  chunks(): AsyncIterable<Buffer>;
}

/**
 * A small file read synchronously straight into the archive's block buffer: no allocation and no
 * copy per file. `readInto` returns 0 at the end of the file; `finish` checks that the file did not
 * grow and closes it.
 */
export interface DirectContent extends ContentBase {
  readInto(target: Buffer): number;
  finish(): void;
}

export type OpenedContent = ChunkedContent | DirectContent;

/** The file is not stored: the reason goes into the manifest's skipped list. */
export interface SkippedContent {
  skipped: string;
}

/** How to meet read errors: transient ones are retried; the rest fail the backup or skip the file. */
export interface ReadPolicy {
  retry: RetryPolicy;
  onFileError: 'fail' | 'skip';
}

export const STRICT_READS: ReadPolicy = { retry: NO_RETRIES, onFileError: 'fail' };

const STREAM_CHUNK = 1024 * 1024;

/** System errors that mean the file moved or changed type since the scan, rather than a fault. */
const VANISHED_REASONS: Record<string, string> = {
  ENOENT: 'vanished after the scan',
  ELOOP: 'became a symlink after the scan',
  EISDIR: 'became a directory after the scan',
  ENOTDIR: 'a parent folder changed after the scan',
};

export async function openContent(
  source: ContentSource,
  expectedSize: number,
  smallFileLimit: number,
  fs: ContentFileSystem,
  policy: ReadPolicy = STRICT_READS,
): Promise<OpenedContent | SkippedContent> {
  switch (source.kind) {
    case 'buffer':
      return wholeContent(source.buffer);
    case 'stream':
      return streamContent(source.open(), source.size, source.onSizeMismatch);
    case 'path':
      return openPath(fs, policy, source.path, expectedSize, smallFileLimit);
  }
}

/** Content already in memory: a vinyl buffer, or a file read ahead (flagged when it changed as it was read). */
export function wholeContent(buffer: Buffer, changed = false): ChunkedContent {
  return {
    size: buffer.length,
    async *chunks() {
      if (buffer.length > 0) yield buffer;
    },
    changed: () => changed,
    discard: async () => {},
  };
}

async function openPath(
  fs: ContentFileSystem,
  policy: ReadPolicy,
  path: string,
  expectedSize: number,
  smallFileLimit: number,
): Promise<OpenedContent | SkippedContent> {
  if (expectedSize <= smallFileLimit) return openSmallFile(fs, policy, path);
  let handle: ContentFileHandle;
  try {
    handle = await retryAsync(policy.retry, () => fs.open(path, CONTENT_OPEN_FLAGS));
  } catch (error) {
    return skipOrThrow(path, error, policy);
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) {
      await handle.close();
      return { skipped: 'is no longer a regular file' };
    }
    await waitOutRacyWindow(stat.mtimeMs);
    return fileStreamContent(path, handle, stat.size, stat.mtimeMs, policy.retry);
  } catch (error) {
    await handle.close().catch(() => {});
    return skipOrThrow(path, error, policy);
  }
}

/**
 * Opens a small file for synchronous reads: for a cached file, `openSync`/`readSync`/`closeSync`
 * cost a few microseconds of this thread, where a trip through libuv's pool costs two to four times
 * the CPU in all, CPU that the compression workers need (docs/DESIGN-DECISIONS.md). The size in the
 * tar header is the one at open; a file that then shrinks is padded, one that grows is cut, and a
 * size or time that moved while it was read flags it (the writer may then read it again).
 */
function openSmallFile(fs: ContentFileSystem, policy: ReadPolicy, path: string): DirectContent | SkippedContent {
  let fd: number;
  try {
    fd = retrySync(policy.retry, () => fs.openSync(path, CONTENT_OPEN_FLAGS));
  } catch (error) {
    return skipOrThrow(path, error, policy);
  }
  let position = 0;
  let changed = false;
  let open = true;
  const close = () => {
    if (open) {
      open = false;
      fs.closeSync(fd);
    }
  };
  // Something else may have taken the file's place since the scan: a FIFO opens (without
  // blocking) but would not read; a folder opens too. The size is taken now, not from the scan.
  const opened = fs.fstatSync(fd);
  if (!opened.isFile()) {
    close();
    return { skipped: 'is no longer a regular file' };
  }
  const size = opened.size;
  waitOutRacyWindowSync(opened.mtimeMs);
  const read = (target: Buffer, at: number): number => {
    try {
      return retrySync(policy.retry, () => fs.readSync(fd, target, 0, target.length, at));
    } catch (error) {
      close();
      throw sourceReadError(path, error);
    }
  };
  return {
    size,
    readInto(target) {
      const wanted = Math.min(target.length, size - position);
      if (wanted === 0) return 0;
      const bytesRead = read(wanted === target.length ? target : target.subarray(0, wanted), position);
      if (bytesRead === 0) changed = true; // shrank since the scan
      position += bytesRead;
      return bytesRead;
    },
    finish() {
      // A size or time that moved while the file was read means a writer was at work.
      const after = fs.fstatSync(fd);
      if (after.size !== opened.size || after.mtimeMs !== opened.mtimeMs) changed = true;
      close();
    },
    changed: () => changed,
    discard: async () => close(),
  };
}

/**
 * A file that moved or changed type since the scan is skipped; one that cannot be opened is
 * skipped with `onFileError: 'skip'` and fails the backup otherwise. (An error in the middle of a
 * file always fails it: its header is already in the archive.)
 */
function skipOrThrow(path: string, error: unknown, policy: ReadPolicy): SkippedContent {
  const code = (error as NodeJS.ErrnoException).code ?? '';
  const reason = VANISHED_REASONS[code];
  if (reason) return { skipped: reason };
  if (policy.onFileError === 'skip') return { skipped: `could not be read (${code || (error as Error).message})` };
  throw sourceReadError(path, error);
}

/** A large file read in chunks, the next read under way while the current chunk is stored. */
function fileStreamContent(path: string, handle: ContentFileHandle, size: number, mtimeMs: number, retry: RetryPolicy): ChunkedContent {
  let changed = false;
  let closed = false;
  const close = async () => {
    if (!closed) {
      closed = true;
      await handle.close();
    }
  };
  // Two buffers, read into in turn: the next chunk is read while the last one is stored, and a
  // chunk is stored (copied into the block and into the hasher's slot) before the generator
  // resumes, so a buffer is read into again only once its bytes are kept elsewhere. A new buffer
  // per chunk left every byte read to the garbage collector (peak RSS: docs/BENCHMARKS.md).
  const buffers: Buffer[] = [];
  let turn = 0;
  const readAt = async (position: number): Promise<Buffer> => {
    const whole = (buffers[turn] ??= Buffer.allocUnsafe(Math.min(STREAM_CHUNK, size)));
    turn ^= 1;
    const buffer = whole.subarray(0, Math.min(STREAM_CHUNK, size - position));
    let filled = 0;
    while (filled < buffer.length) {
      const { bytesRead } = await retryAsync(retry, () => handle.read(buffer, filled, buffer.length - filled, position + filled));
      if (bytesRead === 0) {
        changed = true; // shrank while read: pad with zeros
        buffer.fill(0, filled);
        break;
      }
      filled += bytesRead;
    }
    return buffer;
  };
  return {
    size,
    async *chunks() {
      try {
        let position = 0;
        let next = size > 0 ? readAt(0) : undefined;
        while (next) {
          const chunk = await next.catch((error: unknown) => {
            throw sourceReadError(path, error);
          });
          position += chunk.length;
          next = position < size ? readAt(position) : undefined;
          next?.catch(() => {});
          yield chunk;
        }
        const after = await handle.stat();
        if (after.size !== size || after.mtimeMs !== mtimeMs) changed = true;
      } finally {
        await close();
      }
    },
    changed: () => changed,
    discard: close,
  };
}

/** A stream of known expected length (a vinyl file's contents), cut or padded to that length. */
function streamContent(stream: Readable, size: number, onSizeMismatch?: (actualSize: number) => Error): ChunkedContent {
  let changed = false;
  return {
    size,
    async *chunks() {
      let remaining = size;
      let total = 0;
      for await (const chunk of streamChunks(stream)) {
        total += chunk.length;
        if (onSizeMismatch && total > size) throw onSizeMismatch(total);
        if (chunk.length > remaining) changed = true;
        if (remaining > 0) yield chunk.length > remaining ? chunk.subarray(0, remaining) : chunk;
        remaining -= Math.min(remaining, chunk.length);
      }
      if (remaining > 0) {
        if (onSizeMismatch) throw onSizeMismatch(total);
        changed = true;
        yield Buffer.alloc(remaining);
      }
    },
    changed: () => changed,
    discard: async () => {
      stream.destroy();
    },
  };
}

/**
 * Iterates a stream through its 'data' events, pausing while each chunk is stored. Not `for await`:
 * the streamx streams that gulp.src gives with `encoding: false` never settle that way (vinyl-fs 4).
 */
export async function* streamChunks(stream: Readable): AsyncGenerator<Buffer> {
  const queue: Buffer[] = [];
  let ended = false;
  let failure: unknown;
  let wake: (() => void) | undefined;
  const onData = (data: Buffer | string) => {
    queue.push(Buffer.isBuffer(data) ? data : Buffer.from(data));
    stream.pause();
    wake?.();
  };
  const onEnd = () => {
    ended = true;
    wake?.();
  };
  const onError = (error: unknown) => {
    failure = error;
    wake?.();
  };
  stream.on('data', onData).once('end', onEnd).once('error', onError);
  try {
    while (true) {
      const chunk = queue.shift();
      if (chunk) {
        if (queue.length === 0 && !ended) stream.resume();
        yield chunk;
      } else if (failure !== undefined) {
        throw failure;
      } else if (ended) {
        return;
      } else {
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
    }
  } finally {
    stream.off('data', onData).off('end', onEnd).off('error', onError);
  }
}
