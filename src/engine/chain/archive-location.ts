/**
 * Where a backup's archive lies: beside its manifest, under the name the manifest records, or under
 * the manifest's own name when the backup's files were renamed together (`backup-20261201-….*` →
 * `predeploy.*`, `aws s3 mv`). A name is a hint, not an identity: the archive's size and SHA-256
 * in the manifest's footer are, and every reader proves them.
 */
import type { ManifestFooter, ManifestHeader } from '../../format/manifest.js';
import { joinLocation, nameOf, parentLocation } from '../../store/location.js';
import type { Stores } from '../../store/stores.js';

const MANIFEST_SUFFIX = '.manifest.jsonl';
/** The suffixes one archive may carry, by the one it was written with (`.tgz` is `.tar.gz`). */
export const ARCHIVE_SUFFIXES: readonly (readonly string[])[] = [['.tar.gz', '.tgz'], ['.tar.zst'], ['.tar']];

/**
 * The archive of the backup whose manifest is `manifestPath`: the recorded name while the manifest
 * has the name it was written with; else the manifest's own name with the recorded suffix, when a
 * file of the recorded size (or of its tar stream's, kept decompressed) has it (a renamed or copied backup: a copy's archive is its own, so
 * that pruning the copy never removes the original's); else the recorded name. `listed`, the
 * folder's names when the caller holds them, saves asking the store about names that are not there.
 */
export async function archiveLocation(
  manifestPath: string,
  header: Pick<ManifestHeader, 'archive'>,
  footer: Pick<ManifestFooter, 'archiveFile' | 'totals'>,
  stores: Stores,
  listed?: ReadonlySet<string>,
): Promise<string> {
  const folder = parentLocation(manifestPath);
  const recorded = nameOf(header.archive);
  const base = nameOf(manifestPath).slice(0, -MANIFEST_SUFFIX.length);
  const suffixes = ARCHIVE_SUFFIXES.find((names) => names.some((suffix) => recorded.endsWith(suffix))) ?? [];
  const candidates = suffixes.map((suffix) => base + suffix);
  // Not renamed (every backup but a renamed one): nothing to ask the store.
  if (!nameOf(manifestPath).endsWith(MANIFEST_SUFFIX) || base === '' || candidates.length === 0 || candidates.includes(recorded)) return joinLocation(folder, recorded);
  const store = stores.folder(folder);
  for (const candidate of candidates) {
    if (listed && !listed.has(candidate)) continue;
    // The recorded size, or its tar stream's: an archive kept decompressed (read/decompressed-copy.ts).
    const size = (await store.stat(candidate))?.size;
    if (size === footer.archiveFile.size || size === footer.totals.tarBytes) return joinLocation(folder, candidate);
  }
  return joinLocation(folder, recorded);
}
