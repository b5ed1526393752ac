/**
 * Backup chains: an incremental or differential backup names its parent's manifest and that
 * manifest's SHA-256 (docs/FORMAT.md §Chains). Following the links proves that each ancestor is
 * the one its child was built on, and finds the backups that hold the content of unchanged files.
 * Ancestors are hashed as they are read (on a remote store, read whole), and only their header
 * and footer are parsed.
 */
import { createHash } from 'node:crypto';
import { BackupError, ChainError } from '../../errors.js';
import {
  ManifestEndsScanner,
  decodeManifestEntries,
  hashManifestBytes,
  parseManifestEnds,
  type Manifest,
  type ManifestFooter,
  type ManifestEntry,
  type ManifestHeader,
  type ParentLink,
} from '../../format/manifest.js';
import { lfLineEndingsOf, withLfLineEndings } from '../../format/manifest-line-endings.js';
import { joinLocation, nameOf, parentLocation, resolveFrom, resolveLocation } from '../../store/location.js';
import { defaultStores, type Stores } from '../../store/stores.js';
import { archiveLocation } from './archive-location.js';
import { headerOf } from './locate-backup.js';
import { ParentFileIndex } from './parent-files.js';

/** One backup of a chain, as far as following the chain needs it. */
export interface ChainLink {
  header: ManifestHeader;
  footer: ManifestFooter;
  /** Absolute location of the manifest (a path, or `s3://bucket/key`). */
  manifestPath: string;
  /** Absolute location of the archive, beside the manifest (found by `archiveLocation`). */
  archivePath: string;
  /** SHA-256 of the manifest file. */
  sha256: string;
  /**
   * The manifest's bytes as they were proven, kept when asked for (the backup a new one builds
   * on), so that `readLinkFiles` decodes them without reading and hashing the file again.
   */
  kept?: { bytes: Buffer; linesSha256: string };
}

/** How `readChainLink` reads a manifest. */
export interface ReadChainLinkOptions {
  /** Sees the file's SHA-256 before anything is parsed (a parent edited since is named as such). */
  proven?: (sha256: string) => void;
  /** The link keeps the bytes, for `readLinkFiles`. */
  keep?: boolean;
  /** The names in the manifest's folder, when the caller has listed it: finding the archive asks the store nothing more. */
  listed?: ReadonlySet<string>;
}

/** Reads a manifest file as a chain link: hashed, header and footer parsed, its archive found beside it. */
export async function readChainLink(manifestPath: string, stores: Stores = defaultStores, options: ReadChainLinkOptions = {}): Promise<ChainLink> {
  const { proven, keep = false, listed } = options;
  const path = resolveLocation(manifestPath);
  const { store, name } = stores.file(path);
  const invalid = (error: unknown) => new BackupError('MANIFEST_INVALID', `${path}: ${(error as Error).message}`, { path, cause: error });
  const link = async (ends: { header: ManifestHeader; footer: ManifestFooter }, sha256: string) => ({
    ...ends,
    manifestPath: path,
    archivePath: await archiveLocation(path, ends.header, ends.footer, stores, listed),
    sha256,
  });
  if (!keep && !store.remote) {
    // Scanned as it is read: following a chain, listing a folder of backups, each manifest costs
    // one piece of memory, not its size (350 MB for a million entries).
    const scanner = new ManifestEndsScanner();
    for await (const chunk of lfLineEndingsOf(store.stream(name) as AsyncIterable<Buffer>, () => {})) scanner.update(chunk);
    const { sha256 } = scanner.digests();
    proven?.(sha256);
    let ends: ReturnType<ManifestEndsScanner['ends']>;
    try {
      ends = scanner.ends();
    } catch (error) {
      throw invalid(error);
    }
    return link(ends, sha256);
  }
  const bytes = withLfLineEndings(await store.readAll(name));
  const digests = hashManifestBytes(bytes);
  proven?.(digests.sha256);
  let ends: ReturnType<typeof parseManifestEnds>;
  try {
    ends = parseManifestEnds(bytes, digests);
  } catch (error) {
    throw invalid(error);
  }
  return { ...(await link(ends, digests.sha256)), ...(keep ? { kept: { bytes, linesSha256: digests.linesSha256 } } : {}) };
}

