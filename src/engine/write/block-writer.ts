/**
 * Cuts the tar stream into fixed-size blocks, compresses them in parallel and writes the members in
 * order. Backpressure lives in one place, `push`: it waits when `maxInFlight` blocks are queued.
 */
import { createHash } from 'node:crypto';
import type { BlockCodec, BlockSizes } from '../../format/codecs/block-codec.js';
import { codecFunctionsHere, type BlockCodecPool, type BlockRange } from '../block-codec-pool.js';
import { freeNow } from '../free-now.js';

/** Where archive bytes go: a file (engine) or a stream (gulp plugin). */
export interface ArchiveSink {
  write(buffers: Buffer[]): Promise<void>;
  /**
   * True when the sink is done with the buffers once `write` resolves (it wrote or copied them,
   * as the stores do; a stream that hands them on is not): each compressed block is then freed
   * as soon as it is written.
   */
  readonly doneWithBuffersOnWrite?: boolean;
}

/** Zero bytes for tar padding, shared (never written to). */
const TAR_PADDING_ZEROS = Buffer.alloc(512);

/** Up to this many bytes, an archive of a single block is compressed on the main thread. */
const SINGLE_BLOCK_HERE = 512 * 1024;

/** A block ready to be written: its framed parts, its raw length, and what to do once it is written. */
interface BlockToWrite {
  parts: Buffer[];
  raw: number;
  written?: () => void;
}

export interface BlockWriterResult {
  /** Archive offset of every block, then of the end marker (the archive's end for codec none). */
  offsets: number[];
  tarBytes: number;
  archiveBytes: number;
  archiveSha256: string;
}

export class BlockWriter {
  private block: Buffer;
  private filled = 0;
  private tarBytes = 0;
  private archiveBytes = 0;
  private readonly offsets: number[] = [];
  /** Each written block's stored and raw sizes, for end markers that list them (zstd's seek table). */
  private readonly sizes: BlockSizes[] = [];
  private readonly pending: Promise<BlockToWrite>[] = [];
  private readonly spare: ArrayBuffer[] = [];
  private readonly archiveHash = createHash('sha256');
  private readonly maxInFlight: number;
  /** Blocks cut so far: a mark can be rolled back to only while this has not moved. */
  private cuts = 0;
  /** Content in the block being filled that its compression worker hashes, and who waits for the digests. */
  private ranges: { offset: number; length: number; resolve: (digests: string[]) => void }[] = [];

  constructor(
    private readonly sink: ArchiveSink,
    private readonly codec: BlockCodec,
    private readonly level: number,
    private readonly blockSize: number,
    private readonly pool: BlockCodecPool | undefined,
    /** Blocks compressing or waiting to be written, at most: bounds the memory. */
    maxInFlight: number,
    /** The hashes `hashInWorker` computes. */
    private readonly algorithms: readonly string[] = [],
  ) {
    if (codec.compresses && !pool) throw new Error(`${codec.name} blocks need a compression pool`);
    this.maxInFlight = maxInFlight;
    this.block = this.newBlock();
  }

  /** Tar bytes written so far: the offset the next byte will have in the tar stream. */
  get position(): number {
    return this.tarBytes;
  }

  /** Where the stream is now, to come back to with `rollback`. */
  mark(): { position: number; cuts: number } {
    return { position: this.tarBytes, cuts: this.cuts };
  }

  /**
   * Forgets everything written since `mark`, when it is all still in the block being filled (no
   * block was cut since). Returns false, changing nothing, when it is too late.
   */
  rollback(mark: { position: number; cuts: number }): boolean {
    if (mark.cuts !== this.cuts) return false;
    this.filled -= this.tarBytes - mark.position;
    this.tarBytes = mark.position;
    // Content pushed since the mark is gone, and its digests with it (nobody waits for them).
    this.ranges = this.ranges.filter((range) => range.offset < this.filled);
    return true;
  }

  /**
   * For content of `length` bytes about to be pushed here: when it will lie whole in the block
   * being filled, the worker that compresses the block hashes it too, off this thread, and this
   * resolves to its digests (one per algorithm). Undefined when the caller must hash it itself.
   */
  hashInWorker(length: number): Promise<string[]> | undefined {
    if (!this.pool || length === 0 || this.filled + length > this.blockSize || this.algorithms.length === 0) return undefined;
    return new Promise((resolve) => this.ranges.push({ offset: this.filled, length, resolve }));
  }

