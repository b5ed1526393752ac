/**
 * gzip decompression as `gzip -d` does it (RFC 1952): member after member, each one's CRC-32 and
 * length checked, zero padding after the last ignored, and other bytes after it reported as
 * trailing garbage instead of failing the archive. Node's Gunzip treats trailing garbage as a
 * new, broken member and throws, dropping output it had already made: GNU tar extracts such an
 * archive whole.
 */
import * as zlib from 'node:zlib';
import { BackupError } from '../errors.js';
import { OUTPUT_CHUNK, decoded } from './decoded.js';

/** What the decompression found besides the data; filled in as it goes. */
export interface GzipEnd {
  members: number;
  /** Whether bytes that are neither a member nor zeros follow the last member (ignored, as gzip does). */
  trailingGarbage: boolean;
}

/** A damaged (`ARCHIVE_DAMAGED`) or cut-short (`ARCHIVE_TRUNCATED`) gzip stream. */
export class GzipFormatError extends BackupError {
  declare readonly code: 'ARCHIVE_DAMAGED' | 'ARCHIVE_TRUNCATED';

  constructor(zlibCode: 'Z_DATA_ERROR' | 'Z_BUF_ERROR', message: string) {
    super(zlibCode === 'Z_BUF_ERROR' ? 'ARCHIVE_TRUNCATED' : 'ARCHIVE_DAMAGED', message);
  }
}

const FLAG_HCRC = 0x02;
const FLAG_EXTRA = 0x04;
const FLAG_NAME = 0x08;
const FLAG_COMMENT = 0x10;
const FLAG_RESERVED = 0xe0;
/** Bytes handed to the inflater at a time (what it makes of them is read as it comes: see `decoded`). */
const FEED_SIZE = 64 * 1024;

/** A member's deflate data is inflated at once, on this thread, when it lies whole in this many bytes already read... */
const AT_ONCE_INPUT = 64 * 1024;
/** ...and inflates to no more than this (a bomb is left to the stream, which feeds it piece by piece). */
const AT_ONCE_OUTPUT = 1024 * 1024;

/** The decompressed bytes of a gzip stream, in order. */
export async function* gunzipMembers(source: AsyncIterable<Buffer>, end: GzipEnd = { members: 0, trailingGarbage: false }): AsyncGenerator<Buffer> {
  const input = new ByteQueue(source[Symbol.asyncIterator]());
  // Whether the last member was small: the next one is then tried at once (members of one stream
  // tend to be alike: split pieces, bgzip blocks, appended logs), where a stream per member cost
  // a trip to the thread pool and ~50 µs (100,000 empty members: 16 s, where gzip -t takes 0.4 s).
  let smallMembers = true;
  try {
    for (;;) {
      if (end.members > 0) {
        const next = await input.peek(2);
        if (next.length === 0) return;
        if (next.length < 2 || next[0] !== 0x1f || next[1] !== 0x8b) {
          end.trailingGarbage = await input.hasNonZeroTail();
          return;
        }
      }
      await skipMemberHeader(input);
      let crc: number;
      let size: number;
      const atOnce = smallMembers ? inflateAtOnce(input.buffered(AT_ONCE_INPUT)) : undefined;
      if (atOnce) {
        input.skip(atOnce.compressed);
        crc = zlib.crc32(atOnce.data);
        size = atOnce.data.length;
        if (size > 0) yield atOnce.data;
      } else {
        let compressed: number;
        ({ crc, size, compressed } = yield* inflateMember(input));
        smallMembers = compressed <= AT_ONCE_INPUT / 2;
      }
      const trailer = await input.take(8);
      if (trailer.length < 8) throw new GzipFormatError('Z_BUF_ERROR', 'unexpected end of file');
      if (trailer.readUInt32LE(0) !== crc) throw new GzipFormatError('Z_DATA_ERROR', 'CRC-32 mismatch: the data is damaged');
      if (trailer.readUInt32LE(4) !== size) throw new GzipFormatError('Z_DATA_ERROR', 'length mismatch: the data is damaged');
      end.members++;
    }
  } finally {
    await input.close();
  }
}

/** Reads a member's header (RFC 1952 §2.3), leaving the input at its deflate data. */
async function skipMemberHeader(input: ByteQueue): Promise<void> {
  const fixed = await input.take(10);
  if (fixed.length < 10) throw new GzipFormatError('Z_BUF_ERROR', 'unexpected end of file');
  if (fixed[0] !== 0x1f || fixed[1] !== 0x8b) throw new GzipFormatError('Z_DATA_ERROR', 'incorrect header check');
  if (fixed[2] !== 8) throw new GzipFormatError('Z_DATA_ERROR', 'unknown compression method');
  const flags = fixed[3]!;
  if (flags & FLAG_RESERVED) throw new GzipFormatError('Z_DATA_ERROR', 'reserved gzip header flags are set');
  if (flags & FLAG_EXTRA) {
    const length = await input.take(2);
    if (length.length < 2 || (await input.take(length.readUInt16LE(0))).length < length.readUInt16LE(0)) {
      throw new GzipFormatError('Z_BUF_ERROR', 'unexpected end of file');
    }
  }
  if (flags & FLAG_NAME) await input.skipPast(0);
  if (flags & FLAG_COMMENT) await input.skipPast(0);
  if (flags & FLAG_HCRC && (await input.take(2)).length < 2) throw new GzipFormatError('Z_BUF_ERROR', 'unexpected end of file');
}

/**
 * A member whose deflate data ends within `bytes`, inflated: its content and how many bytes its
 * deflate data took; undefined when it goes on past them, inflates to more than AT_ONCE_OUTPUT,
 * or is damaged (the stream then reads it, and reports the damage as it does).
 */
