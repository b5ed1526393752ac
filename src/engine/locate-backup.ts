/** Finds a backup's manifest and archive from either path. */
import { createReadStream } from 'node:fs';
import { access, readdir, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { BackupError, SourceError, sourceReadError } from '../errors.js';
import { readManifest, type Manifest } from '../format/manifest.js';

export interface LocatedBackup {
  manifest: Manifest | undefined;
  manifestPath: string | undefined;
  archivePath: string;
}

export function notFound(path: string, error: unknown, why?: string): BackupError {
  if ((error as NodeJS.ErrnoException).code !== 'ENOENT') return sourceReadError(path, error);
  return new SourceError(
    'SOURCE_NOT_FOUND',
    `${path} not found${why ? ` (${why})` : ''}. Pass the path of a NAME.manifest.jsonl or NAME.tar.gz.`,
    { path, cause: error },
  );
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/**
 * The newest complete backup in a folder: the manifest written last (a manifest is written last,
 * so its presence means the backup is whole).
 */
export async function newestManifest(folder: string): Promise<string> {
  const names = (await readdir(folder)).filter((name) => name.endsWith('.manifest.jsonl'));
  const dated = await Promise.all(names.map(async (name) => ({ name, mtimeMs: (await stat(join(folder, name))).mtimeMs })));
  dated.sort((a, b) => b.mtimeMs - a.mtimeMs || (a.name < b.name ? 1 : -1));
  if (dated.length === 0) {
    throw new SourceError('SOURCE_NOT_FOUND', `No backup in ${folder}: it holds no NAME.manifest.jsonl. Pass the path of a backup.`, { path: folder });
  }
  return join(folder, dated[0]!.name);
}

/**
 * `NAME.manifest.jsonl`, an archive whose manifest is beside it (or not: then only the archive), or
 * a folder of backups, whose newest is used.
 */
export async function locateBackup(path: string): Promise<LocatedBackup> {
  if ((await stat(path).catch(() => undefined))?.isDirectory()) return locateBackup(await newestManifest(path));
  if (path.endsWith('.manifest.jsonl')) {
    let manifest: Manifest;
    try {
      manifest = await readManifest(createReadStream(path));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw notFound(path, error);
      throw new BackupError('MANIFEST_INVALID', `${path}: ${(error as Error).message}`, { path, cause: error });
    }
    return { manifest, manifestPath: path, archivePath: join(dirname(path), basename(manifest.header.archive)) };
  }
  const beside = path.replace(/\.tar(\.gz)?$/, '.manifest.jsonl');
  if (beside !== path && (await exists(beside))) {
    const located = await locateBackup(beside);
    if (basename(located.archivePath) === basename(path)) return { ...located, archivePath: path };
  }
  return { manifest: undefined, manifestPath: undefined, archivePath: path };
}
