/** Reading back what a backup wrote, for assertions. */
import { createReadStream } from 'node:fs';
import { readdir, writeFile } from 'node:fs/promises';
import { encodeManifestRecord, readManifest, type Manifest, type ManifestEntry } from '../../src/format/manifest.js';

export async function loadManifest(path: string): Promise<Manifest> {
  return readManifest(createReadStream(path));
}

/** Names in a folder, sorted: to check that nothing else was left there. */
export async function listFolder(path: string): Promise<string[]> {
  return (await readdir(path).catch(() => [] as string[])).sort();
}

/** Rewrites one entry of a manifest in place, as an attacker (or bit rot) would. */
export async function editManifestEntry(path: string, entryPath: string, edit: (entry: ManifestEntry) => object): Promise<void> {
  const manifest = await loadManifest(path);
  const entries = manifest.entries.map((entry) => (entry.path === entryPath ? edit(entry) : entry));
  await writeFile(path, [manifest.header, ...entries, manifest.footer].map((record) => encodeManifestRecord(record as ManifestEntry)).join(''));
}
