/** Reading back what a backup wrote, for assertions. */
import { createReadStream } from 'node:fs';
import { readdir, writeFile } from 'node:fs/promises';
import { encodeManifest, readManifest, type Manifest, type ManifestEntry } from '../../src/format/manifest.js';

export async function loadManifest(path: string): Promise<Manifest> {
  return readManifest(createReadStream(path));
}

/** Names in a folder, sorted: to check that nothing else was left there. */
export async function listFolder(path: string): Promise<string[]> {
  return (await readdir(path).catch(() => [] as string[])).sort();
}

/**
 * Rewrites one entry of a manifest in place as an attacker who knows the format would: the
 * footer's digest is computed again, so that the defences behind it are what the test meets.
 */
export async function editManifestEntry(path: string, entryPath: string, edit: (entry: ManifestEntry) => object): Promise<void> {
  const manifest = await loadManifest(path);
  const entries = manifest.entries.map((entry) => (entry.path === entryPath ? (edit(entry) as ManifestEntry) : entry));
  const stored = entries.filter((entry) => entry.type === 'file' && entry.heldBy === undefined);
  const totals = { ...manifest.footer.totals, contentBytes: stored.reduce((sum, entry) => sum + entry.size, 0) };
  for (const type of ['file', 'directory', 'symlink', 'hardlink'] as const) {
    totals[`${type === 'directory' ? 'directorie' : type}s`] = entries.filter((entry) => entry.type === type).length;
  }
  await writeFile(path, [...encodeManifest(manifest.header, entries, { ...manifest.footer, totals })].join(''));
}
