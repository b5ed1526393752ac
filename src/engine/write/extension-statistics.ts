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
  entries: readonly ManifestEntry[],
  blocks: { blockSize: number; offsets: readonly number[]; count: number },
  tarBytes: number,
  top: number,
): ExtensionStatistics[] {
  const { blockSize, offsets, count } = blocks;
  const compressedPerByte = (block: number) => {
    const raw = Math.min(blockSize, tarBytes - block * blockSize);
    return raw > 0 ? (offsets[block + 1]! - offsets[block]!) / raw : 0;
  };
  const byExtension = new Map<string, ExtensionStatistics>();
  for (const entry of entries) {
    if (entry.type !== 'file' || entry.heldBy !== undefined) continue; // held content is in another archive
    if (malformedEntry(entry) !== undefined) continue; // an edited manifest's: restore refuses it, so it takes no room
    const extension = extname(entry.path).toLowerCase() || '(none)';
    const stats = byExtension.get(extension) ?? { extension, files: 0, bytes: 0, compressedBytes: 0, ratio: 0 };
    stats.files++;
    stats.bytes += entry.size;
    const end = entry.dataOffset! + entry.size;
    for (let position = entry.dataOffset!; position < end; ) {
      const block = Math.floor(position / blockSize);
      if (block >= count) break; // past the archive's blocks (a record that says more than the archive holds)
      const next = Math.min(end, (block + 1) * blockSize);
      stats.compressedBytes += (next - position) * compressedPerByte(block);
      position = next;
    }
    byExtension.set(extension, stats);
  }
  return [...byExtension.values()]
    .map((stats) => ({ ...stats, compressedBytes: Math.round(stats.compressedBytes), ratio: stats.bytes ? Math.round((stats.compressedBytes / stats.bytes) * 1000) / 1000 : 0 }))
    .sort((a, b) => b.compressedBytes - a.compressedBytes || (a.extension < b.extension ? -1 : 1))
    .slice(0, top);
}
