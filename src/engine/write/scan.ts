/**
 * The engine's own scan: a readdir walk of each source folder, with picomatch applying the include
 * and exclude patterns (an excluded folder is not entered);
 * every match is lstat'ed with nanosecond times (the fields change detection keys on). The result
 * is sorted by path, so the archive is deterministic. Symlinks are stored as links unless asked to
 * follow them; FIFOs, sockets and devices are never opened, only listed as skipped.
 * The stat calls are synchronous on purpose: nothing else runs during the scan, and a cached lstat
 * costs microseconds where a trip through libuv's thread pool costs tens (GNU tar does the same).
 */
import { constants, lstatSync, readdirSync, readlinkSync, realpathSync, statSync, type BigIntStats, type Dirent } from 'node:fs';
import { decodeNameBytes, fsPath } from '../../format/path-bytes.js';
import { isAbsolute, parse, relative, resolve, sep } from 'node:path';
import picomatch from 'picomatch';
import { realPathOf } from '../real-path.js';
import { FolderIdentities } from '../folder-identity.js';
import { exclusionMatcher, selectionMatcher } from '../selection-patterns.js';
import { SourceError, duplicatePathError, sourceReadError } from '../../errors.js';
import type { EntryType, SkippedEntry } from '../../format/manifest.js';
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
  /**
   * The content was handed over (a gulp plugin's buffer or stream, which it may have made or
   * changed), so the stat fields say nothing of it: a chained backup compares it by hash.
   */
  handedOver?: true;
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
  /** `skip`: a folder that cannot be read is listed as skipped instead of failing the backup. */
  onFileError?: 'fail' | 'skip';
  /** A source that does not exist is listed as skipped instead of failing (gulp.src's `allowEmpty`). */
  allowEmpty?: boolean;
  /** Told of every path a selection rule leaves out, and which rule (a dry run lists them). */
  onLeftOut?: (path: string, rule: string) => void;
}

/** Names the selection rules left out (a folder left out counts once, not its contents). */
export interface LeftOut {
  /** Matched an exclude pattern. */
  excluded: number;
  /** Matched no include pattern (folders are still entered). */
  notIncluded: number;
  /** Dot names, with `dot: false`. */
  dot: number;
  /** The backup's own output folder, found inside a source (0 or 1): never backed up, but said. */
  output: number;
}

export interface ScanResult {
  entries: ArchiveEntry[];
  skipped: SkippedEntry[];
  leftOut: LeftOut;
  /** What the user should know of the sources (one that is a symlink, stored as the link). */
  warnings: string[];
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
  // Sources that overlap (src and src/sub) name the same files twice: kept once. Two different
  // files on one archive path (a source outside cwd stored under its path from the root, and one
  // inside that reaches the same path) cannot both be restored: refused, not one dropped unsaid.
  const add = (path: string, absolute: string) => {
    const before = found.get(path);
    if (before !== undefined && before !== absolute) {
      throw duplicatePathError(path, before, absolute, 'Back up the two sources separately, or run from a folder (cwd) where their paths differ.');
    }
    found.set(path, absolute);
  };
  const leftOut: LeftOut = { excluded: 0, notIncluded: 0, dot: 0, output: 0 };
  const skipped: SkippedEntry[] = [];
  // The common case, one folder: its walk names each path once, in an order that sorting its
  // matches gives, so it needs neither the map nor a lookup per path (a tenth of the scan).
  let onlyFolder: { root: string; rootPath: string; prefix: string; base: string; matches: string[] } | undefined;
  const followedRoots = new Set<string>();
  /** Followed symlinks to folders walked already: stored as the links (absolute paths). */
  const linksKept = new Set<string>();
  const warnings: string[] = [];
  for (const source of options.sources) {
    const root = resolve(options.cwd, source);
    const rootStat = lstatOrSkip(root, options.allowEmpty === true, source);
    if (!rootStat) {
      skipped.push({ path: archivePathOf(options.cwd, root), reason: 'this source does not exist (allowEmpty)' });
      continue;
    }
    const rootPath = archivePathOf(options.cwd, root);
    // A source that names a symlink's folder is followed as the shell and GNU tar follow it: the
    // working folder itself (`.`, `..`, or cwd reached through a link), and `link/` (POSIX resolves
    // a trailing slash); `link` alone is stored as the link, as tar stores it.
    const followRoot = rootStat.isSymbolicLink() && (options.followSymlinks || rootPath === '' || /(^|[/\\])\.{0,2}$/.test(source));
    const isFolder = rootStat.isDirectory() || (followRoot && statSync(root).isDirectory());
    if (followRoot && isFolder) followedRoots.add(root);
    if (rootStat.isSymbolicLink() && !followRoot) {
      let target: ReturnType<typeof statSync> | undefined;
      try {
        target = statSync(root); // dangling or a loop: stored as the link, nothing to say
      } catch {
        target = undefined;
      }
      const how = target?.isDirectory() ? `write ${source}/ (or --follow-symlinks) to back up the folder it points to` : '--follow-symlinks stores the file it points to';
      if (target?.isDirectory() || target?.isFile()) warnings.push(`the source ${source} is a symlink and is stored as the link, as tar stores it: ${how}`);
    }
    if (!isFolder) {
      add(rootPath, root);
      continue;
    }
    const prefix = rootPath === '' ? '' : `${rootPath}/`;
    const walked = walk(root, { ...options, ...(options.onLeftOut ? { onLeftOut: (path: string, rule: string) => options.onLeftOut!(prefix + path, rule) } : {}) }, leftOut, prefix);
    for (const item of walked.skipped) skipped.push({ ...item, path: prefix + item.path });
    for (const link of walked.linksKept) linksKept.add(absoluteIn(walked.base, link));
    if (options.sources.length === 1) {
      onlyFolder = { root, rootPath, prefix, base: walked.base, matches: walked.matches };
      continue;
    }
    if (rootPath !== '') add(rootPath, root);
    for (const match of walked.matches) add(prefix + match, absoluteIn(walked.base, match));
  }