/** A link's manifest bytes: kept from when the link was read, or read again and proven the same. */
async function linkManifestBytes(link: ChainLink, stores: Stores): Promise<Buffer> {
  if (link.kept?.bytes) return link.kept.bytes;
  const { store, name } = stores.file(link.manifestPath);
  const bytes = withLfLineEndings(await store.readAll(name));
  if (createHash('sha256').update(bytes).digest('hex') !== link.sha256) {
    throw new ChainError('PARENT_CHANGED', `${link.manifestPath} changed while it was read. Run the backup again.`, { path: link.manifestPath });
  }
  return bytes;
}

/**
 * A link's manifest, checked whole (digest, header, footer, totals), with its files kept as a
 * `ParentFileIndex` (columns) rather than as decoded records: what a backup built on it needs.
 */
export async function readLinkFiles(link: ChainLink, stores: Stores = defaultStores): Promise<{ header: ManifestHeader; files: ParentFileIndex }> {
  const bytes = await linkManifestBytes(link, stores);
  const files = new ParentFileIndex();
  try {
    const { header } = await decodeManifestEntries(bytes, link.kept?.linesSha256, (entry) => files.add(entry));
    return { header, files };
  } catch (error) {
    throw new BackupError('MANIFEST_INVALID', `${link.manifestPath}: ${(error as Error).message}`, { path: link.manifestPath, cause: error });
  }
}

/**
 * The parent of the backup whose manifest is `childPath`: found at the recorded relative path and
 * proven by its SHA-256 and id.
 */
export async function readParent(childPath: string, parent: ParentLink, stores: Stores = defaultStores): Promise<ChainLink> {
  const child = nameOf(childPath);
  if (typeof parent.manifest !== 'string' || typeof parent.manifestSha256 !== 'string' || typeof parent.id !== 'string') {
    throw new BackupError('MANIFEST_INVALID', `${childPath}: its parent record is malformed; the manifest is damaged.`, { path: childPath });
  }
  const path = resolveFrom(parentLocation(childPath), parent.manifest);
  const changed = (why: string) =>
    new ChainError('PARENT_CHANGED', `${path} is not the manifest that ${child} was built on (its ${why} differs): it was edited or replaced. Put the original back, or make a full backup.`, {
      path,
    });
  let link: ChainLink;
  try {
    link = await readChainLink(path, stores, {
      proven: (sha256) => {
        if (sha256 !== parent.manifestSha256) throw changed('SHA-256');
      },
    });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    const renamed = await findRenamedParent(parentLocation(path), parent, stores);
    if (renamed) return renamed;
    throw new ChainError(
      'PARENT_MISSING',
      `${child} builds on backup ${parent.id}, whose manifest ${path} is missing. Restoring or verifying it needs every ` +
        'backup of its chain: put the missing backup back where it was, or make a full backup.',
      { path, cause: error },
    );
  }
  if (link.header.id !== parent.id) throw changed('id');
  return link;
}

/**
 * A parent whose files were renamed (`full.*` → `base.*`): the manifest in `folder` that carries
 * its id and hashes to the SHA-256 its child recorded, which proves it as the recorded name would.
 */
async function findRenamedParent(folder: string, parent: ParentLink, stores: Stores): Promise<ChainLink | undefined> {
  const listed = new Set(await stores.folder(folder).list().catch(() => [] as string[]));
  for (const name of [...listed].filter((n) => n.endsWith('.manifest.jsonl')).sort()) {
    const path = joinLocation(folder, name);
    const header = await headerOf(path, stores).catch(() => undefined);
    if (header?.id !== parent.id) continue;
    const link = await readChainLink(path, stores, { listed }).catch(() => undefined);
    if (link?.sha256 === parent.manifestSha256 && link.header.id === parent.id) return link;
  }
  return undefined;
}

/** The link itself, then each ancestor up to the full backup at the chain's root, each one proven. */
export async function* ancestry(link: ChainLink, stores: Stores = defaultStores): AsyncGenerator<ChainLink> {
  const seen = new Set<string>();
  for (let current: ChainLink | undefined = link; current; ) {
    if (seen.has(current.header.id)) {
      throw new BackupError('MANIFEST_INVALID', `${current.manifestPath}: the chain of backups loops back on itself.`, { path: current.manifestPath });
    }
    seen.add(current.header.id);
    yield current;
    current = current.header.parent ? await readParent(current.manifestPath, current.header.parent, stores) : undefined;
  }
}

