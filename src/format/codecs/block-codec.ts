/**
 * What a compression container is to gulp-backup (docs/FORMAT.md §2): how one block is compressed
 * and framed, how a reader checks a block's frame before decompressing it, how the archive ends,
 * and how its blocks are found without the manifest's index. Adding a codec is one file of this
 * folder plus its entry in `codecs.ts`.
 */
import type { Codec } from '../manifest.js';

/** The largest block gulp-backup writes (the `blockSize` limit). */
export const MAX_BLOCK_SIZE = 64 * 1024 * 1024;
/**
 * The most bytes a compressed block can take (incompressible data grows by well under 1 MiB in
 * deflate or zstd). A block that claims more is damage or hostile, and is never read into memory.
 */
export const MAX_STORED_BLOCK_SIZE = MAX_BLOCK_SIZE + 1024 * 1024;

/** Why a block's claimed sizes cannot be those of a block we wrote, or undefined. */
export function implausibleBlock(stored: number, raw: number): string | undefined {
  if (raw > MAX_BLOCK_SIZE) return `it claims ${raw} bytes of tar, more than any block holds (${MAX_BLOCK_SIZE})`;
  if (stored > MAX_STORED_BLOCK_SIZE) return `it claims to take ${stored} bytes, more than any block can`;
  return undefined;
}

/** Random access to an archive's bytes (a file today; an object store could serve it too). */
export interface ArchiveBytes {
  readonly size: number;
  /** Up to `length` bytes at `position` (fewer at the end of the archive), in an ArrayBuffer of their own. */
  read(position: number, length: number): Promise<Buffer>;
}

/** A block located in an archive: its bytes, or why they cannot be used. */
export interface LocatedBlock {
  index: number;
  archiveOffset: number;
  /** Bytes the block takes in the archive. */
  length: number;
  /** Offset of its first byte in the tar stream. */
  tarOffset: number;
  /** Bytes it decompresses to. */
  rawLength: number;
  /** In an ArrayBuffer of its own (it is transferred to a worker). */
  bytes?: Buffer;
  error?: string;
}

/** A block's stored and decompressed sizes, as an end marker may list them. */
export interface BlockSizes {
  stored: number;
  raw: number;
}

export interface BlockCodec {
  readonly name: Codec;
  /** The archive's file-name suffix: `.tar.gz`. */
  readonly suffix: string;
  /** Whether blocks are compressed at all (`none` stores the tar stream as it is). */
  readonly compresses: boolean;
  readonly levels: { readonly min: number; readonly max: number; readonly default: number };
  /** Tar bytes per block unless the user says otherwise: large enough that the blocks cost little ratio. */
  readonly defaultBlockSize: number;
  /**
   * Whether a block decompresses several times faster than SHA-256 reads it (zstd: over 1 GB/s).
   * Restore then hashes small files in the decompressing worker, which has time to spare; with
   * gzip the workers are the busier side, and that measured 4–7% slower on two cores.
   */
  readonly decompressesFast: boolean;
  /** What the codec needs that this Node.js lacks ('Node.js 22.15 or later'), or undefined. */
  unavailable(): string | undefined;
  /**
   * The code compression workers run: a JavaScript expression, with `zlib` in scope, giving
   * `{ compress(input, level) => { output, check }, decompress(input, rawLength) => Buffer }`.
   * `decompress` checks the frame's own checksum and refuses to grow past `rawLength` bytes.
   * The main thread evaluates the same text, so both give the same bytes.
   */
  readonly workerSource: string;
  /** The bytes written for one block, from what `compress` returned for its `rawLength` bytes. */
  frame(output: Buffer, rawLength: number, check: number): Buffer[];
  /** What is wrong with a block's stored bytes, read from their header before decompressing. */
  frameProblem(bytes: Buffer, rawLength: number): string | undefined;
  /** The bytes that end an archive of these blocks. */
  endMarker(blocks: readonly BlockSizes[]): Buffer;
  /** Whether `archive` is in this codec's blocked container (judged from its head or tail). */
  recognizes(archive: ArchiveBytes): Promise<boolean>;
  /**
   * The blocks of an archive read without the manifest's index, in order; returns where the end
   * marker starts, or undefined when the walk had to stop (the reason is pushed to `problems`).
   */
  walk(archive: ArchiveBytes, problems: string[]): AsyncGenerator<LocatedBlock, number | undefined>;
}
