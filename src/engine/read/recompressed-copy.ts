/**
 * A backup's archive recompressed by another tool: `gunzip -c | gzip -9` or pigz to save room,
 * zopfli, `zstd -d | zstd -19`. The tar stream inside is the one the manifest describes, byte for
 * byte, so every file can still be proven by its size and digest; what is lost is our block
 * framing: the blocks cannot be found, read in parallel or at random, and the archive's own
 * SHA-256 (and `sha256sum -c`) are of the file we wrote. GNU tar reads such a file as it read ours;
 * we called every block damaged and restored nothing. It is read as one stream now, in order, and
 * cut into blocks of the manifest's block size, so that readers find each file at its tar offset.
 */
import { codecNamed } from '../../format/codecs/codecs.js';
import type { ManifestFooter, ManifestHeader } from '../../format/manifest.js';
import { codecFunctionsHere } from '../block-codec-pool.js';
import type { Stores } from '../../store/stores.js';
import { COMPRESSION_HEAD_BYTES, compressionOf, isDecompressionError, tarBytesOf } from './archive-format.js';
import type { ReadBlock } from './archive-reader.js';
import { MAX_STORED_BLOCK_SIZE } from '../../format/codecs/block-codec.js';

interface Readable {
  readonly size: number;
  read(position: number, length: number): Promise<Buffer>;
}

/**
 * Whether `file` is the archive of `header`/`footer` recompressed: the manifest says gzip or zstd,
 * the file is not the size it recorded, it is a gzip or zstd stream but not in our blocked layout
 * (another backup's archive is read as ours, and found not to match), and its first block, where
 * the manifest puts it, does not decompress (in an archive of ours that was cut short or grew, and
 * so lost its zstd seek table, it does). A file compressed in a way we cannot read (xz, bzip2) is
 * refused as such, not damaged.
 */
export async function isRecompressedCopy(file: Readable, header: ManifestHeader, footer: ManifestFooter, path: string): Promise<boolean> {
  const { offsets } = footer.blocks;
  if (header.options.codec === 'none' || file.size === footer.archiveFile.size || offsets.length < 2 || file.size === 0) return false;
  const compression = compressionOf(await file.read(0, COMPRESSION_HEAD_BYTES), path); // throws for xz, bzip2…
  if (compression === 'none') return false;
  const stored = offsets[1]! - offsets[0]!;
  if (!(stored > 0 && stored <= MAX_STORED_BLOCK_SIZE)) return false;
  const rawLength = Math.min(footer.blocks.blockSize, footer.totals.tarBytes);
  try {
    const codec = codecNamed(header.options.codec, path);
    if (codec.unavailable() !== undefined) return false; // the reader says what it needs
    if (await codec.recognizes(file)) return false; // an archive of ours, if not this one: read as ours
    const first = await file.read(0, stored);
    if (codec.frameProblem(first, rawLength) !== undefined) return true;
    return codecFunctionsHere(codec).decompress(first, rawLength).length !== rawLength;
  } catch {
    return true;
  }
}

/** What verify and restore say of such an archive. */
export function recompressedCopyWarning(archivePath: string, codec: string): string {
  return (
    `${archivePath} is not the archive this backup wrote but the same tar stream recompressed by another tool (as gzip -9, pigz or zstd -19 would leave it; the manifest records ${codec} blocks): ` +
    `it was read as one stream, in order, and every file checked against the manifest, but the archive's own SHA-256 (and sha256sum -c) are of the archive written and cannot be checked`
  );
}

/**
 * The archive's tar stream, read in order and cut into blocks of `blockSize` tar bytes (block i
 * holds tar bytes [i × blockSize, …)), as the manifest's index numbers them; only the blocks in
 * `only` are yielded, in order. Where decompression fails, that block and every later one asked
 * for come with the error: nothing after it can be found.
 */
export async function* recompressedBlocks(
  path: string,
  { stores, blockSize, tarBytes, only, maxMemory, signal }: { stores: Stores; blockSize: number; tarBytes: number; only: readonly number[]; maxMemory?: number; signal?: AbortSignal | undefined },
): AsyncGenerator<ReadBlock> {
  if (only.length === 0) return;
  const { store, name } = stores.file(path);
  const { tar } = await tarBytesOf(store.stream(name), path, maxMemory === undefined ? {} : { maxMemory });
  const wanted = new Set(only);
  const last = only[only.length - 1]!;
  let index = 0;
  let block: Buffer | undefined;
  let filled = 0;
  const lengthOf = (i: number) => Math.max(0, Math.min(blockSize, tarBytes - i * blockSize));
  const start = (i: number) => {
    filled = 0;
    block = wanted.has(i) ? Buffer.allocUnsafe(lengthOf(i)) : undefined;
  };
  const made = (i: number, data: Buffer): ReadBlock => ({ index: i, tarOffset: i * blockSize, rawLength: lengthOf(i), archiveOffset: -1, data });
  try {
    start(0);
    for await (const chunk of tar as AsyncIterable<Buffer>) {
      signal?.throwIfAborted();
      for (let at = 0; at < chunk.length && index <= last; ) {
        const room = lengthOf(index) - filled;
        const take = Math.min(room, chunk.length - at);
        block?.set(chunk.subarray(at, at + take), filled);
        filled += take;
        at += take;
        if (filled === lengthOf(index)) {
          if (block) yield made(index, block);
          start(++index);
          if (lengthOf(index) === 0) break; // past the tar stream the manifest records: the end marker's padding, or more
        }
      }
      if (index > last || lengthOf(index) === 0) return;
    }
    // The stream ended before the tar stream the manifest records did: what is left is missing.
    for (const i of only) if (i >= index) yield { index: i, tarOffset: i * blockSize, rawLength: lengthOf(i), archiveOffset: -1, error: `the recompressed stream ends after ${index * blockSize + filled} of ${tarBytes} bytes of tar` };
  } catch (error) {
    if (!isDecompressionError(error)) throw error;
    const reason = `the recompressed stream is damaged after ${index * blockSize + filled} bytes of tar: ${(error as Error).message}`;
    for (const i of only) if (i >= index) yield { index: i, tarOffset: i * blockSize, rawLength: lengthOf(i), archiveOffset: -1, error: reason };
  } finally {
    tar.destroy();
  }
}