  /** Appends tar bytes; resolves once they are queued (waiting while too many blocks are in flight). */
  async push(data: Uint8Array): Promise<void> {
    let from = 0;
    while (from < data.length) {
      const count = Math.min(data.length - from, this.blockSize - this.filled);
      this.block.set(data.subarray(from, from + count), this.filled);
      this.filled += count;
      this.tarBytes += count;
      from += count;
      if (this.filled === this.blockSize) await this.cut();
    }
  }

  /**
   * Lets `produce` write up to `length` bytes straight into the block buffer, a block at a time;
   * `produce` returns how many bytes it wrote, 0 when it has no more. Returns the total written.
   */
  async pushFrom(length: number, produce: (target: Buffer) => number): Promise<number> {
    let written = 0;
    while (written < length) {
      const room = Math.min(length - written, this.blockSize - this.filled);
      const count = produce(this.block.subarray(this.filled, this.filled + room));
      if (count === 0) break;
      this.filled += count;
      this.tarBytes += count;
      written += count;
      if (this.filled === this.blockSize) await this.cut();
    }
    return written;
  }

  /** Appends `count` zero bytes (tar padding: under a tar block, the common case, without allocating). */
  async pushZeros(count: number): Promise<void> {
    if (count > 0) await this.push(count <= TAR_PADDING_ZEROS.length ? TAR_PADDING_ZEROS.subarray(0, count) : Buffer.alloc(count));
  }

  /** Flushes the last partial block, writes the end marker and returns the block index. */
  async finish(): Promise<BlockWriterResult> {
    if (this.codec.compresses && this.cuts === 0 && this.filled > 0 && this.filled <= SINGLE_BLOCK_HERE) {
      // The whole archive is one small block: compressed here, no worker started.
      const bytes = this.block.subarray(0, this.filled);
      const { output, check } = codecFunctionsHere(this.codec).compress(bytes, this.level);
      for (const range of this.ranges.splice(0)) {
        const content = bytes.subarray(range.offset, range.offset + range.length);
        range.resolve(this.algorithms.map((algorithm) => createHash(algorithm).update(content).digest('hex')));
      }
      this.cuts++;
      this.filled = 0;
      await this.writeBlock({ parts: this.codec.frame(output, bytes.length, check), raw: bytes.length });
    }
    if (this.filled > 0) await this.cut();
    while (this.pending.length > 0) await this.writeBlock(await this.pending.shift()!);
    this.offsets.push(this.archiveBytes);
    const marker = this.codec.endMarker(this.sizes);
    if (marker.length > 0) await this.write([marker]);
    return {
      offsets: this.offsets,
      tarBytes: this.tarBytes,
      archiveBytes: this.archiveBytes,
      archiveSha256: this.archiveHash.digest('hex'),
    };
  }

  private newBlock(): Buffer {
    // An ArrayBuffer of its own (not pooled), so that it can be transferred to a worker.
    return Buffer.from(this.spare.pop() ?? new ArrayBuffer(this.blockSize));
  }

  private async cut(): Promise<void> {
    this.cuts++;
    const block = this.block;
    const length = this.filled;
    this.filled = 0;
    if (!this.codec.compresses) {
      this.pending.push(Promise.resolve({ parts: [block.subarray(0, length)], raw: length }));
      this.block = Buffer.from(new ArrayBuffer(this.blockSize));
    } else {
      const ranges = this.ranges;
      this.ranges = [];
      const spans: BlockRange[] = ranges.map((range) => [range.offset, range.length]);
      const framed = this.pool!.compress(this.codec, this.level, block.buffer as ArrayBuffer, length, spans, this.algorithms).then(({ output, check, digests, block: returned }) => {
        this.spare.push(returned);
        ranges.forEach((range, i) => range.resolve(digests[i]!));
        // The output's ArrayBuffer came from the worker, transferred: no other view of it exists.
        return { parts: this.codec.frame(output, length, check), raw: length, ...(this.sink.doneWithBuffersOnWrite ? { written: () => freeNow(output.buffer) } : {}) };
      });
      // Awaited in order by writeBlock; this keeps a failure of a later block from going unhandled.
      framed.catch(() => {});
      this.pending.push(framed);
      this.block = this.newBlock();
    }
    while (this.pending.length >= this.maxInFlight) await this.writeBlock(await this.pending.shift()!);
  }

  private async writeBlock({ parts, raw, written }: BlockToWrite): Promise<void> {
    const offset = this.archiveBytes;
    this.offsets.push(offset);
    await this.write(parts);
    written?.();
    this.sizes.push({ stored: this.archiveBytes - offset, raw });
  }

  private async write(parts: Buffer[]): Promise<void> {
    for (const part of parts) {
      this.archiveHash.update(part);
      this.archiveBytes += part.length;
    }
    await this.sink.write(parts);
  }
}
