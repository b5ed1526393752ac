/**
 * The content of a backup's files, wherever in its chain each one lies: what
 * `BackupReader.content` gives restore and the `restore()` plugin. Each archive that holds some of
 * the chosen files is opened once and read ahead (only the blocks those files span, decompressed
 * in parallel on one shared pool); an archive that cannot be reached fails only the files it holds.
 */
import type { Manifest, ManifestEntry } from '../../format/manifest.js';
import { BackupError } from '../../errors.js';
import { BlockCodecPool } from '../block-codec-pool.js';
import { groupByHolder, type ContentHolders } from '../chain/backup-chain.js';
import { ArchiveContentReader } from './archive-content-reader.js';
import { RestoreRefusal } from './restore-writer.js';
import type { Stores } from '../../store/stores.js';

/** What restore and `restore()` say of a chain one of whose links was missing or edited. */
export function brokenChainWarning(message: string): string {
  return `broken chain: ${message} Backups beyond it were looked up by id in the same folder; their files are proven by their SHA-256.`;
}

export interface ContentOptions {
  concurrency: number;
  signal?: AbortSignal | undefined;
  /** Files up to this size that lie whole in one block are hashed (SHA-256) by the worker that inflates it. */
  hashInBlockUpTo?: number;
  /** A pool the caller made (and closes), its worker perhaps started early; otherwise one of `concurrency` workers. */
  pool?: BlockCodecPool;
}

export class BackupContent {
  /** Blocks the chosen files need, and the blocks their archives hold. */
  blocksNeeded = 0;
  blocksTotal = 0;
  /** A link of the chain that is missing or edited, bridged by id (what the user should know). */
  brokenChain: string | undefined;
  /** Archives read that hold their tar stream stored decompressed: each one's path and codec. */
  readonly decompressedCopies: Array<{ archivePath: string; codec: string }> = [];
  /** Archives read that another tool recompressed: each one's path and recorded codec. */
  readonly recompressedCopies: Array<{ archivePath: string; codec: string }> = [];

  private readonly readers = new Map<string, ArchiveContentReader>();
  private readonly unavailable = new Map<string, string>();

  private constructor(
    private readonly ownId: string,
    private readonly pool: BlockCodecPool,
    private readonly ownsPool: boolean,
  ) {}

  /** Opens what reading `files` (entries of `manifest`, in archive order) needs, from the holders its chain proved. */
  static async open(
    manifest: Manifest,
    { holders, broken }: ContentHolders,
    files: readonly ManifestEntry[],
    options: ContentOptions & { stores: Stores },
  ): Promise<BackupContent> {
    const { stores } = options;
    const content = new BackupContent(manifest.header.id, options.pool ?? new BlockCodecPool(options.concurrency), options.pool === undefined);
    content.brokenChain = broken?.message;
    try {
      const byHolder = groupByHolder(
        files.filter((entry) => entry.type === 'file'),
        manifest.header.id,
      );
      if (byHolder.size === 0) byHolder.set(manifest.header.id, []); // its blocks are still counted
      // Blocks in flight, shared out between the archives read at once.
      const maxInFlight = Math.max(2, Math.ceil((2 * options.concurrency + 1) / Math.max(1, byHolder.size)));
      for (const [id, entries] of byHolder) {
        const holder = holders.get(id);
        if (!holder) {
          content.unavailable.set(id, `it is held by backup ${id}, which cannot be reached (${broken?.message ?? 'not in the chain'})`);
          continue;
        }
        try {
          const reader = await ArchiveContentReader.open(holder, entries, content.pool, maxInFlight, options.signal, stores, options.hashInBlockUpTo);
          content.readers.set(id, reader);
          if (reader.decompressed) content.decompressedCopies.push({ archivePath: holder.archivePath, codec: holder.header.options.codec });
          if (reader.recompressed) content.recompressedCopies.push({ archivePath: holder.archivePath, codec: holder.header.options.codec });
          content.blocksTotal += reader.blocksTotal;
          content.blocksNeeded += reader.blocksNeeded;
        } catch (error) {
          if (!(error instanceof BackupError) || error.code !== 'SOURCE_NOT_FOUND') throw error;
          content.unavailable.set(id, error.message);
        }
      }
    } catch (error) {
      await content.close();
      throw error;
    }
    return content;
  }

  /**
   * Hands `entry`'s content to `write`, block by block, in archive order of the files opened. A file
   * that cannot be read (its archive unreachable, its block damaged) is a `RestoreRefusal`.
   * Resolves to the content's SHA-256 when a worker took it (see `hashInBlockUpTo`). The bytes
   * given to `write` are views of a block, valid until the reader moves to the next block (copy
   * what must live longer); a file's last view stays valid until another file is read.
   */
  async read(entry: ManifestEntry, write: (bytes: Buffer) => Promise<void>): Promise<string | undefined> {
    const id = entry.heldBy ?? this.ownId;
    const reader = this.readers.get(id);
    if (!reader) throw new RestoreRefusal(this.unavailable.get(id) ?? 'refused: its manifest record is malformed (heldBy)');
    return reader.read(entry, write);
  }

  async close(): Promise<void> {
    for (const reader of this.readers.values()) await reader.close();
    if (this.ownsPool) await this.pool.close();
  }
}
