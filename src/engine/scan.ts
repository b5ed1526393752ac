/**
 * The engine's own scan: a readdir walk of each source folder, with picomatch applying the include
 * and exclude patterns (an excluded folder is not entered);
 * every match is lstat'ed with nanosecond times (the fields change detection keys on). The result
 * is sorted by path, so the archive is deterministic. Symlinks are stored as links unless asked to
 * follow them; FIFOs, sockets and devices are never opened, only listed as skipped.
 * The stat calls are synchronous on purpose: nothing else runs during the scan, and a cached lstat
 * costs microseconds where a trip through libuv's thread pool costs tens (GNU tar does the same).
 */
import { lstatSync, readdirSync, readlinkSync, statSync, type BigIntStats, type Dirent } from 'node:fs';
import { isAbsolute, parse, relative, resolve, sep } from 'node:path';
import picomatch from 'picomatch';
import { sourceReadError } from '../errors.js';
import type { EntryType, SkippedEntry } from '../format/manifest.js';
import type { ContentSource } from './file-content.js';

export interface ArchiveEntry {
  /** Relative POSIX path in the archive, without a trailing slash. */
  path: string;
  type: EntryType;
  size: number;
  mode: number;
  uid: number;
  gid: number;
  mtimeNs: bigint;
  ctimeNs: bigint;
  ino: bigint;
  linkTarget?: string;
  content?: ContentSource;
}

export interface ScanOptions {
  cwd: string;
  sources: string[];
  include: string[];
  exclude: string[];
  dot: boolean;
  followSymlinks: boolean;
  maxFileSize: number;
  /** Absolute folders never to descend into (the backup's own output folder). */
  leaveOut?: string[];
}

export interface ScanResult {
  entries: ArchiveEntry[];
  skipped: SkippedEntry[];
}

/** Archive path of an absolute path: relative to `cwd` inside it; else its path from the root, as GNU tar stores it. */
export function archivePathOf(cwd: string, absolutePath: string): string {
  const inside = relative(cwd, absolutePath);
  const path = inside === '' || (!inside.startsWith('..') && !isAbsolute(inside)) ? inside : absolutePath.slice(parse(absolutePath).root.length);
  return path.split(sep).join('/');
}

