/** Finds a backup's manifest and archive from either path. */
import { createReadStream } from 'node:fs';
import { access } from 'node:fs/promises';
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

/** `NAME.manifest.jsonl`, or an archive whose manifest is beside it (or not: then only the archive). */
export async function locateBackup(path: string): Promise<LocatedBackup> {
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
