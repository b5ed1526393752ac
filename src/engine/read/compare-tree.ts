/**
 * Compares a manifest with a live tree, as `sha256sum -c` and `tar --compare` do: which entries
 * changed (type, size, mode, link target, content hash), which are missing, and which files are
 * new. The tree is scanned with the selection the backup recorded, so excluded files are not "new".
 */
import { decodeNameBytes, fsPath } from '../../format/path-bytes.js';
import { createHash } from 'node:crypto';
import { createReadStream, lstatSync, readlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Manifest, ManifestEntry } from '../../format/manifest.js';
import { archivePathOf, scanSources } from '../write/scan.js';
import { malformedEntry } from './malformed-entry.js';
import { collisionKey, safeEntryPath } from './safe-paths.js';
import { expectedDigest } from './expected-digest.js';

export interface TreeComparison {
  root: string;
  /** The folder the backup was made from (its manifest's root), when it is another one and most of it is missing here. */
  madeFrom?: string;
  changed: Array<{ path: string; reason: string }>;
  missing: string[];
  new: string[];
}

/** The file's digest, or why it cannot be read (it may vanish or change between the lstat and the read). */
async function digestOf(path: string, algorithm: string): Promise<string | { unreadable: string }> {
  const hash = createHash(algorithm);
  try {
    for await (const chunk of createReadStream(fsPath(path))) hash.update(chunk as Buffer);
  } catch (error) {
    return { unreadable: (error as NodeJS.ErrnoException).code ?? (error as Error).message };
  }
  return hash.digest('hex');
}

async function difference(entry: ManifestEntry, root: string): Promise<string | 'missing' | undefined> {
  // A manifest is untrusted: a malformed record is named, and no path leads out of the tree compared.
  const malformed = malformedEntry(entry);
  if (malformed !== undefined) return `its manifest record is malformed (${malformed})`;
  const safe = safeEntryPath(entry.path);
  if (!('path' in safe)) return `not compared: ${safe.refused}`;
  const path = join(root, safe.path);
  const stats = lstatSync(fsPath(path), { throwIfNoEntry: false });
  if (!stats) return 'missing';
  const type = stats.isDirectory() ? 'directory' : stats.isSymbolicLink() ? 'symlink' : stats.isFile() ? 'file' : 'special file';
  const expectedType = entry.type === 'hardlink' ? 'file' : entry.type;
  if (type !== expectedType) return `is a ${type}, was a ${expectedType}`;
  if (type === 'symlink') {
    const target = decodeNameBytes(readlinkSync(fsPath(path), { encoding: 'buffer' }));
    return target === entry.linkTarget ? undefined : `links to ${JSON.stringify(target)}, linked to ${JSON.stringify(entry.linkTarget)}`;
  }
  if ((stats.mode & 0o7777) !== entry.mode) return `mode ${(stats.mode & 0o7777).toString(8)}, was ${entry.mode.toString(8)}`;
  if (entry.type !== 'file') return undefined;
  if (stats.size !== entry.size) return `${stats.size} bytes, was ${entry.size}`;
  // The backup's SHA-256, or the digest it recorded instead (`hashes: ['md5']`).
  const expected = expectedDigest(entry.hashes);
  if (expected === undefined) return undefined;
  const actual = await digestOf(path, expected.algorithm);
  if (typeof actual !== 'string') return `cannot be read (${actual.unreadable})`;
  return actual === expected.hex ? undefined : `content differs (${expected.algorithm})`;
}

/**
 * `backupFolder`: where the backup lies, when on disk. Inside the tree, it is left out as the scan
 * that made the backup left out its output folder: its files are not "new".
 */
export async function compareWithTree(manifest: Manifest, root: string, backupFolder?: string): Promise<TreeComparison> {
  const result: TreeComparison = { root, changed: [], missing: [], new: [] };
  for (const entry of manifest.entries) {
    const found = await difference(entry, root);
    if (found === 'missing') result.missing.push(entry.path);
    else if (found !== undefined) result.changed.push({ path: String(entry.path), reason: found });
  }
  result.new = await entriesNotInBackup(manifest, root, backupFolder === undefined ? [] : [backupFolder]).catch(() => []);
  // Most of the backup missing is the sign of --source naming another folder than the one it was made from.
  const madeFrom = manifest.header.root;
  if (madeFrom !== undefined && madeFrom !== root && result.missing.length * 2 > manifest.entries.length) result.madeFrom = madeFrom;
  return result;
}

/**
 * What the backup would have stored from `root` had it been made there, and does not hold: its
 * sources found at their archive paths under `root`, scanned with the selection it recorded, less
 * its entries and the files it skipped. Excluded files and anything outside its sources are never
 * in the list. Archive paths, folders before what they hold. `leaveOut`: folders the scan skips
 * (the backup's own folder, as the scan that made it left out its output). A source that is not
 * under `root` holds nothing here.
 */
export async function entriesNotInBackup(manifest: Manifest, root: string, leaveOut: string[]): Promise<string[]> {
  const selection = manifest.header.selection;
  const paths = manifest.entries.map((entry) => entry.path).filter((path) => typeof path === 'string');
  const known = new Set([...paths, ...manifest.footer.skipped.map((skip) => skip.path)]);
  // Each source where its files lie under `root`: by its archive path, as the backup stored it (a
  // source outside the folder it was made from, `/var/www`, is `var/www` there), never the live
  // folder it was read from.
  const madeIn = manifest.header.root;
  const sourcesHere = selection?.sources.map((source) => (madeIn === undefined ? source : archivePathOf(madeIn, resolve(madeIn, source)) || '.'));
  const sources = (sourcesHere ?? [...new Set(paths.map((path) => path.split('/')[0]!))]).filter((source) => lstatSync(fsPath(join(root, source)), { throwIfNoEntry: false }));
  if (sources.length === 0) return [];
  const scan = await scanSources({
    cwd: root,
    sources,
    include: selection?.include ?? ['**'],
    exclude: selection?.exclude ?? [],
    dot: selection?.dot ?? true,
    followSymlinks: selection?.followSymlinks ?? false,
    maxFileSize: selection?.maxFileSize ?? Number.MAX_SAFE_INTEGER,
    ...(leaveOut.length === 0 ? {} : { leaveOut }),
  });
  const extra = scan.entries.filter((entry) => !known.has(entry.path)).map((entry) => entry.path);
  return extra.length === 0 ? extra : withoutOtherSpellings(extra, paths, new Set(scan.entries.map((entry) => entry.path)), root);
}

/**
 * Leaves out the names that are an entry of the backup spelled otherwise: on a file system that
 * ignores case or Unicode form (macOS, Windows), the backup's `src/Components/Button.js` restored
 * over a tree that has `src/components/` is found there as `src/components/Button.js`. Such a
 * name is the backup's own entry when the backup's spelling leads to the same file and is not
 * listed by itself (on a file system that tells them apart, both names are listed: each its own).
 */
function withoutOtherSpellings(extra: string[], backupPaths: string[], listed: Set<string>, root: string): string[] {
  const byKey = new Map<string, string>();
  for (const path of backupPaths) if (!listed.has(path)) byKey.set(collisionKey(path), path);
  if (byKey.size === 0) return extra;
  return extra.filter((path) => {
    const spelling = byKey.get(collisionKey(path));
    if (spelling === undefined) return true;
    const here = lstatSync(fsPath(join(root, path)), { throwIfNoEntry: false });
    const there = here && lstatSync(fsPath(join(root, spelling)), { throwIfNoEntry: false });
    return !(here && there && here.ino === there.ino && here.dev === there.dev);
  });
}
