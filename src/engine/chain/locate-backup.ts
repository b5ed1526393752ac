/** Finds a backup's manifest and archive from either path. */
import { BackupError, SourceError, sourceReadError } from '../../errors.js';
import { ManifestFormatError, ManifestIsLfsPointerError, NewerManifestError, decodeManifestRecord, readManifest, type Manifest, type ManifestHeader } from '../../format/manifest.js';
import { withLfLineEndings } from '../../format/manifest-line-endings.js';
import { joinLocation, nameOf } from '../../store/location.js';
import { defaultStores, type Stores } from '../../store/stores.js';
import { ARCHIVE_SUFFIXES, archiveLocation } from './archive-location.js';

export interface LocatedBackup {
  manifest: Manifest | undefined;
  manifestPath: string | undefined;
  archivePath: string;
  /** The backup's manifest, which could not be read: the archive is read on its own (see `locateBackup`). */
  unreadableManifest?: { path: string; reason: string };
  /** The manifest's line endings were converted to CRLF, or a byte-order mark added: it was read as written (format/manifest-line-endings.ts). */
  convertedLineEndings?: true;
}

export function notFound(path: string, error: unknown, why?: string): BackupError {
  if (error instanceof BackupError) return error;
  if ((error as NodeJS.ErrnoException).code !== 'ENOENT') return sourceReadError(path, error);
  return new SourceError(
    'SOURCE_NOT_FOUND',
    `${path} not found${why ? ` (${why})` : ''}. Pass a backup: its NAME.manifest.jsonl, its archive (.tar.gz, .tar.zst, .tar) or the folder that holds it.`,
    { path, cause: error },
  );
}

/** Manifests of a folder that could not be read, and why: skipped with a warning, never fatal. */
export interface UnreadableManifest {
  path: string;
  reason: string;
}

/**
 * The newest complete backup in a folder: the one whose header says it was made last (a manifest
 * is written last, so its presence means the backup is whole). Header times, not file times, so
 * that a copied folder keeps its order. A manifest that cannot be read (empty, damaged) is skipped
 * and reported through `unreadable`: one bad file must not stop every later backup. With
 * `preferred`, the newest whose header it accepts (a backup of the same tree, for a new backup to
 * build on), else the newest of all. Headers are read unproven here: the caller proves the one chosen.
 */
export async function newestManifest(
  folder: string,
  unreadable: UnreadableManifest[] = [],
  stores: Stores = defaultStores,
  preferred?: (header: ManifestHeader) => boolean,
): Promise<string> {
  const store = stores.folder(folder);
  const names = (await store.list()).filter((name) => name.endsWith('.manifest.jsonl'));
  const dated: { name: string; createdAt: string; header: ManifestHeader }[] = [];
  await Promise.all(
    names.map(async (name) => {
      try {
        const header = await headerOf(joinLocation(folder, name), stores);
        dated.push({ name, createdAt: header.createdAt, header });
      } catch (error) {
        if (error instanceof BackupError && error.code !== 'MANIFEST_INVALID') throw error; // the store failed: not this manifest's fault
        unreadable.push({ path: joinLocation(folder, name), reason: (error as Error).message });
      }
    }),
  );
  dated.sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : a.name < b.name ? 1 : -1));
  if (dated.length === 0) {
    const why = unreadable.length > 0 ? `its only manifests cannot be read (${unreadable.map((u) => u.reason).join('; ')})` : 'it holds no NAME.manifest.jsonl';
    throw new SourceError('SOURCE_NOT_FOUND', `No backup in ${folder}: ${why}. Pass the path of a backup.`, { path: folder });
  }
  return joinLocation(folder, (dated.find((backup) => preferred?.(backup.header)) ?? dated[0]!).name);
}

/** A manifest's header, reading no more than its first line: enough to order backups or find one by id. */
export async function headerOf(path: string, stores: Stores): Promise<ManifestHeader> {
  const { store, name } = stores.file(path);
  const file = await store.open(name);
  try {
    // As written: a converted manifest (CRLF, a byte-order mark, UTF-16) was skipped as unreadable here, read by name.
    const chunk = withLfLineEndings(await file.read(0, HEADER_READ_LIMIT));
    const bytesRead = chunk.length;
    const end = chunk.indexOf(0x0a);
    if (bytesRead === 0) throw new ManifestFormatError('The manifest is empty.');
    const header = decodeManifestRecord(chunk.subarray(0, end === -1 ? bytesRead : end).toString('utf8'), 1);
    if (header.record !== 'header' || typeof header.createdAt !== 'string') throw new ManifestFormatError('The manifest does not start with a header record.');
    // The newest backup is chosen by this time: one that is not a time would sort anywhere.
    if (!Number.isFinite(Date.parse(header.createdAt))) throw new ManifestFormatError(`Its header's createdAt (${JSON.stringify(header.createdAt).slice(0, 40)}) is not a time.`);
    return header;
  } catch (error) {
    throw new BackupError('MANIFEST_INVALID', `${path}: ${(error as Error).message} It was skipped; remove or repair it.`, { path, cause: error });
  } finally {
    await file.close();
  }
}

/** A header line is well under this (its longest part is the selection's patterns). */
const HEADER_READ_LIMIT = 256 * 1024;

/** The names archives go by, ours (each codec's suffix) and others': one list for every reader. */
const ARCHIVE_NAME = /\.(tar|tar\.gz|tgz|tar\.zst)$/;
const BACKUP_FILE_NAME = new RegExp(`\\.manifest\\.jsonl$|${ARCHIVE_NAME.source}`);