  // Archive paths in order (the default sort compares UTF-16 code units, as compareArchivePaths
  // does, without a call per comparison), and the absolute path of each.
  let paths: string[];
  let absolutes: string[];
  // A file's content path is made from its archive path when asked for, where it can be: a million
  // absolute paths kept beside the archive paths took ~150 MB.
  let contentRoot: ContentRoot | undefined;
  if (onlyFolder) {
    const { root, rootPath, prefix, base, matches } = onlyFolder;
    matches.sort(); // a common prefix keeps the order; the folder itself sorts before its contents
    paths = rootPath === '' ? [] : [rootPath];
    absolutes = rootPath === '' ? [] : [root];
    for (const match of matches) {
      paths.push(prefix + match);
      absolutes.push(absoluteIn(base, match));
    }
    if (!options.followSymlinks) contentRoot = { base, cut: prefix.length };
  } else {
    paths = [...found.keys()].sort();
    absolutes = paths.map((path) => found.get(path)!);
  }
  const entries: ArchiveEntry[] = [];
  const firstPathOfInode = new Map<string, string>();
  for (const [i, path] of paths.entries()) {
    const absolute = absolutes[i]!;
    let stats: BigIntStats;
    try {
      stats = (options.followSymlinks && !linksKept.has(absolute)) || followedRoots.has(absolute) ? statOrLstat(absolute) : lstatSync(fsPath(absolute), { bigint: true });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (isGoneError(error)) {
        skipped.push({ path, reason: code === 'ENOTDIR' ? 'vanished during the scan (a folder above it became a file)' : 'vanished during the scan' });
        continue;
      }
      if (code === 'ELOOP') {
        skipped.push({ path, reason: 'a symlink loop (too many levels of symbolic links): not followed, as tar -h does' });
        continue;
      }
      if (options.onFileError === 'skip') {
        skipped.push({ path, reason: `cannot be read (${code ?? (error as Error).message})` });
        continue;
      }
      throw sourceReadError(absolute, error);
    }
    // The type from the mode, once: each of BigIntStats' is…() methods makes BigInts of its own.
    const type = Number(stats.mode) & constants.S_IFMT;
    if (type === constants.S_IFDIR) {
      entries.push(entryOf(path, stats, 'directory'));
    } else if (type === constants.S_IFLNK) {
      let target: Buffer;
      try {
        target = readlinkSync(fsPath(absolute), { encoding: 'buffer' });
      } catch (error) {
        // Removed or replaced (EINVAL: no longer a link) since its lstat.
        if (!isGoneError(error) && (error as NodeJS.ErrnoException).code !== 'EINVAL') throw sourceReadError(absolute, error);
        skipped.push({ path, reason: 'vanished during the scan (the symlink was removed or replaced)' });
        continue;
      }
      entries.push(entryOf(path, stats, 'symlink', { linkTarget: decodeNameBytes(target) }));
    } else if (type === constants.S_IFREG) {
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
      // Content is opened with O_NOFOLLOW: a followed link is read through its resolved path.
      const contentPath = options.followSymlinks ? decodeNameBytes(realpathSync(fsPath(absolute), { encoding: 'buffer' })) : absolute;
      entries.push(new ScannedFile(path, stats, size, contentRoot ?? contentPath));
    } else {
      skipped.push({ path, reason: 'not a regular file, folder or symlink (FIFO, socket or device)' });
    }
  }
  if (linksKept.size > 0) {
    const [first] = [...linksKept].map((absolute) => archivePathOf(options.cwd, absolute));
    warnings.push(
      `${linksKept.size === 1 ? '1 symlink leads' : `${linksKept.size} symlinks lead`} to a folder this backup holds already (a loop, or a second link to one folder: ${first}${linksKept.size > 1 ? ', …' : ''}): stored as ${linksKept.size === 1 ? 'a link' : 'links'}, not followed again`,
    );
  }
  return { entries, skipped, leftOut, warnings };
}

