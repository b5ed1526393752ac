/**
 * Which kinds of files take the space, from a manifest alone. Each block's compressed length is
 * shared among the files whose bytes it holds, in proportion to those bytes: the compressed size
 * of a file is estimated without inflating anything.
 */
import { extname } from 'node:path';
import type { Manifest, ManifestEntry } from '../../format/manifest.js';
import { malformedEntry } from '../read/malformed-entry.js';

export interface ExtensionStatistics {
  /** `.js`, `.png`…; `(none)` for names without one. */
  extension: string;
  files: number;
  bytes: number;
  /** Estimated share of the archive. */
  compressedBytes: number;
  /** compressedBytes / bytes. */
  ratio: number;
}

export function extensionStatistics(manifest: Manifest, top = 10): ExtensionStatistics[] {
  return estimateByExtension(manifest.entries, manifest.footer.blocks, manifest.footer.totals.tarBytes, top);
}

/** The same from entries and a block index, as a backup has them before its manifest is written. */
export function estimateByExtension(
  entries: Iterable<ManifestEntry>,
  blocks: { blockSize: number; offsets: readonly number[]; count: number },
  tarBytes: number,
  top: number,
): ExtensionStatistics[] {
  const tally = new ExtensionTally(blocks.blockSize);
  for (const entry of entries) tally.add(entry);
  return tally.estimate(blocks, tarBytes, top);
}

/**
 * Counts, record by record, the bytes each extension puts in each block; the block index (known
 * once the archive is written) turns them into compressed bytes.
 */
export class ExtensionTally {
  private readonly byExtension = new Map<string, { files: number; bytes: number; perBlock: Map<number, number> }>();

  constructor(private readonly blockSize: number) {}

  add(entry: ManifestEntry): void {
    if (entry.type !== 'file' || entry.heldBy !== undefined) return; // held content is in another archive
    if (malformedEntry(entry) !== undefined) return; // an edited manifest's: restore refuses it, so it takes no room
    const extension = extname(entry.path).toLowerCase() || '(none)';
    let stats = this.byExtension.get(extension);
    if (!stats) this.byExtension.set(extension, (stats = { files: 0, bytes: 0, perBlock: new Map() }));
    stats.files++;
    stats.bytes += entry.size;
    const end = entry.dataOffset! + entry.size;
    for (let position = entry.dataOffset!; position < end; ) {
      const block = Math.floor(position / this.blockSize);
      const next = Math.min(end, (block + 1) * this.blockSize);
      stats.perBlock.set(block, (stats.perBlock.get(block) ?? 0) + (next - position));
      position = next;
    }
  }

  estimate(blocks: { offsets: readonly number[]; count: number }, tarBytes: number, top: number): ExtensionStatistics[] {
    const { offsets, count } = blocks;
    const compressedPerByte = (block: number) => {
      const raw = Math.min(this.blockSize, tarBytes - block * this.blockSize);
      return raw > 0 ? (offsets[block + 1]! - offsets[block]!) / raw : 0;
    };
    return [...this.byExtension]
      .map(([extension, { files, bytes, perBlock }]) => {
        let compressedBytes = 0;
        // Bytes past the archive's blocks (a record that says more than the archive holds) take no room.
        for (const [block, raw] of perBlock) if (block < count) compressedBytes += raw * compressedPerByte(block);
        return { extension, files, bytes, compressedBytes: Math.round(compressedBytes), ratio: bytes ? Math.round((compressedBytes / bytes) * 1000) / 1000 : 0 };
      })
      .sort((a, b) => b.compressedBytes - a.compressedBytes || (a.extension < b.extension ? -1 : 1))
      .slice(0, top);
  }
}
