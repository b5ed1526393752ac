/**
 * A backup's archive kept without its compression. A download that undoes `Content-Encoding:
 * gzip` (browsers, `curl --compressed`, HTTP clients behind a server that sets it for `.gz`), or a
 * `gunzip` / `zstd -d` kept under the old name, leaves exactly the tar stream the manifest
 * describes: the blocks only compress it, and block i is tar bytes `[i × blockSize, …)` either way.
 * GNU tar reads such a file without a word; it is read here as a plain tar with the manifest's
 * index, each file still proven by its size and SHA-256. What cannot be checked is the archive's
 * own SHA-256 (and `sha256sum -c`), which are of the compressed file.
 */
import type { ManifestFooter, ManifestHeader } from '../../format/manifest.js';
import { decodeHeaderBlock } from '../../format/tar-header-block.js';
import { TAR_BLOCK_SIZE } from '../../format/tar-header.js';

interface Readable {
  readonly size: number;
  read(position: number, length: number): Promise<Buffer>;
}

/**
 * Whether `file` is the archive of `header`/`footer` stored decompressed: the manifest says it is
 * compressed, yet the file is as long as its tar stream (not as the archive it recorded) and starts
 * with a valid tar header (no gzip or zstd header does).
 */
export async function isDecompressedCopy(file: Readable, header: ManifestHeader, footer: ManifestFooter): Promise<boolean> {
  if (header.options.codec === 'none' || file.size !== footer.totals.tarBytes || file.size === footer.archiveFile.size || file.size < TAR_BLOCK_SIZE) return false;
  const decoded = decodeHeaderBlock(await file.read(0, TAR_BLOCK_SIZE));
  return !('invalid' in decoded) && !('zero' in decoded);
}

/** What restore and verify say of such an archive. */
export function decompressedCopyWarning(archivePath: string, codec: string): string {
  return (
    `${archivePath} holds the backup's tar stream without its ${codec} compression (what a download that undid Content-Encoding: ${codec}, or a ${codec === 'gzip' ? 'gunzip' : 'zstd -d'} kept under the old name, leaves): ` +
    `it was read as a plain tar and every file checked against the manifest, but the archive's own SHA-256 (and sha256sum -c) are of the compressed file and cannot be checked`
  );
}
