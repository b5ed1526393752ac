/**
 * Restore's `delete`: once a restore has put every entry in place, what the target holds beyond
 * the backup is removed (restic's `restore --delete`, rsync's `--delete`), so that rolling `dist/`
 * back leaves no file of a later build behind. The scope is the backup's own, as `verify --source`
 * reads it (compare-tree.ts): its sources under the target, scanned with the selection it
 * recorded. Files it excluded (`node_modules`, logs), anything outside its sources, and the backups
 * themselves are never touched. Nothing is removed through a symlink: a symlink goes as the link,
 * and what lies beyond one is not looked at.
 */
import { lstatSync, readdirSync, rmdirSync, unlinkSync, type Stats } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { fsPath } from '../../format/path-bytes.js';
import type { Manifest } from '../../format/manifest.js';
import { entriesNotInBackup } from './compare-tree.js';
import { includeMatcher } from './include-matcher.js';
import { RESTORE_LOCK } from './restore-writer.js';

export interface ExtraRemoval {
  /** Archive paths removed from the target (files, symlinks, and folders left empty), sorted. */
  deleted: string[];
  /** Folders not in the backup that were kept: they still hold files the backup left out. */
  keptFolders: string[];
  /** What could not be removed, and why. */
  failures: Array<{ path: string; reason: string }>;
}

export interface ExtraScope {
  /** Restore's `include`: only what it matches is removed. */
  include?: string[];
  /** Where the backup lies, when on disk: the scan leaves it out, as the backup's scan left out its output. */
  backupFolder?: string;
  signal?: AbortSignal;
  /** Name what would go, removing nothing (a folder would go when everything in it would). */
  dryRun?: boolean;
}

export async function deleteExtra(manifest: Manifest, root: string, scope: ExtraScope): Promise<ExtraRemoval> {
  const matches = scope.include ? includeMatcher(scope.include, manifest.header.selection?.sources) : () => true;
  const extra = (await entriesNotInBackup(manifest, root, leftOut(manifest, root, scope.backupFolder))).filter((path) => path !== RESTORE_LOCK && matches(path));
  // Deepest first: a folder's contents go before it, and it goes only once empty.
  const depth = (path: string) => path.split('/').length;
  extra.sort((a, b) => depth(b) - depth(a));
  const realFolders = new Map<string, boolean>();
  const removal: ExtraRemoval = { deleted: [], keptFolders: [], failures: [] };
  const removed = new Set<string>(); // in a dry run: what would be gone, for the folders above it
  for (const path of extra) {
    scope.signal?.throwIfAborted();
    if (!underRealFolders(root, path, realFolders)) continue; // beneath a symlink, or gone with what held it
    const full = fsPath(join(root, path));
    const stats = lstatQuietly(full);
    if (!stats) continue;
    if (scope.dryRun) {
      const emptied = !stats.isDirectory() || readdirSync(full).every((name) => removed.has(`${path}/${name}`));
      if (emptied) {
        removed.add(path);
        removal.deleted.push(path);
      } else removal.keptFolders.push(path);
      continue;
    }
    try {
      if (stats.isDirectory()) rmdirSync(full);
      else unlinkSync(full);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (stats.isDirectory() && (code === 'ENOTEMPTY' || code === 'EEXIST')) removal.keptFolders.push(path);
      else removal.failures.push({ path, reason: `it is not in the backup, and removing it failed (${code ?? (error as Error).message})` });
      continue;
    }
    removal.deleted.push(path);
  }
  removal.deleted.sort(); // as a listing reads: folders before what they held
  removal.keptFolders.sort();
  return removal;
}

/** What restore (or its dry run) says of the folders not in the backup that it kept. */
export function keptFoldersWarning(kept: readonly string[], dryRun = false): string | undefined {
  if (kept.length === 0) return undefined;
  const more = kept.length > 1;
  return `${more ? `${kept.length} folders` : '1 folder'} not in the backup ${dryRun ? 'would be kept' : 'kept'} (${kept[0]}${more ? ', …' : ''}): ${more ? 'they hold' : 'it holds'} files that the backup's selection leaves out`;
}

/**
 * The folders the scan leaves out: the backup's own, and the place its output folder had in the
 * tree it was made from (`backups/` of a project backed up whole), where earlier backups lie.
 */
function leftOut(manifest: Manifest, root: string, backupFolder: string | undefined): string[] {
  if (backupFolder === undefined) return [];
  const folders = [resolve(backupFolder)];
  const madeIn = manifest.header.root;
  if (madeIn !== undefined) {
    const within = relative(madeIn, resolve(backupFolder));
    if (within !== '' && within !== '..' && !within.startsWith(`..${sep}`) && !within.startsWith(sep)) folders.push(join(root, within));
  }
  return folders;
}

/** Whether every folder above `path` (relative) is a real folder, not a symlink; answers are cached. */
function underRealFolders(root: string, path: string, known: Map<string, boolean>): boolean {
  for (let cut = path.indexOf('/'); cut > 0; cut = path.indexOf('/', cut + 1)) {
    const folder = path.slice(0, cut);
    let real = known.get(folder);
    if (real === undefined) {
      real = lstatQuietly(fsPath(join(root, folder)))?.isDirectory() === true;
      known.set(folder, real);
    }
    if (!real) return false;
  }
  return true;
}

function lstatQuietly(path: ReturnType<typeof fsPath>): Stats | undefined {
  try {
    return lstatSync(path, { throwIfNoEntry: false });
  } catch {
    return undefined;
  }
}
