/**
 * `gulp.src` leaves out names that start with a dot unless it is given `dot: true` (node-glob's
 * default), so `gulp.src('dist/**')` backs up a site without its `.htaccess` or `.well-known/`,
 * and no one says so. The plugin does not see the glob, only what it is given: in a folder that
 * came whole (every other name in it came through), a dot name that did not come is what the
 * glob's `dot: false` left out, and the plugin says so. A glob that picks names (`*.css`) leaves
 * other names out too, and is not second-guessed.
 */
import { readdir } from 'node:fs/promises';
import { basename, join, relative } from 'node:path';
import type File from 'vinyl';

export class DotNamesLeftOut {
  private readonly received = new Set<string>();
  /** Folders the glob matched, and the base it walked from: those it may have taken whole. */
  private readonly folders = new Set<string>();
  /** A dot name came through: the glob takes them (`dot: true`), and no folder needs reading. */
  private dotNameGiven = false;

  /** Notes a file the plugin was given (also one it leaves out itself, such as its output folder). */
  add(file: File): void {
    if (!this.dotNameGiven && basename(file.path).startsWith('.')) this.dotNameGiven = true;
    this.received.add(file.path);
    this.folders.add(file.base.replace(/\/+$/, ''));
    if (file.isDirectory()) this.folders.add(file.path);
  }

  /** The dot names left out of folders that came whole, relative to `cwd`, sorted. */
  async find(cwd: string): Promise<string[]> {
    const leftOut: string[] = [];
    if (this.dotNameGiven) return leftOut;
    for (const folder of this.folders) {
      const names = await readdir(folder).catch(() => [] as string[]);
      const missing = names.filter((name) => !this.received.has(join(folder, name)));
      if (missing.length === 0 || missing.some((name) => !name.startsWith('.'))) continue; // not taken whole: the glob chose
      leftOut.push(...missing.map((name) => relative(cwd, join(folder, name)) || name));
    }
    return leftOut.sort();
  }
}

/** The warning for what `find` found, or undefined when nothing was left out. */
export function dotNamesWarning(leftOut: readonly string[]): string | undefined {
  if (leftOut.length === 0) return undefined;
  const shown = leftOut.slice(0, 3).join(', ') + (leftOut.length > 3 ? ', …' : '');
  return (
    `gulp.src left out ${leftOut.length === 1 ? '1 name that starts' : `${leftOut.length} names that start`} with a dot (${shown}), as globs do by default: ` +
    'they are not in this backup. Pass { dot: true } to gulp.src to back them up.'
  );
}
