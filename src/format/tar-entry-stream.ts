/**
 * `readTarEntries`: a tar stream (chunks of bytes) as an async iterable of entries, each with its
 * content as an async iterable, as tar-stream's extractor is. Pull-based: nothing is read ahead of
 * the consumer, content that the consumer does not read is skipped, and breaking out of the loop
 * ends the source (its `return()` runs, so a file or gunzip behind it is closed).
 *
 * Like GNU tar, the stream ends at the first zero block; bytes after it are not read.
 */
import { BackupError } from '../errors.js';
import { decodeHeaderBlock, decodeSparseExtension } from './tar-header-block.js';
import { MAX_META_BYTES, TarEntryHeaderResolver, isMetaHeader, pairs, type TarEntryInfo } from './tar-entry-header.js';
import { TAR_BLOCK_SIZE, tarPadding } from './tar-header.js';

export interface TarEntry extends TarEntryInfo {
  /** Offset in the tar stream of the entry's first header block (meta headers included). */
  offset: number;
  /** Offset of its content. */
  dataOffset: number;
  /** The content: `size` bytes (for a sparse file, its stored regions in order). Read at most once. */
  content(): AsyncIterable<Buffer>;
}

export type TarErrorCode = 'TAR_DAMAGED' | 'TAR_TRUNCATED';

/** The tar stream is not a valid tar stream at `offset` (a `BackupError`, as every error the API throws). */
export class TarFormatError extends BackupError {
  declare readonly code: TarErrorCode;

  constructor(
    code: TarErrorCode,
    message: string,
    readonly offset: number,
  ) {
    super(code, message);
  }
}

export interface TarStreamEnd {
  /** Whether the stream ended with a zero block, as tar writes it; false when the bytes simply ran out. */
  endMarker: boolean;
  /** Tar bytes read, up to and including the end marker. */
  bytes: number;
  /** Bytes read past the end marker with it (the rest of its chunk), for a caller that reads on. */
  rest?: Buffer;
}

/** Whether bytes past a tar end marker are padding (zeros), not more archive (tars joined with `cat`). */
export function isAllZeros(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) if (bytes[i] !== 0) return false;
  return true;
}

/** Reads exact byte counts from an async iterable of chunks. */
class ByteSource {
  position = 0;
  private chunk: Buffer = Buffer.alloc(0);
  private ended = false;

  constructor(private readonly iterator: AsyncIterator<Uint8Array>) {}

  /** Up to `max` bytes (fewer only at the end of the stream), without copying when it can. */
  async next(max: number): Promise<Buffer> {
    if (this.chunk.length === 0 && !(await this.fill())) return Buffer.alloc(0);
    const out = this.chunk.subarray(0, max);
    this.chunk = this.chunk.subarray(out.length);
    this.position += out.length;
    return out;
  }

  /** Exactly `length` bytes, or fewer at the end of the stream. */
  async read(length: number): Promise<Buffer> {
    const first = await this.next(length);
    if (first.length === length || first.length === 0) return first;
    const parts = [first];
    let have = first.length;
    while (have < length) {
      const part = await this.next(length - have);
      if (part.length === 0) break;
      parts.push(part);
      have += part.length;
    }
    return Buffer.concat(parts);
  }

  /** What was read from the stream and not yet taken. */
  remainder(): Buffer {
    return this.chunk;
  }

  async skip(length: number): Promise<number> {
    let skipped = 0;
    while (skipped < length) {
      const part = await this.next(length - skipped);
      if (part.length === 0) break;
      skipped += part.length;
    }
    return skipped;
  }

  private async fill(): Promise<boolean> {
    while (!this.ended) {
      const result = await this.iterator.next();
      if (result.done) {
        this.ended = true;
        return false;
      }
      if (result.value.length > 0) {
        this.chunk = Buffer.isBuffer(result.value) ? result.value : Buffer.from(result.value.buffer, result.value.byteOffset, result.value.length);
        return true;
      }
    }
    return false;
  }

  async close(): Promise<void> {
    await this.iterator.return?.();
  }
}

/**
 * The entries of a tar stream. `end`, when given, is filled in once the stream is done. Throws a
 * `TarFormatError` where the stream is damaged or cut short; entries before that were yielded.
 */
