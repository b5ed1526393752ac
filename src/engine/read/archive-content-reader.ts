/**
 * The file contents that one archive of a chain holds for a restore: only the blocks the chosen
 * files span are read and inflated (ahead, in parallel on the shared pool), in archive order.
 * Restoring a point of a chain opens one of these per archive it needs, so each file is read once,
 * from the archive that holds it, while the others inflate alongside.
 */
import { codecNamed, readableCodec } from '../../format/codecs/codecs.js';
import type { ManifestEntry } from '../../format/manifest.js';
import { ArchiveReader, type ReadBlock } from './archive-reader.js';
import { freeNow } from '../free-now.js';
import type { ContentHolder } from '../chain/backup-chain.js';
import type { BlockCodecPool, BlockRange } from '../block-codec-pool.js';
import { notFound } from '../chain/locate-backup.js';
import { RestoreRefusal } from './restore-writer.js';
import { SourceError } from '../../errors.js';
import type { StoredFile } from '../../store/backup-store.js';
import { nameOf as basename } from '../../store/location.js';
import { malformedEntry } from './malformed-entry.js';
import { isDecompressedCopy } from './decompressed-copy.js';
import { refuseLfsPointer } from '../../format/lfs-pointer.js';
import { isRecompressedCopy, recompressedBlocks } from './recompressed-copy.js';
import { noneCodec } from '../../format/codecs/none-codec.js';
import type { Stores } from '../../store/stores.js';

export class ArchiveContentReader {
  /** Blocks this archive has, and those the chosen files need. */
  readonly blocksTotal: number;
  readonly blocksNeeded: number;
  private blocks: AsyncGenerator<ReadBlock> | undefined;
  private current: ReadBlock | undefined;
  private file: StoredFile | undefined;
  /** Whether the archive is its tar stream stored decompressed (decompressed-copy.ts). */
  decompressed = false;
  /** Whether another tool recompressed the archive (recompressed-copy.ts): read as one stream. */
  recompressed = false;

  private constructor(
    private readonly holder: ContentHolder,
    private readonly only: number[],
    /** Files whose SHA-256 the worker that inflates their block takes: the block, and the file's place among its ranges. */
    private hashedInBlock: ReadonlyMap<ManifestEntry, readonly [block: number, range: number]>,
  ) {
    this.blocksTotal = holder.footer.blocks.count;
    this.blocksNeeded = only.length;
  }

