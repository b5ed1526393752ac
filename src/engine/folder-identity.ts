/**
 * Output folders known by what they are, not only by how they are spelt. On a file system that
 * ignores case (macOS, Windows), `--out Backups` is the tree's `backups/`: a string compare missed
 * it, and every run backed up the earlier backups again. A folder whose name differs only in case
 * or Unicode form is asked for its device and inode, once.
 */
import { statSync, type Stats } from 'node:fs';
import { basename, sep } from 'node:path';
import { fsPath } from '../format/path-bytes.js';
import { collisionKey } from './read/safe-paths.js';
import { realPathOf } from './real-path.js';

export class FolderIdentities {
  /** `dev:ino` of each folder that exists. */
  private readonly identities = new Set<string>();
  /** Their names' collision keys, to ask the file system only about a folder of such a name. */
  private readonly nameKeys = new Set<string>();
  /** The folders as given and as their real paths, for a path that lies inside one. */
  private readonly spellings: string[] = [];
  /** The same, lower-cased, for one spelt otherwise. */
  private readonly lowered: string[] = [];
  private readonly answers = new Map<string, boolean>();

  constructor(folders: readonly string[]) {
    for (const folder of folders) {
      const stats = statQuietly(folder);
      if (!stats?.isDirectory()) continue;
      this.identities.add(`${stats.dev}:${stats.ino}`);
      for (const spelling of new Set([folder, realPathOf(folder)])) {
        this.nameKeys.add(collisionKey(basename(spelling)));
        this.spellings.push(spelling);
        this.lowered.push(spelling.toLowerCase());
      }
    }
  }

  /** Whether the folder at `path` (its last part `name`) is one of them, spelt otherwise. */
  isOne(path: string, name: string): boolean {
    if (this.identities.size === 0 || !this.nameKeys.has(collisionKey(name))) return false;
    return this.answer(path);
  }

  /** Whether `path` is one of them or lies inside one, however spelt (the gulp plugin's files; case differences). */
  holds(path: string): boolean {
    if (this.spellings.some((folder) => path === folder || path.startsWith(folder + sep))) return true;
    for (const folder of this.lowered) {
      const inside = path.length > folder.length && path[folder.length] === sep;
      if ((inside || path.length === folder.length) && path.slice(0, folder.length).toLowerCase() === folder && this.answer(path.slice(0, folder.length))) return true;
    }
    return false;
  }

  private answer(path: string): boolean {
    let known = this.answers.get(path);
    if (known === undefined) {
      const stats = statQuietly(path);
      known = stats !== undefined && this.identities.has(`${stats.dev}:${stats.ino}`);
      this.answers.set(path, known);
    }
    return known;
  }
}

/** What is at `path`, or undefined where nothing can be (a part of it is a file: ENOTDIR; it is gone). */
function statQuietly(path: string): Stats | undefined {
  try {
    return statSync(fsPath(path), { throwIfNoEntry: false });
  } catch {
    return undefined;
  }
}
