/** Reading back what a backup wrote, for assertions. */
import { createReadStream } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { readManifest, type Manifest } from '../../src/format/manifest.js';

export async function loadManifest(path: string): Promise<Manifest> {
  return readManifest(createReadStream(path));
}

/** Names in a folder, sorted: to check that nothing else was left there. */
export async function listFolder(path: string): Promise<string[]> {
  return (await readdir(path).catch(() => [] as string[])).sort();
}