export function compareArchivePaths(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export async function scanSources(options: ScanOptions): Promise<ScanResult> {
  const found = new Map<string, string>(); // archive path → absolute path
  for (const source of options.sources) {
    const root = resolve(options.cwd, source);
    const rootStat = lstatOrThrow(root);
    const rootPath = archivePathOf(options.cwd, root);
    const isFolder = rootStat.isDirectory() || (options.followSymlinks && rootStat.isSymbolicLink() && statSync(root).isDirectory());
    if (!isFolder) {
      found.set(rootPath, root);
      continue;
    }
    if (rootPath !== '') found.set(rootPath, root);
    for (const [match, absolute] of walk(root, options)) found.set(rootPath === '' ? match : `${rootPath}/${match}`, absolute);
  }

  const paths = [...found.keys()].sort(compareArchivePaths);
  const entries: ArchiveEntry[] = [];
  const skipped: SkippedEntry[] = [];
  const firstPathOfInode = new Map<string, string>();
  for (const path of paths) {
    const absolute = found.get(path)!;
    let stats: BigIntStats;
    try {
      stats = options.followSymlinks ? statOrLstat(absolute) : lstatSync(absolute, { bigint: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        skipped.push({ path, reason: 'vanished during the scan' });
        continue;
      }
      throw sourceReadError(absolute, error);
    }
    if (stats.isDirectory()) {
      entries.push(entryOf(path, stats, 'directory'));
    } else if (stats.isSymbolicLink()) {
      entries.push(entryOf(path, stats, 'symlink', { linkTarget: readlinkSync(absolute) }));
    } else if (stats.isFile()) {
      const size = Number(stats.size);
      if (size > options.maxFileSize) {
        skipped.push({ path, reason: `larger than maxFileSize (${size} > ${options.maxFileSize} bytes)` });
        continue;
      }
      // A file with several names is stored once; later names become hard links to the first.
      if (stats.nlink > 1n) {
        const inode = `${stats.dev}:${stats.ino}`;
        const first = firstPathOfInode.get(inode);
        if (first !== undefined) {
          entries.push(entryOf(path, stats, 'hardlink', { linkTarget: first }));
          continue;
        }
        firstPathOfInode.set(inode, path);
      }
      entries.push(entryOf(path, stats, 'file', { size, content: { kind: 'path', path: absolute } }));
    } else {
      skipped.push({ path, reason: 'not a regular file, folder or symlink (FIFO, socket or device)' });
    }
  }
  return { entries, skipped };
}

function entryOf(path: string, stats: BigIntStats, type: EntryType, extra?: Pick<ArchiveEntry, 'size' | 'content'> | { linkTarget: string }): ArchiveEntry {
  return {
    path,
    type,
    size: 0,
    mode: Number(stats.mode) & 0o7777,
    uid: Number(stats.uid),
    gid: Number(stats.gid),
    mtimeNs: stats.mtimeNs,
    ctimeNs: stats.ctimeNs,
    ino: stats.ino,
    ...extra,
  };
}

function lstatOrThrow(path: string): BigIntStats {
  try {
    return lstatSync(path, { bigint: true });
  } catch (error) {
    throw sourceReadError(path, error);
  }
}

/** With followSymlinks, a dangling link is kept as a link. */
function statOrLstat(path: string): BigIntStats {
  try {
    return statSync(path, { bigint: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return lstatSync(path, { bigint: true });
    throw error;
  }
}

/**
 * The paths under `root` (relative, POSIX, folders without a trailing slash, with their absolute
 * path) that the include
 * patterns match and the exclude patterns do not. A pattern without a slash matches a name at any
 * depth. Excluded folders, the output folder and (without `dot`) dot folders are not entered.
 * A plain readdir walk: it sees FIFOs and sockets (to list them as skipped) and fails loudly on a
 * folder it cannot read, where glob libraries skip both in silence.
 */
function walk(root: string, options: ScanOptions): [string, string][] {
  const included = picomatch(options.include, { dot: options.dot, basename: true });
  const excluded = options.exclude.length > 0 ? picomatch(options.exclude, { dot: true, basename: true }) : () => false;
  const leaveOut = new Set(options.leaveOut ?? []);
  // Without `dot`, nothing inside a dot folder can match unless a pattern names one.
  const entersDotFolders = options.dot || options.include.some((pattern) => /(^|\/)\./.test(pattern));
  const matches: [string, string][] = [];
  const entered = new Set<string>(); // dev:ino of followed folders, against symlink loops
  const visit = (folder: string, relative: string): void => {
    let entries: Dirent[];
    try {
      entries = readdirSync(folder, { withFileTypes: true });
    } catch (error) {
      throw sourceReadError(folder, error);
    }
    for (const entry of entries) {
      const path = relative === '' ? entry.name : `${relative}/${entry.name}`;
      const absolute = `${folder}${sep}${entry.name}`;
      if (excluded(path) || leaveOut.has(absolute)) continue;
      let isFolder = entry.isDirectory();
      if (!isFolder && entry.isSymbolicLink() && options.followSymlinks) {
        const target = statSync(absolute, { throwIfNoEntry: false });
        isFolder = target?.isDirectory() === true && !entered.has(`${target.dev}:${target.ino}`);
        if (isFolder) entered.add(`${target!.dev}:${target!.ino}`);
      }
      if (included(path)) matches.push([path, absolute]);
      if (isFolder && (entersDotFolders || !entry.name.startsWith('.'))) visit(absolute, path);
    }
  };
  visit(root.endsWith(sep) ? root.slice(0, -1) : root, '');
  return matches;
}
