/**
 * Reads an archive's blocks in order, decompresses them in parallel on the codec pool and hands
 * back each block's tar bytes (or why it is damaged) in order. The whole file is hashed on the way.
 *
 * With the manifest's block index, block i is exactly `[offsets[i], offsets[i + 1])`, whatever its
 * frame says: a damaged block spoils itself alone and the reader goes on with the next. Without an
 * index, the codec finds the blocks (gzip hops from member header to member header; zstd reads its
 * seek table); damage there may end the walk.
 */
import { createHash } from 'node:crypto';
import { isAllZeros } from '../../format/tar-entry-stream.js';
import { implausibleBlock, type BlockCodec, type BlockSizes, type LocatedBlock } from '../../format/codecs/block-codec.js';
import type { BlockCodecPool, BlockRange, DecompressedBlock } from '../block-codec-pool.js';
import type { StoredFile } from '../../store/backup-store.js';

export interface BlockIndex {
  blockSize: number;
  /** Archive offsets of the members, then of the end marker. */
  offsets: number[];
  /** Length of the whole tar stream. */
  tarBytes: number;
}

export interface ReadBlock {
  index: number;
  /** Offset of the block's first byte in the tar stream. */
  tarOffset: number;
  /** Bytes the block should inflate to. */
  rawLength: number;
  archiveOffset: number;
  data?: Buffer;
  /** Whether `data` is the only view of its memory (a worker's result): the reader may free it once done with it. */
  exclusive?: true;
  /** Digests of the ranges `ReadOptions.hashRanges` gave for this block, in that order (one per algorithm). */
  digests?: string[][];
  /** Why the block could not be read; `data` is then undefined. */
  error?: string;
}

export interface ArchiveEnd {
  /** SHA-256 of every byte of the file, in order (undefined when the walk stopped early). */
  sha256: string | undefined;
  fileSize: number;
  /** What is wrong with the end of the file: missing end marker (truncated), trailing bytes… */
  problems: string[];
  /**
   * Zero bytes after the end marker (a tape's or `dd conv=sync`'s padding, which gzip and GNU tar
   * pass over), and the SHA-256 of the file up to them: the archive as it was written.
   */
  zeroPadding?: { bytes: number; sha256Before: string | undefined };
}

export interface ReadOptions {
  /** Content to hash in the worker that decompresses each block: ranges by block index, and the algorithms. */
  hashRanges?: { byBlock: ReadonlyMap<number, readonly BlockRange[]>; algorithms: readonly string[] };
  /** Read only these blocks (ascending; needs the block index): random access for restore. */
  only?: readonly number[];
  /** Members inflating at once, bounding memory. */
  maxInFlight: number;
  signal?: AbortSignal;
  /** Called with every byte count read, for progress. */
  onRead?: (bytes: number) => void;
}

export class ArchiveReader {
  private readonly hash = createHash('sha256');
  private hashedUpTo = 0;
  readonly end: ArchiveEnd;

  private readonly sizes: BlockSizes[] = [];
  private readonly fileSize: number;

  constructor(
    private readonly file: StoredFile,
    private readonly pool: BlockCodecPool,
    private readonly codec: BlockCodec,
    private readonly index: BlockIndex | undefined,
    /** Whether to hash the whole file as it is read (verify); restore proves each file instead. */
    private readonly hashFile = true,
  ) {
    this.fileSize = file.size;
    this.end = { sha256: undefined, fileSize: file.size, problems: [] };
  }

  /** Yields every block in order (or those of `only`); `end` is filled in once the generator is done. */
  async *blocks(options: ReadOptions): AsyncGenerator<ReadBlock> {
    if (!this.codec.compresses) {
      yield* this.plainBlocks(this.index?.blockSize ?? DEFAULT_PLAIN_BLOCK, this.index?.tarBytes, options);
      return;
    }
    const pending: Array<Promise<ReadBlock>> = [];
    let counted = 0;
    // One block to read: inflated here, where this thread would wait for a worker to start.
    const alone = (options.only?.length ?? (this.index ? this.index.offsets.length - 1 : 0)) === 1;
    for await (const member of this.located(options.only)) {
      options.signal?.throwIfAborted();
      options.onRead?.(member.length);
      counted += member.length;
      const result = this.inflate(member, options.hashRanges, alone);
      result.catch(() => {});
      pending.push(result);
      while (pending.length >= options.maxInFlight) yield await pending.shift()!;
    }
    // The end marker (or seek table) was read too: the whole file is counted, so progress ends at its size.
    if (!options.only && this.fileSize > counted) options.onRead?.(this.fileSize - counted);
    while (pending.length > 0) yield await pending.shift()!;
  }

  private async inflate(block: LocatedBlock, hashRanges: ReadOptions['hashRanges'], here: boolean): Promise<ReadBlock> {
    const base = { index: block.index, tarOffset: block.tarOffset, rawLength: block.rawLength, archiveOffset: block.archiveOffset };
    if (block.error !== undefined) return { ...base, error: block.error };
    const ranges = hashRanges?.byBlock.get(block.index) ?? [];
    const algorithms = ranges.length > 0 ? hashRanges!.algorithms : [];
    const result: DecompressedBlock = await this.pool.decompress(this.codec, block.bytes!.buffer as ArrayBuffer, block.length, block.rawLength, ranges, algorithms, here);
    return result.data ? { ...base, data: result.data, exclusive: true, digests: result.digests } : { ...base, error: `${this.codec.name} block at byte ${block.archiveOffset}: ${result.error}` };
  }