/** What restore and verify need of a backup that holds content: its archive and block index. */
export interface ContentHolder {
  id: string;
  header: ManifestHeader;
  footer: ManifestFooter;
  manifestPath: string | undefined;
  archivePath: string;
}

export interface ContentHolders {
  /** Found and proven, by id (the backup itself included). */
  holders: Map<string, ContentHolder>;
  /** Why some holders could not be reached: a missing or edited link of the chain. */
  broken?: ChainError;
}

/**
 * The backups that hold the content of `manifest`'s files, by id: the backup itself, and the
 * ancestors that its entries' `heldBy` name. Only as much of the chain is followed as that needs.
 */
export async function contentHolders(manifest: Manifest, manifestPath: string | undefined, archivePath: string, stores: Stores = defaultStores): Promise<ContentHolders> {
  const holders = new Map<string, ContentHolder>([
    [manifest.header.id, { id: manifest.header.id, header: manifest.header, footer: manifest.footer, manifestPath, archivePath }],
  ]);
  const needed = new Set<string>();
  for (const entry of manifest.entries) if (entry.heldBy !== undefined && entry.heldBy !== manifest.header.id) needed.add(entry.heldBy);
  if (needed.size === 0) return { holders };
  const where = manifestPath ?? archivePath;
  if (!manifest.header.parent || manifestPath === undefined) {
    throw new BackupError('MANIFEST_INVALID', `${where}: entries are held by other backups, but it names no parent; the manifest is damaged.`, { path: where });
  }
  let child = manifestPath;
  for (let parent: ParentLink | null = manifest.header.parent; parent && needed.size > 0; ) {
    let link: ChainLink;
    try {
      link = await readParent(child, parent, stores);
    } catch (error) {
      if (!(error instanceof ChainError)) throw error;
      // Past a missing or edited link, the backups further up may still be there: found by id in
      // the folder. Their files are proven by the hashes in this manifest, not by the chain.
      await findHoldersById(parentLocation(manifestPath), needed, holders, stores);
      return { holders, broken: error };
    }
    if (holders.has(link.header.id)) throw new BackupError('MANIFEST_INVALID', `${link.manifestPath}: the chain of backups loops back on itself.`);
    holders.set(link.header.id, { id: link.header.id, header: link.header, footer: link.footer, manifestPath: link.manifestPath, archivePath: link.archivePath });
    needed.delete(link.header.id);
    child = link.manifestPath;
    parent = link.header.parent;
  }
  if (needed.size > 0) {
    throw new BackupError('MANIFEST_INVALID', `${where}: entries are held by backup ${[...needed][0]}, which is not in its chain; the manifest is damaged.`, {
      path: where,
    });
  }
  return { holders };
}

async function findHoldersById(folder: string, needed: Set<string>, holders: Map<string, ContentHolder>, stores: Stores): Promise<void> {
  const listed = new Set(await stores.folder(folder).list().catch(() => [] as string[]));
  for (const name of [...listed].filter((n) => n.endsWith('.manifest.jsonl'))) {
    const link = await readChainLink(joinLocation(folder, name), stores, { listed }).catch(() => undefined);
    if (!link || !needed.has(link.header.id) || holders.has(link.header.id)) continue;
    holders.set(link.header.id, { id: link.header.id, header: link.header, footer: link.footer, manifestPath: link.manifestPath, archivePath: link.archivePath });
    needed.delete(link.header.id);
  }
}

/**
 * `entries` by the backup whose archive holds them: `heldBy`, or `ownId` for those stored in the
 * backup itself. `groups` may start with groups that must exist even when empty.
 */
export function groupByHolder(
  entries: Iterable<ManifestEntry>,
  ownId: string,
  groups = new Map<string, ManifestEntry[]>(),
): Map<string, ManifestEntry[]> {
  for (const entry of entries) {
    const id = entry.heldBy ?? ownId;
    const group = groups.get(id);
    if (group) group.push(entry);
    else groups.set(id, [entry]);
  }
  return groups;
}