  /**
   * Opens `holder`'s archive to read the content of `entries` (its files, in archive order).
   * `hashInBlockUpTo`: files up to this size, whole in one block, are hashed by its worker (when
   * the codec decompresses fast; see `BlockCodec.decompressesFast`).
   */
  static async open(
    holder: ContentHolder,
    entries: readonly ManifestEntry[],
    pool: BlockCodecPool,
    maxInFlight: number,
    signal: AbortSignal | undefined,
    stores: Stores,
    hashInBlockUpTo = 0,
  ): Promise<ArchiveContentReader> {
    const { footer, header } = holder;
    const { blockSize, count } = footer.blocks;
    const needed = new Set<number>();
    // Small files that lie whole in one block, to be hashed by the worker that inflates it.
    const byBlock = new Map<number, BlockRange[]>();
    const hashedInBlock = new Map<ManifestEntry, readonly [number, number]>();
    for (const entry of entries) {
      // A malformed record is refused when its turn comes; one that points past the tar stream
      // too (by its read): neither adds blocks, and no count of blocks outgrows the archive's.
      if (entry.type !== 'file' || entry.size === 0 || malformedEntry(entry) !== undefined) continue;
      const first = Math.floor(entry.dataOffset! / blockSize);
      if (first >= count) continue;
      const last = Math.min(count - 1, Math.floor((entry.dataOffset! + entry.size - 1) / blockSize));
      for (let i = first; i <= last; i++) needed.add(i);
      if (first !== last || !(entry.size <= hashInBlockUpTo) || typeof entry.hashes?.sha256 !== 'string') continue;
      const ranges = byBlock.get(first) ?? byBlock.set(first, []).get(first)!;
      hashedInBlock.set(entry, [first, ranges.length]);
      ranges.push([entry.dataOffset! - first * blockSize, entry.size]);
    }
    if (needed.size === 0) return new ArchiveContentReader(holder, [], new Map());
    const recorded = readableCodec(codecNamed(header.options.codec, holder.manifestPath ?? holder.archivePath), holder.archivePath);
    const { store, name } = stores.file(holder.archivePath);
    const file = await store.open(name).catch((error: unknown) => {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw notFound(holder.archivePath, error);
      // An archive of the chain, not one the user named: what to do is to put it back.
      const whose = holder.manifestPath ? `the archive that ${basename(holder.manifestPath)} names` : 'the archive';
      throw new SourceError('SOURCE_NOT_FOUND', `${holder.archivePath}, ${whose}, is missing: put it back beside its manifest to restore the files it holds.`, {
        path: holder.archivePath,
        cause: error,
      });
    });
    let decompressed: boolean;
    let recompressed: boolean;
    try {
      await refuseLfsPointer(file, holder.archivePath);
      decompressed = await isDecompressedCopy(file, header, footer);
      recompressed = !decompressed && (await isRecompressedCopy(file, header, footer, holder.archivePath));
    } catch (error) {
      await file.close();
      throw error;
    }
    const codec = decompressed ? noneCodec : recorded;
    // Only where the workers have time to spare (gzip keeps them the busier side).
    const inWorker = codec.decompressesFast;
    const content = new ArchiveContentReader(holder, [...needed].sort((a, b) => a - b), inWorker ? hashedInBlock : new Map());
    content.file = file;
    content.decompressed = decompressed;
    content.recompressed = recompressed;
    if (recompressed) {
      // One stream, in order, cut into the manifest's blocks: the file handle is not needed.
      content.hashedInBlock = new Map();
      content.blocks = recompressedBlocks(holder.archivePath, { stores, blockSize, tarBytes: footer.totals.tarBytes, only: content.only, signal });
      return content;
    }
    const index = { blockSize, offsets: footer.blocks.offsets, tarBytes: footer.totals.tarBytes };
    // Each file is proven by its own SHA-256; the archive's, over every byte, is verify's to check.
    const reader = new ArchiveReader(file, pool, codec, index, false);
    content.blocks = reader.blocks({ maxInFlight, only: content.only, signal, ...(inWorker ? { hashRanges: { byBlock, algorithms: ['sha256'] } } : {}) });
    return content;
  }

  /**
   * Hands `entry`'s content to `write`, block by block; a damaged block refuses the file. Resolves
   * to the content's SHA-256 when the worker took it (a file up to `hashInBlockUpTo` bytes, whole
   * in one block), else to undefined. The bytes given to `write` are views of a block, freed once
   * the reader moves past it (its memory is the inflating worker's, see free-now.ts): a view that
   * must live longer is copied, but a file's last one stays valid until another file is read.
   */
  async read(entry: ManifestEntry, write: (bytes: Buffer) => Promise<void>): Promise<string | undefined> {
    const hashed = this.hashedInBlock.get(entry);
    const end = entry.dataOffset! + entry.size;
    let digest: string | undefined;
    for (let position = entry.dataOffset!; position < end; ) {
      const block = await this.blockAt(Math.floor(position / this.holder.footer.blocks.blockSize));
      if (!block.data) throw new RestoreRefusal(`it is in damaged block ${block.index} of ${basename(this.holder.archivePath)} (${block.error})`);
      // A hostile or mistaken manifest may point past the tar stream: refuse rather than loop.
      if (position - block.tarOffset >= block.data.length) {
        throw new RestoreRefusal(`its manifest record points past the end of ${basename(this.holder.archivePath)}'s tar stream`);
      }
      const to = Math.min(block.data.length, end - block.tarOffset);
      await write(block.data.subarray(position - block.tarOffset, to));
      position = block.tarOffset + to;
      if (hashed && block.index === hashed[0]) digest = block.digests?.[hashed[1]]?.[0];
    }
    return digest;
  }

  async close(): Promise<void> {
    await this.blocks?.return(undefined);
    await this.file?.close();
  }

  private async blockAt(i: number): Promise<ReadBlock> {
    while (!this.current || this.current.index < i) {
      const next = await this.blocks?.next();
      if (!next || next.done) throw new RestoreRefusal(`block ${i} is missing from ${basename(this.holder.archivePath)}`);
      if (this.current?.exclusive && this.current.data) freeNow(this.current.data.buffer);
      this.current = next.value;
    }
    if (this.current.index !== i) throw new RestoreRefusal(`block ${i} of ${basename(this.holder.archivePath)} was not read (its manifest offsets are out of order)`);
    return this.current;
  }
}