export async function* readTarEntries(source: AsyncIterable<Uint8Array>, end?: TarStreamEnd): AsyncGenerator<TarEntry> {
  const bytes = new ByteSource(source[Symbol.asyncIterator]());
  const resolver = new TarEntryHeaderResolver();
  try {
    let entryStart = 0;
    for (;;) {
      const headerAt = bytes.position;
      const raw = await bytes.read(TAR_BLOCK_SIZE);
      if (raw.length === 0) break; // no end marker: GNU tar accepts this without a word
      if (raw.length < TAR_BLOCK_SIZE) throw new TarFormatError('TAR_TRUNCATED', `the tar stream is cut short inside a header at byte ${headerAt}`, headerAt);
      const block = decodeHeaderBlock(raw);
      if ('zero' in block) {
        if (end) {
          end.endMarker = true;
          end.rest = bytes.remainder();
        }
        break;
      }
      if ('invalid' in block) throw new TarFormatError('TAR_DAMAGED', `damaged tar header at byte ${headerAt} (${block.invalid})`, headerAt);
      if (isMetaHeader(block)) {
        if (block.size > MAX_META_BYTES) {
          throw new TarFormatError('TAR_DAMAGED', `an extended header of ${block.size} bytes at byte ${headerAt}: refused (over ${MAX_META_BYTES})`, headerAt);
        }
        const body = await bytes.read(block.size);
        if (body.length < block.size) throw truncated(bytes.position);
        resolver.meta(block, Buffer.from(body));
        await bytes.skip(tarPadding(block.size));
        continue;
      }
      const info = resolver.entry(block);
      if (block.gnuSparse?.extended) {
        // Old GNU sparse: more of the map in extension blocks after the header.
        for (let extended = true; extended; ) {
          const extension = await bytes.read(TAR_BLOCK_SIZE);
          if (extension.length < TAR_BLOCK_SIZE) throw truncated(bytes.position);
          const decoded = decodeSparseExtension(extension);
          info.sparse!.map.push(...decoded.map);
          extended = decoded.extended;
        }
      }
      let size = info.size;
      if (info.sparse?.mapInContent) {
        // PAX sparse 1.0: decimal numbers, one per line, padded to a block, before the data.
        const mapBytes = await readSparseMap(bytes, info.sparse, headerAt);
        size -= mapBytes;
        info.size = size;
      }
      const dataOffset = bytes.position;
      let consumed = 0;
      let taken = false;
      const entry: TarEntry = {
        ...info,
        offset: entryStart,
        dataOffset,
        content: () => {
          if (taken) throw new Error(`the content of ${info.path} was already read`);
          taken = true;
          return (async function* () {
            while (consumed < size) {
              const part = await bytes.next(size - consumed);
              if (part.length === 0) throw truncated(bytes.position);
              consumed += part.length;
              yield part;
            }
          })();
        },
      };
      yield entry;
      if (consumed < size && (await bytes.skip(size - consumed)) < size - consumed) throw truncated(bytes.position);
      consumed = size;
      const unused = info.unusedBytes ?? 0;
      if (unused > 0 && (await bytes.skip(unused)) < unused) throw truncated(bytes.position);
      // Missing padding at the very end of a stream is tolerated, as GNU tar does.
      await bytes.skip(tarPadding(size + unused));
      entryStart = bytes.position;
      if (end) end.bytes = bytes.position;
    }
    if (end) end.bytes = bytes.position;
  } finally {
    await bytes.close();
  }
}

function truncated(at: number): TarFormatError {
  return new TarFormatError('TAR_TRUNCATED', `the tar stream is cut short at byte ${at}`, at);
}


async function readSparseMap(bytes: ByteSource, sparse: NonNullable<TarEntryInfo['sparse']>, headerAt: number): Promise<number> {
  let text = '';
  let read = 0;
  const numbers: number[] = [];
  let count: number | undefined;
  while (count === undefined || numbers.length < 2 * count) {
    const block = await bytes.read(TAR_BLOCK_SIZE);
    if (block.length < TAR_BLOCK_SIZE) throw truncated(bytes.position);
    read += TAR_BLOCK_SIZE;
    text += block.toString('latin1');
    const lines = text.split('\n');
    text = lines.pop()!;
    for (const line of lines) {
      const value = Number(line);
      if (!/^\d+$/.test(line) || !Number.isSafeInteger(value)) {
        throw new TarFormatError('TAR_DAMAGED', `damaged sparse map after the header at byte ${headerAt}`, headerAt);
      }
      if (count === undefined) count = value;
      else numbers.push(value);
      if (count !== undefined && numbers.length === 2 * count) break;
    }
    if (read > MAX_META_BYTES) throw new TarFormatError('TAR_DAMAGED', `sparse map after the header at byte ${headerAt} is too large`, headerAt);
  }
  sparse.map = pairs(numbers);
  return read;
}