function inflateAtOnce(bytes: Buffer): { data: Buffer; compressed: number } | undefined {
  if (bytes.length === 0) return undefined;
  try {
    // With `info`, the engine tells how much input the deflate data took: it stops at its end.
    const { buffer, engine } = zlib.inflateRawSync(bytes, { info: true, maxOutputLength: AT_ONCE_OUTPUT }) as unknown as { buffer: Buffer; engine: zlib.InflateRaw };
    return { data: buffer, compressed: engine.bytesWritten };
  } catch {
    return undefined;
  }
}

/** One member's deflate data, inflated; the bytes after it stay in the input. */
async function* inflateMember(input: ByteQueue): AsyncGenerator<Buffer, { crc: number; size: number; compressed: number }> {
  const inflate = zlib.createInflateRaw({ chunkSize: OUTPUT_CHUNK });
  let crc = 0;
  let size = 0;
  let fed = 0;
  const counted = async function* (output: AsyncGenerator<Buffer>, zlibCode: 'Z_DATA_ERROR' | 'Z_BUF_ERROR') {
    try {
      for await (const chunk of output) {
        crc = zlib.crc32(chunk, crc);
        size = (size + chunk.length) >>> 0;
        yield chunk;
      }
    } catch (error) {
      throw new GzipFormatError(zlibCode, (error as Error).message);
    }
  };
  try {
    for (;;) {
      const chunk = await input.takeUpTo(FEED_SIZE);
      if (chunk === undefined) {
        // The input ended: the deflate data must end here too, or the file was cut short.
        yield* counted(decoded(inflate, undefined), 'Z_BUF_ERROR');
        return { crc, size, compressed: inflate.bytesWritten };
      }
      yield* counted(decoded(inflate, chunk), 'Z_DATA_ERROR');
      fed += chunk.length;
      if (inflate.bytesWritten < fed) {
        // The deflate data ended inside this chunk: the rest is the trailer and what follows.
        input.unshift(chunk.subarray(chunk.length - (fed - inflate.bytesWritten)));
        return { crc, size, compressed: inflate.bytesWritten };
      }
    }
  } finally {
    inflate.destroy();
  }
}

/** Bytes pulled from an async iterator on demand, with look-ahead and put-back. */
class ByteQueue {
  private chunks: Buffer[] = [];
  private length = 0;
  private done = false;

  constructor(private readonly iterator: AsyncIterator<Buffer>) {}

  private async fill(wanted: number): Promise<void> {
    while (this.length < wanted && !this.done) {
      const next = await this.iterator.next();
      if (next.done) this.done = true;
      else if (next.value.length > 0) {
        this.chunks.push(next.value);
        this.length += next.value.length;
      }
    }
  }

  async peek(count: number): Promise<Buffer> {
    await this.fill(count);
    // Joined only when the first chunk is too short: copying the whole queue on every look made a
    // stream of many small members (split, bgzip, appended logs) quadratic in the chunk size.
    const first = this.chunks[0];
    if (first !== undefined && first.length >= count) return first.subarray(0, count);
    const joined = Buffer.concat(this.chunks);
    this.chunks = joined.length > 0 ? [joined] : [];
    return joined.subarray(0, count);
  }

  /** Exactly `count` bytes, or fewer where the input ends. */
  async take(count: number): Promise<Buffer> {
    const head = await this.peek(count);
    this.consume(head.length);
    return head;
  }

  /** The next bytes as they come, at most `limit`; undefined at the end of the input. */
  async takeUpTo(limit: number): Promise<Buffer | undefined> {
    await this.fill(1);
    const first = this.chunks[0];
    if (first === undefined) return undefined;
    const part = first.subarray(0, limit);
    this.consume(part.length);
    return part;
  }

  /** The bytes read already, up to `limit`, without reading more or taking them. */
  buffered(limit: number): Buffer {
    const first = this.chunks[0];
    if (first === undefined) return Buffer.alloc(0);
    if (first.length >= limit || this.chunks.length === 1) return first.subarray(0, limit);
    const joined = Buffer.concat(this.chunks);
    this.chunks = [joined];
    return joined.subarray(0, limit);
  }

  /** Takes `count` bytes read already (as `buffered` gave them). */
  skip(count: number): void {
    this.consume(count);
  }

  async skipPast(byte: number): Promise<void> {
    for (;;) {
      await this.fill(1);
      const first = this.chunks[0];
      if (first === undefined) throw new GzipFormatError('Z_BUF_ERROR', 'unexpected end of file');
      const at = first.indexOf(byte);
      this.consume(at === -1 ? first.length : at + 1);
      if (at !== -1) return;
    }
  }

  unshift(bytes: Buffer): void {
    if (bytes.length === 0) return;
    this.chunks.unshift(bytes);
    this.length += bytes.length;
  }

  /** Whether anything but zeros (padding) is left; reads up to the first byte that is not. */
  async hasNonZeroTail(): Promise<boolean> {
    for (;;) {
      await this.fill(1);
      const first = this.chunks[0];
      if (first === undefined) return false;
      if (first.some((byte) => byte !== 0)) return true;
      this.consume(first.length);
    }
  }

  async close(): Promise<void> {
    this.chunks = [];
    if (!this.done) await this.iterator.return?.();
  }

  private consume(count: number): void {
    this.length -= count;
    while (count > 0) {
      const first = this.chunks[0]!;
      if (first.length <= count) {
        this.chunks.shift();
        count -= first.length;
      } else {
        this.chunks[0] = first.subarray(count);
        count = 0;
      }
    }
  }
}