/** The manifest that goes with an archive (`NAME.tar.zst` → `NAME.manifest.jsonl`); the path itself when it names no archive. */
export function manifestBeside(path: string): string {
  return path.replace(ARCHIVE_NAME, '.manifest.jsonl');
}

/** Whether a path names a manifest (which stands for its backup: the archive is beside it). */
export function isManifestFileName(path: string): boolean {
  return path.endsWith('.manifest.jsonl');
}

/** A backup file's name without its suffix (`predeploy` of `predeploy.tar.gz.sha256`); undefined for another name. */
export function backupBaseName(name: string): string | undefined {
  const bare = name.replace(/\.sha256$/, '');
  const match = BACKUP_FILE_NAME.exec(bare);
  return match ? bare.slice(0, match.index) : undefined;
}

/** Whether a path names a manifest or an archive (rather than a folder of backups). */
export function isBackupFileName(path: string): boolean {
  return BACKUP_FILE_NAME.test(path);
}

/**
 * `NAME.manifest.jsonl`, an archive whose manifest is beside it (or not: then only the archive), or
 * a folder of backups, whose newest is used. A manifest that cannot be read (cut short, edited)
 * is an error that names it, unless the archive was named: then the archive is read on its own,
 * as any archive without a manifest is, and `unreadableManifest` says why (restore and verify
 * say it too). With `archiveWhenManifestUnreadable`, a named manifest or folder falls back so too,
 * to the archive beside the manifest (verify: a damaged manifest is damage to report, not bad input).
 */
export interface LocateOptions {
  archiveWhenManifestUnreadable?: boolean;
  /** Told once, when the manifest read passes `LONG_MANIFEST` bytes: its backup is no small one (a reader starts a worker then). */
  onLongManifest?: () => void;
}

/** A manifest this long lists some 3,000 entries or more. */
export const LONG_MANIFEST = 1024 * 1024;

/** The chunks of a manifest as read, telling `onLong` once they pass `LONG_MANIFEST` bytes. */
async function* measured(chunks: AsyncIterable<Buffer | string>, onLong: () => void): AsyncGenerator<Buffer | string> {
  let length = 0;
  for await (const chunk of chunks) {
    if (length < LONG_MANIFEST && (length += chunk.length) >= LONG_MANIFEST) onLong();
    yield chunk;
  }
}

export async function locateBackup(path: string, stores: Stores = defaultStores, options: LocateOptions = {}): Promise<LocatedBackup> {
  if (!isBackupFileName(path) && (await stores.folder(path).isFolder())) return locateBackup(await newestManifest(path, [], stores), stores, options);
  const { store, name } = stores.file(path);
  if (path.endsWith('.manifest.jsonl')) {
    let manifest: Manifest;
    let convertedLineEndings = false;
    try {
      const stream = store.stream(name);
      manifest = await readManifest(options.onLongManifest ? measured(stream, options.onLongManifest) : stream, () => (convertedLineEndings = true));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw notFound(path, error);
      if (error instanceof NewerManifestError) throw new BackupError('ARCHIVE_UNSUPPORTED', `${path} was ${error.message}`, { path, cause: error });
      // Not here rather than damaged: the archive beside it is no doubt a pointer too.
      if (error instanceof ManifestIsLfsPointerError) throw new BackupError('ARCHIVE_UNRECOGNIZED', `${path}: ${error.message}`, { path, cause: error });
      if (error instanceof BackupError && error.code !== 'MANIFEST_INVALID') throw error; // the store failed, not the manifest
      const reason = (error as Error).message.replace(/\.$/, '');
      const archive = options.archiveWhenManifestUnreadable ? await archiveNamedLike(path, stores) : undefined;
      if (archive) return { manifest: undefined, manifestPath: undefined, archivePath: archive, unreadableManifest: { path, reason } };
      throw new BackupError('MANIFEST_INVALID', `${path}: ${reason}. To read the archive without it (no file hashes, no chain), name the archive itself.`, { path, cause: error });
    }
    const archivePath = await archiveLocation(path, manifest.header, manifest.footer, stores);
    return { manifest, manifestPath: path, archivePath, ...(convertedLineEndings ? { convertedLineEndings } : {}) };
  }
  const beside = manifestBeside(path);
  if (beside !== path && (await store.stat(nameOf(beside)))) {
    let located: LocatedBackup;
    try {
      located = await locateBackup(beside, stores, options.onLongManifest ? { onLongManifest: options.onLongManifest } : {});
    } catch (error) {
      if (!(error instanceof BackupError && error.code === 'MANIFEST_INVALID')) throw error;
      const reason = (error.cause instanceof Error ? error.cause.message : error.message).replace(/\.$/, '');
      return { manifest: undefined, manifestPath: undefined, archivePath: path, unreadableManifest: { path: beside, reason } };
    }
    if (nameOf(located.archivePath) === name) return { ...located, archivePath: path };
  }
  return { manifest: undefined, manifestPath: undefined, archivePath: path };
}

/** The archive beside a manifest whose record of it cannot be read: the one of the manifest's name. */
async function archiveNamedLike(manifestPath: string, stores: Stores): Promise<string | undefined> {
  const { store } = stores.file(manifestPath);
  const base = manifestPath.slice(0, -'.manifest.jsonl'.length);
  for (const suffix of ARCHIVE_SUFFIXES.flat()) {
    if (await store.stat(nameOf(base + suffix))) return base + suffix;
  }
  return undefined;
}