/** Where the files of a single-folder scan lie: a file's absolute path is `base`, then its archive path past `cut`. */
interface ContentRoot {
  base: string;
  cut: number;
}

/** A file found by the scan; its content source is made when asked for (see `contentRoot`). */
class ScannedFile implements ArchiveEntry {
  readonly type = 'file';
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly mtimeNs: bigint;
  readonly ctimeNs: bigint;
  readonly ino: bigint;

  constructor(
    readonly path: string,
    stats: BigIntStats,
    readonly size: number,
    private readonly from: string | ContentRoot,
  ) {
    this.mode = Number(stats.mode) & 0o7777;
    this.uid = Number(stats.uid);
    this.gid = Number(stats.gid);
    this.mtimeNs = stats.mtimeNs;
    this.ctimeNs = stats.ctimeNs;
    this.ino = stats.ino;
  }

  get content(): ContentSource {
    const from = this.from;
    return { kind: 'path', path: typeof from === 'string' ? from : absoluteIn(from.base, this.path.slice(from.cut)) };
  }
}

function entryOf(path: string, stats: BigIntStats, type: EntryType, extra?: { linkTarget: string }): ArchiveEntry {
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

function lstatOrSkip(path: string, allowMissing: boolean, source: string): BigIntStats | undefined {
  try {
    return lstatSync(path, { bigint: true });
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
    if (allowMissing && missing) return undefined;
    // gulp.src takes globs; sources are paths: say how to write what was meant.
    const { isGlob, base, glob } = picomatch.scan(source);
    if (missing && isGlob) {
      const folder = base || '.';
      const pattern = glob.includes('/') ? glob : `/${glob}`; // `src/*.md` means the top of src only
      throw new SourceError(
        'SOURCE_NOT_FOUND',
        `Source not found: ${path}. Sources are files and folders, not glob patterns: back up ${folder} and choose with include ` +
          `(gulp-backup create ${folder} --include '${pattern}', or sources: ['${folder}'], include: ['${pattern}']).`,
        { path, cause: error },
      );
    }
    throw sourceReadError(path, error);
  }
}

/** With followSymlinks, a dangling link is kept as a link. */
function statOrLstat(path: string): BigIntStats {
  try {
    return statSync(fsPath(path), { bigint: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return lstatSync(fsPath(path), { bigint: true });
    throw error;
  }
}

/**
 * The paths under `root` (relative, POSIX, folders without a trailing slash; `absoluteIn` gives
 * their absolute path) that the include patterns match and the exclude patterns do not. A pattern
 * without a slash matches a name at any depth. Excluded folders, the output folder and (without
 * `dot`) dot folders are not entered. A name that is not UTF-8 is kept exactly (`readFolder`,
 * path-bytes.ts); names with newlines are matched too (picomatch's `*` stops at a line break).
 * A plain readdir walk: it sees FIFOs and sockets (to list them as skipped) and, unless
 * `onFileError` is `skip`, fails loudly on a folder it cannot read, where glob libraries skip both
 * in silence.
 */
function walk(root: string, options: ScanOptions, leftOut: LeftOut, archivePrefix: string): { base: string; matches: string[]; skipped: SkippedEntry[]; linksKept: string[] } {
  // The default include, `**` on its own, matches every name (but dot names without `dot`): as
  // picomatch decides it, without a match per entry (a tenth of the walk on 20,000 files).
  const includesAll = options.include.length === 1 && options.include[0] === '**';
  const includePattern = includesAll ? undefined : selectionMatcher(options.include, { dot: options.dot, archivePrefix });
  const included = (matched: string, name: string) => (includePattern ? includePattern(matched) : options.dot || !name.startsWith('.'));
  const exclusion = options.exclude.length > 0 ? exclusionMatcher(options.exclude, { archivePrefix }) : undefined;
  const matchable = (path: string) => (/[\n\r]/.test(path) ? path.replace(/[\n\r]/g, '?') : path);
  // The output folder by its path and by its real one: `-o bk`, with bk a symlink to a folder in the
  // tree, must leave that folder out too. The walk's own real path is followed beside its path.
  const leaveOut = new Set((options.leaveOut ?? []).flatMap((path) => [path, realPathOf(path)]));
  // And by what it is: on a file system that ignores case, `-o Backups` is the tree's `backups/`.
  const leaveOutSpeltOtherwise = leaveOut.size > 0 ? new FolderIdentities(options.leaveOut ?? []) : undefined;
  // Without `dot`, nothing inside a dot folder can match unless a pattern names one.
  const entersDotFolders = options.dot || options.include.some((pattern) => /(^|\/)\./.test(pattern));
  const matches: string[] = [];
  const skipped: SkippedEntry[] = [];
  // With followSymlinks: dev:ino of every folder walked. A link to one of them (an ancestor: a
  // loop; or a folder walked already) is stored as the link, not walked again.
  const entered = new Set<string>();
  const linksKept: string[] = [];
  const visit = (folder: string, relative: string, realFolder: string): void => {
    let entries: Dirent<string | Buffer>[];
    let names: string[];
    try {
      if (options.followSymlinks) {
        const own = statSync(fsPath(folder));
        entered.add(`${own.dev}:${own.ino}`);
      }
      ({ entries, names } = readFolder(folder));
    } catch (error) {
      // Gone, or now a file (a tree changing as it is read): the folder's own lstat says which, and lists it.
      if (relative !== '' && isGoneError(error)) return;
      if (options.onFileError === 'skip' && relative !== '') {
        skipped.push({ path: relative, reason: `folder cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}): its contents are not in the backup` });
        return;
      }
      throw sourceReadError(folder, error);
    }
    for (const [i, entry] of entries.entries()) {
      const name = names[i]!;
      const path = relative === '' ? name : `${relative}/${name}`;
      const absolute = `${folder}${sep}${name}`;
      // A symlink stored as a link is not the folder it names (only a followed one is).
      const storedAsLink = !options.followSymlinks && entry.isSymbolicLink();
      if (
        leaveOut.size > 0 &&
        !storedAsLink &&
        (leaveOut.has(absolute) || leaveOut.has(`${realFolder}${sep}${name}`) || ((entry.isDirectory() || entry.isSymbolicLink()) && leaveOutSpeltOtherwise!.isOne(absolute, name)))
      ) {
        leftOut.output++;
        options.onLeftOut?.(path, 'the output folder of this backup (earlier backups are never backed up again)');
        continue;
      }
      const matched = includePattern || exclusion ? matchable(path) : path;
      let isFolder = entry.isDirectory();
      if (exclusion?.excludes(matched, isFolder)) {
        leftOut.excluded++;
        options.onLeftOut?.(path, `exclude pattern ${exclusion.excludedBy(matched, isFolder)}`);
        continue;
      }
      if (!isFolder && entry.isSymbolicLink() && options.followSymlinks) {
        let target: ReturnType<typeof statSync> | undefined;
        try {
          target = statSync(fsPath(absolute), { throwIfNoEntry: false });
        } catch {
          target = undefined; // a loop (ELOOP) or an unreadable target: listed when it is stat'ed
        }
        isFolder = target?.isDirectory() === true && !entered.has(`${target.dev}:${target.ino}`);
        if (target?.isDirectory() && !isFolder) linksKept.push(path);
      }
      const dotName = name.startsWith('.');
      if (included(matched, name)) matches.push(path);
      else if (dotName && !options.dot) {
        leftOut.dot++;
        options.onLeftOut?.(path, 'a dot name (dot: false)');
      } else if (!isFolder) {
        leftOut.notIncluded++;
        options.onLeftOut?.(path, 'matches no include pattern');
      }
      if (isFolder && (entersDotFolders || !dotName)) visit(absolute, path, entry.isSymbolicLink() ? realPathOf(absolute) : `${realFolder}${sep}${name}`);
    }
  };
  const base = root.endsWith(sep) ? root.slice(0, -1) : root;
  visit(base, '', realPathOf(base));
  return { base, matches, skipped, linksKept };
}

/** A path that is gone since it was listed: removed, or a folder above it replaced by a file. */
function isGoneError(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/** The absolute path of a walk's match: its folder's path, then the match's (as `visit` joins them). */
function absoluteIn(base: string, match: string): string {
  return `${base}${sep}${sep === '/' ? match : match.split('/').join(sep)}`;
}

/**
 * A folder's entries and their names as strings. Read as UTF-8, and again as bytes only when a
 * name came back with U+FFFD (bytes that are not UTF-8, or the character itself), so that such
 * names are kept exactly (path-bytes.ts); a Buffer per name costs a tenth of the walk.
 */
function readFolder(folder: string): { entries: Dirent<string | Buffer>[]; names: string[] } {
  const entries = readdirSync(fsPath(folder), { withFileTypes: true });
  const names = entries.map((entry) => entry.name);
  if (!names.some((name) => name.includes('\ufffd'))) return { entries, names };
  const exact = readdirSync(fsPath(folder), { withFileTypes: true, encoding: 'buffer' });
  return { entries: exact, names: exact.map((entry) => decodeNameBytes(entry.name)) };
}