  /** Reads (and hashes) the file from `position` to its end, a piece at a time: whether it holds only zeros. */
  private async readRest(position: number): Promise<boolean> {
    let zeros = true;
    for (let at = position; at < this.fileSize; ) {
      const piece = await this.readAt(at, Math.min(REST_PIECE, this.fileSize - at));
      if (piece.length === 0) break;
      zeros &&= isAllZeros(piece);
      at += piece.length;
    }
    return zeros;
  }

  /** Reads `length` bytes at `position` into a buffer of its own (transferable), hashing in file order. */
  private async readAt(position: number, length: number): Promise<Buffer> {
    const read = await this.file.read(position, length);
    if (this.hashFile && position === this.hashedUpTo) {
      this.hash.update(read);
      this.hashedUpTo += read.length;
    }
    return read;
  }

  /** A plain `.tar` (codec none): blocks are read as they are, and the file is the tar stream. */
  private async *plainBlocks(blockSize: number, tarBytes: number | undefined, { only, onRead, signal }: ReadOptions): AsyncGenerator<ReadBlock> {
    const count = Math.ceil(this.fileSize / blockSize);
    for (const i of only ?? Array.from({ length: count }, (_, n) => n)) {
      signal?.throwIfAborted();
      const position = i * blockSize;
      const data = await this.readAt(position, Math.max(0, Math.min(blockSize, this.fileSize - position)));
      onRead?.(data.length);
      yield { index: i, tarOffset: position, rawLength: data.length, archiveOffset: position, data };
    }
    if (only) return;
    if (tarBytes !== undefined && this.fileSize < tarBytes) this.end.problems.push(`the archive was cut short at byte ${this.fileSize}`);
    if (tarBytes !== undefined && this.fileSize > tarBytes) this.end.problems.push(`${this.fileSize - tarBytes} unexpected bytes after the tar stream`);
    this.end.sha256 = this.hash.digest('hex');
  }

  private async *located(only: readonly number[] | undefined): AsyncGenerator<LocatedBlock> {
    if (this.index) {
      yield* this.indexedBlocks(this.index, only);
      return;
    }
    if (only) throw new Error('reading chosen blocks needs the block index');
    const bytes = { size: this.fileSize, read: (position: number, length: number) => this.readAt(position, length) };
    const walk = this.codec.walk(bytes, this.end.problems);
    for (let next = await walk.next(); ; next = await walk.next()) {
      if (next.done) {
        if (next.value !== undefined) await this.checkEndMarker(next.value);
        return;
      }
      this.sizes.push({ stored: next.value.length, raw: next.value.rawLength });
      yield next.value;
    }
  }

  private async *indexedBlocks(index: BlockIndex, only: readonly number[] | undefined): AsyncGenerator<LocatedBlock> {
    const count = index.offsets.length - 1;
    const chosen = (only ?? Array.from({ length: count }, (_, n) => n)).map((i) => {
      const archiveOffset = index.offsets[i]!;
      const length = index.offsets[i + 1]! - archiveOffset;
      const tarOffset = i * index.blockSize;
      const rawLength = Math.min(index.blockSize, index.tarBytes - tarOffset);
      // A hostile or damaged index must not make us read gigabytes into memory.
      const implausible = length < 0 || rawLength < 0 ? 'its offsets are out of order' : implausibleBlock(length, rawLength);
      return { index: i, archiveOffset, length, tarOffset, rawLength, implausible };
    });
    // A remote store fetches the blocks ahead, several at once, each into a buffer of its own.
    this.file.willRead?.(chosen.filter((block) => !block.implausible && block.archiveOffset < this.fileSize).map((block) => [block.archiveOffset, block.archiveOffset + block.length] as const));
    for (const { implausible, ...base } of chosen) {
      const { archiveOffset, length, rawLength } = base;
      this.sizes.push({ stored: length, raw: rawLength });
      if (archiveOffset >= this.fileSize) {
        yield { ...base, error: `missing: the archive ends at byte ${this.fileSize}, before this block (truncated)` };
        continue;
      }
      if (implausible) {
        yield { ...base, error: `the manifest's block index is damaged: ${implausible}` };
        continue;
      }
      const bytes = await this.readAt(archiveOffset, length);
      const problem = bytes.length < length ? undefined : this.codec.frameProblem(bytes, rawLength);
      if (bytes.length < length) yield { ...base, error: `cut short at byte ${this.fileSize} (truncated archive)` };
      else if (problem !== undefined) yield { ...base, error: `${problem} at byte ${archiveOffset}` };
      else yield { ...base, bytes };
    }
    if (!only) await this.checkEndMarker(index.offsets[count]!);
  }

  /** The end marker must follow the last block, as the codec writes it for the blocks read. */
  private async checkEndMarker(position: number): Promise<void> {
    const marker = this.codec.endMarker(this.sizes);
    const found = await this.readAt(position, Math.min(marker.length, Math.max(0, this.fileSize - position)));
    if (found.length < marker.length || !found.equals(marker)) {
      this.end.problems.push(found.length < marker.length ? `no end marker: the archive was cut short at byte ${this.fileSize}` : `damaged end marker at byte ${position}`);
      await this.readRest(position + found.length);
    } else if (this.fileSize > position + marker.length) {
      const sha256Before = this.hashedUpTo === position + marker.length && this.hashFile ? this.hash.copy().digest('hex') : undefined;
      const extra = this.fileSize - position - marker.length;
      if (await this.readRest(position + marker.length)) this.end.zeroPadding = { bytes: extra, sha256Before };
      else this.end.problems.push(`${extra} unexpected bytes after the end marker`);
    }
    if (this.hashedUpTo === this.fileSize) this.end.sha256 = this.hash.digest('hex');
  }
}

/** What follows the end marker is read in pieces of this size. */
const REST_PIECE = 1 << 20;

/** Without an index, a plain tar is read in blocks of this size. */
const DEFAULT_PLAIN_BLOCK = 1 << 20;
