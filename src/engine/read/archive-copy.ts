/**
 * Whether an archive whose size is not the one its manifest recorded is still a copy of it that
 * the readers take: its tar stream stored decompressed, recompressed by another tool, or followed
 * by zero padding. A new backup may be built on such an archive (its files can be restored); one
 * cut short or overwritten cannot.
 */
import type { ManifestFooter, ManifestHeader } from '../../format/manifest.js';
import { isAllZeros } from '../../format/tar-entry-stream.js';
import type { StoredFile } from '../../store/backup-store.js';
import { isDecompressedCopy } from './decompressed-copy.js';
import { isRecompressedCopy } from './recompressed-copy.js';

export type ArchiveCopyKind = 'decompressed' | 'recompressed' | 'zero-padded';

/** Bytes read at a time to tell zero padding. */
const PIECE = 1 << 20;

export async function archiveCopyKind(file: StoredFile, header: ManifestHeader, footer: ManifestFooter): Promise<ArchiveCopyKind | undefined> {
  const recorded = footer.archiveFile.size;
  if (file.size === recorded) return undefined;
  if (await isDecompressedCopy(file, header, footer)) return 'decompressed';
  if (file.size > recorded && (await zerosFrom(file, recorded))) return 'zero-padded';
  if (await isRecompressedCopy(file, header, footer, file.location).catch(() => false)) return 'recompressed';
  return undefined;
}

/** Whether the file holds only zeros from `position` on. */
async function zerosFrom(file: StoredFile, position: number): Promise<boolean> {
  for (let at = position; at < file.size; ) {
    const piece = await file.read(at, Math.min(PIECE, file.size - at));
    if (piece.length === 0) break;
    if (!isAllZeros(piece)) return false;
    at += piece.length;
  }
  return true;
}

/** What a backup built on such an archive says of it. */
export function archiveCopyNote(archivePath: string, kind: ArchiveCopyKind): string {
  const how = { decompressed: 'stored without its compression', recompressed: 'recompressed by another tool', 'zero-padded': 'followed by zero padding' }[kind];
  return `${archivePath}, an archive of the chain, is ${how}: its files are read from it as they are (verify says what it cannot check there)`;
}
