/**
 * Opening the content of one file entry for the archive. A file is opened without following a
 * link and without blocking (a FIFO that appears in place of a file must never hang a backup).
 * The tar header needs the size before the content, so every opened content states its size and
 * then yields exactly that many bytes: a file that shrinks while read is padded with zeros, one that
 * grows is cut at the stated size, and both are flagged as changed during the backup.
 */
import { constants } from 'node:fs';
import type { Readable } from 'node:stream';
import { sourceReadError } from '../errors.js';
import type { ContentFileHandle, ContentFileSystem } from './file-system.js';

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

export interface OpenedContent {
  /** Bytes the archive holds for this entry. */
  size: number;
  /** Yields exactly `size` bytes. */
  chunks(): AsyncIterable<Buffer>;
  /** Once the chunks are consumed: whether the source changed while it was read. */
  changed(): boolean;
  /** Releases the file, when the chunks were not consumed to the end. */
  discard(): Promise<void>;
}

/** The file can no longer be stored as scanned: the reason goes into the manifest's skipped list. */
export interface VanishedContent {
  vanished: string;
}

const OPEN_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;
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
  readWholeUpTo: number,
  fs: ContentFileSystem,
): Promise<OpenedContent | VanishedContent> {
  switch (source.kind) {
    case 'buffer':
      return wholeContent(source.buffer);
    case 'stream':
      return streamContent(source.open(), source.size, source.onSizeMismatch);
    case 'path':
      return openPath(fs, source.path, expectedSize, readWholeUpTo);
  }
}

function wholeContent(buffer: Buffer, changed = false): OpenedContent {
  return {
    size: buffer.length,
    async *chunks() {
      if (buffer.length > 0) yield buffer;
    },
    changed: () => changed,
    discard: async () => {},
  };
}

async function openPath(fs: ContentFileSystem, path: string, expectedSize: number, readWholeUpTo: number): Promise<OpenedContent | VanishedContent> {
  if (expectedSize <= readWholeUpTo) {
    const whole = readSmallFile(fs, path, expectedSize);
    if (whole) return whole;
  }
  let handle: ContentFileHandle;
  try {
    handle = await fs.open(path, OPEN_FLAGS);
  } catch (error) {
    return vanishedOrThrow(path, error);
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) {
      await handle.close();
      return { vanished: 'is no longer a regular file' };
    }
    return fileStreamContent(path, handle, stat.size, stat.mtimeMs);
  } catch (error) {
    await handle.close().catch(() => {});
    return vanishedOrThrow(path, error);
  }
}

/**
 * Reads a small file whole, synchronously: for a cached file that costs a few microseconds of this
 * thread, where a trip through libuv's pool costs two to four times the CPU in all, CPU that the
 * compression workers need (measured in docs/BENCHMARKS.md). One read asks for one byte more than
 * expected, which tells a file that grew since the scan: that one is streamed instead (undefined).
 */
function readSmallFile(fs: ContentFileSystem, path: string, expectedSize: number): OpenedContent | VanishedContent | undefined {
  let fd: number;
  try {
    fd = fs.openSync(path, OPEN_FLAGS);
  } catch (error) {
    return vanishedOrThrow(path, error);
  }
  try {
    const buffer = Buffer.allocUnsafe(expectedSize + 1);
    let filled = 0;
    while (filled < buffer.length) {
      const bytesRead = fs.readSync(fd, buffer, filled, buffer.length - filled, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return filled <= expectedSize ? wholeContent(buffer.subarray(0, filled)) : undefined;
  } catch (error) {
    return vanishedOrThrow(path, error);
  } finally {
    fs.closeSync(fd);
  }
}

function vanishedOrThrow(path: string, error: unknown): VanishedContent {
  const reason = VANISHED_REASONS[(error as NodeJS.ErrnoException).code ?? ''];
  if (reason) return { vanished: reason };
  throw sourceReadError(path, error);
}

/** A large file read in chunks, the next read under way while the current chunk is stored. */
function fileStreamContent(path: string, handle: ContentFileHandle, size: number, mtimeMs: number): OpenedContent {
  let changed = false;
  let closed = false;
  const close = async () => {
    if (!closed) {
      closed = true;
      await handle.close();
    }
  };
  const readAt = async (position: number): Promise<Buffer> => {
    const buffer = Buffer.allocUnsafe(Math.min(STREAM_CHUNK, size - position));
    let filled = 0;
    while (filled < buffer.length) {
      const { bytesRead } = await handle.read(buffer, filled, buffer.length - filled, position + filled);
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
function streamContent(stream: Readable, size: number, onSizeMismatch?: (actualSize: number) => Error): OpenedContent {
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
async function* streamChunks(stream: Readable): AsyncGenerator<Buffer> {
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
