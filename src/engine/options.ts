/**
 * The one options schema shared by the engine, the gulp plugin, the tasks and the CLI: declared
 * once with its defaults, validated once, with messages that quote the value received.
 */
import { getHashes } from 'node:crypto';
import { availableParallelism, totalmem } from 'node:os';
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import bytes from 'bytes';
import ms from 'ms';
import { OptionError } from '../errors.js';
import type { BackupKind, Codec, Selection } from '../format/manifest.js';
import { MAX_BLOCK_SIZE } from '../format/codecs/block-codec.js';
import { CODEC_NAMES, codecNamed } from '../format/codecs/codecs.js';
import type { BackupProgress } from './progress.js';
import { withFileSystem, type ContentFileSystem } from './file-system.js';
import { optionKeys, rejectUnknownKeys } from './option-keys.js';
import { isS3Location, resolveLocation } from '../store/location.js';
import { backupBaseName } from './chain/locate-backup.js';
import type { S3Settings } from '../store/s3-settings.js';
import { storesFor, type Stores } from '../store/stores.js';
import { patternsFrom } from './pattern-file.js';
import { HASH_ALGORITHMS, type HashAlgorithm } from '../format/hash-algorithms.js';

export { HASH_ALGORITHMS, type HashAlgorithm } from '../format/hash-algorithms.js';

export type KindOption = BackupKind | 'auto';
export const KINDS: readonly KindOption[] = ['full', 'incremental', 'differential', 'auto'];

/** Options of incremental and differential backups (docs/DESIGN-DECISIONS.md §Chains). */
export interface ChainOptions {
  /**
   * `full` (default for the API and the CLI), `incremental` (parent: the newest backup),
   * `differential` (parent: the newest full backup) or `auto` (default of `backupTask`): full when
   * there is none yet, after `fullEvery` backups or when the last full one is `fullMaxAge` old;
   * incremental otherwise.
   */
  kind?: KindOption;
  /**
   * The backup to build on: a manifest, or a folder whose newest backup is used. Default: the
   * output folder (`createBackup`); the gulp plugin needs it for any kind but `full`.
   */
  since?: string;
  /** With `kind: 'auto'`: make a full backup when the chain holds this many backups. Default 10. */
  fullEvery?: number;
  /** With `kind: 'auto'`: make a full backup when the last one is this old (`'7d'`, `'12h'` or ms). Default 7 days. */
  fullMaxAge?: number | string;
  /** Read every file and store only those whose content differs from the parent's (mtimes that cannot be trusted). Default false. */
  checksum?: boolean;
  /** Count a file as changed when its ctime differs. Default true; off for file systems where ctime churns. */
  compareCtime?: boolean;
  /** Count a file as changed when its inode number differs. Default true; off for network and FUSE file systems. */
  compareInode?: boolean;
  /** How to reach S3 when `out` or `since` is an `s3://bucket/prefix` location (README §Object storage). */
  s3?: S3Settings;
}

export interface ResolvedChainOptions {
  kind: KindOption;
  since: string | undefined;
  fullEvery: number;
  fullMaxAgeMs: number;
  checksum: boolean;
  compareCtime: boolean;
  compareInode: boolean;
  /** The stores `out` and `since` are read and written through. */
  stores: Stores;
}

/** Options of the archive writer: what shapes the bytes, and how hard to work. */
export interface ArchiveOptions extends ChainOptions {
  /**
   * `gzip` (default; `.tar.gz` opens everywhere), `zstd` (`.tar.zst`: faster and smaller; needs
   * Node.js 22.15 or later), or `none` for a plain `.tar`, for data that is already compressed.
   */
  codec?: Codec;
  /** Compression level: gzip 0 (store) to 9 (smallest), default 6 as gzip's; zstd 1 to 19, default 3 as zstd's. */
  level?: number;
  /** Uncompressed bytes per independently compressed block. Default 1 MiB (zstd: 4 MiB, where its longer reach pays). */
  blockSize?: number | string;
  /** Content hashes recorded per file. Default `['sha256']`. */
  hashes?: HashAlgorithm[] | string;
  /** Compression workers. Default: the number of cores. */
  concurrency?: number;
  /**
   * Files read at once (open at once), ahead of the writer. Default 1: one synchronous read at a
   * time, the fastest with a warm cache; more helps cold disks and network file systems.
   */
  readConcurrency?: number;
  /** Base name of the output files (`NAME.tar.gz`, `NAME.manifest.jsonl`). Default `backup-<UTC time>`. */
  name?: string;
  /** Cancels the backup; nothing complete-looking is left behind. */
  signal?: AbortSignal;
  /** Called with progress events (throttled; the last one reports 100%). */
  onProgress?: (progress: BackupProgress) => void;
  /** Bytes of blocks in flight between reading, compressing and writing (`'64MB'` or bytes). Default 256 MB, or 1/16 of the memory if less; never less than two blocks (a smaller limit is raised to that). */
  maxMemory?: number | string;
  /**
   * Further tries of a read that met a transient error (EBUSY, EAGAIN, EMFILE, ENFILE, EIO, ETIMEDOUT),
   * and of a small file that changed while it was read. Default 3.
   */
  retries?: number;
  /** Base delay before a retry, in milliseconds, doubled each time, with jitter. Default 100. */
  retryDelay?: number;
  /** A file that cannot be opened (EACCES…): `'fail'` the backup (default) or `'skip'` it and list it. */
  onFileError?: 'fail' | 'skip';
  /** Replaces the calls that read file content: for virtual file systems and fault-injection tests. */
  fileSystem?: Partial<ContentFileSystem>;
}

/** Options of `createBackup`, where the engine scans the sources itself. */
export interface BackupOptions extends ArchiveOptions {
  /** Output folder; created when missing. */
  out: string;
  /** Files and folders to back up, relative to `cwd`. Default `['.']`. */
  sources?: string | string[];
  /** Folder that archive paths are relative to. Default `process.cwd()`. */
  cwd?: string;
  /**
   * Glob patterns to include. Default `['**']`. A pattern without a slash matches a name at any
   * depth (`*.js`); one with a slash the path from the source's top (`src/**`) or the archive path.
   */
  include?: string | string[];
  /**
   * Glob patterns to leave out, read as `include`'s (`node_modules`, `docs/*.md`) and as a
   * `.gitignore` reads its lines: the last match decides, and `!pattern` takes back.
   */
  exclude?: string | string[];
  /**
   * Files of exclude patterns (a `.gitignore`, a `.backupignore`), relative to `cwd`, read as
   * `--exclude-from` reads them: one per line, blank lines and `#` comments skipped. Their patterns
   * follow `exclude`'s, and the manifest records them all.
   */
  excludeFrom?: string | string[];
  /** Include names that start with a dot. Default true, as GNU tar, restic and borg do; false leaves them out (and counts them). */
  dot?: boolean;
  /** Store what symlinks point to instead of the links. Default false. */
  followSymlinks?: boolean;
  /** Files larger than this are skipped and listed in the manifest (`'10MB'` or bytes). */
  maxFileSize?: number | string;
  /**
   * As gulp.src's: a source that does not exist (a `dist/` not built yet) is listed as skipped, and
   * a selection that leaves out every file makes an empty backup. Default false: both are errors.
   */
  allowEmpty?: boolean;
  /**
   * With a fixed `name` (a `predeploy` snapshot): replace the backup of that name, which stays
   * whole until the new one is (then its files are swapped in). Default false: a name that is
   * taken is an error. A backup that others build on is never replaced.
   */
  replace?: boolean;
}

export interface ResolvedArchiveOptions extends ResolvedChainOptions {
  codec: Codec;
  level: number;
  blockSize: number;
  hashes: HashAlgorithm[];
  concurrency: number;
  readConcurrency: number;
  name: string | undefined;
  signal: AbortSignal | undefined;
  onProgress: ((progress: BackupProgress) => void) | undefined;
  maxMemory: number;
  retries: number;
  retryDelay: number;
  onFileError: 'fail' | 'skip';
  fileSystem: ContentFileSystem;
}

export interface ResolvedBackupOptions extends ResolvedArchiveOptions {
  out: string;
  sources: string[];
  cwd: string;
  include: string[];
  exclude: string[];
  dot: boolean;
  followSymlinks: boolean;
  maxFileSize: number;
  allowEmpty: boolean;
  replace: boolean;
}

/** 256 MB, or a sixteenth of the machine's memory on a small one. */
export const DEFAULT_MAX_MEMORY = Math.min(256 * 1024 * 1024, Math.floor(totalmem() / 16));
const MIN_BLOCK_SIZE = 64 * 1024;
const SAFE_NAME = /^[A-Za-z0-9._-]+$/;

function integerIn(option: string, value: unknown, min: number, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `an integer from ${min} and up` : `an integer from ${min} to ${max}`;
    throw new OptionError(option, value, range);
  }
  return value;
}

function byteSize(option: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  const parsed = typeof value === 'string' ? bytes.parse(value) : value;
  if (typeof parsed !== 'number' || !Number.isSafeInteger(parsed) || parsed < 0) {
    throw new OptionError(option, value, "a size in bytes, or a string such as '512KB' or '10MB'");
  }
  return parsed;
}

/**
 * The backup's `maxMemory`. Zero is refused, not taken as "no limit" (as `zstd --memory=0` or a
 * quota of 0 might be read) nor silently as the least: a backup always holds two blocks in flight,
 * and a smaller positive limit is raised to that (the README says so).
 */
function blocksInFlightMemory(value: unknown): number {
  const parsed = byteSize('maxMemory', value, DEFAULT_MAX_MEMORY);
  if (parsed === 0) throw new OptionError('maxMemory', value, "a size such as '64MB' (there is no 'no limit': two blocks are always in flight, and leaving it out gives 256MB or 1/16 of the memory)");
  return parsed;
}

/**
 * Exclude patterns, read as `.gitignore` reads them (selection-patterns.ts): a leading `!` takes
 * back what an earlier pattern left out. A `!` with nothing after it names nothing: refused.
 */
function excludePatterns(value: unknown): string[] {
  const patterns = stringList('exclude', value, []);
  const empty = patterns.find((pattern) => /^!\/*$/.test(pattern));
  if (empty !== undefined) throw new OptionError('exclude', empty, 'a pattern; one that starts with ! takes back what an earlier one left out, and needs a pattern after the !');
  return patterns;
}

/** A duration option: milliseconds, or a string such as `'7d'` (the `ms` package). */
export function duration(option: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  const parsed = typeof value === 'string' ? ms(value as ms.StringValue) : value;
  if (typeof parsed !== 'number' || !Number.isSafeInteger(parsed) || parsed < 0) {
    throw new OptionError(option, value, "a duration in milliseconds, or a string such as '7d' or '12h'");
  }
  return parsed;
}

/**
 * zstd's own limit on the window a frame may need (128 MiB): `zstd -d`, GNU tar and bsdtar refuse
 * more unless told (`zstd -d --long=31`). Readers take `maxMemory` to allow up to 2 GiB.
 */
export const DEFAULT_WINDOW_MEMORY = 128 * 1024 * 1024;

/** The `maxMemory` of restore, verify and `ls`: the most memory a zstd frame's window may take. */
export function windowMemory(value: unknown): number {
  const parsed = byteSize('maxMemory', value, DEFAULT_WINDOW_MEMORY);
  if (parsed < 1024) throw new OptionError('maxMemory', value, "a size of at least '1KB' (a zstd window of 2 GiB needs '2GB')");
  return parsed;
}

/** What verify and restore take as their path. */
export const BACKUP_PATH = 'a manifest, an archive, or a folder of backups';

/**
 * A path passed as an argument, not in the options: a non-empty string. Checked up front, since an
 * options object passed in its place (`verifyTask({ path })`) would otherwise fail deep in Node's
 * path functions with a TypeError that names neither the call nor the argument.
 */
export function pathArgument(api: string, name: string, value: unknown, what: string): string {
  if (typeof value !== 'string' || value === '') throw new OptionError(name, value, `${what} (a string: ${api} takes it first, the options after it)`);
  return value;
}

/** An array of non-empty strings; one string is taken as an array of one, as `gulp.src` takes it. */
export function stringList(option: string, value: unknown, fallback: string[]): string[] {
  if (value === undefined) return fallback;
  if (typeof value === 'string' && value !== '') return [value];
  if (!Array.isArray(value) || value.some((item) => typeof item !== 'string' || item === '')) {
    throw new OptionError(option, value, 'a string or an array of non-empty strings');
  }
  return value as string[];
}

function booleanOption(option: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new OptionError(option, value, 'true or false');
  return value;
}

function oneOf<T extends string>(option: string, value: unknown, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (!allowed.includes(value as T)) throw new OptionError(option, value, `one of ${allowed.map((a) => `'${a}'`).join(', ')}`);
  return value as T;
}

function hashList(value: unknown): HashAlgorithm[] {
  // 'sha256,md5' as the CLI's --hash takes it.
  const list = stringList('hashes', typeof value === 'string' ? value.split(',').map((name) => name.trim()) : value, ['sha256']);
  if (list.length === 0) throw new OptionError('hashes', value, `at least one of ${HASH_ALGORITHMS.join(', ')}`);
  const available = new Set(getHashes());
  for (const name of list) {
    if (!HASH_ALGORITHMS.includes(name as HashAlgorithm) || !available.has(name)) {
      throw new OptionError('hashes', name, `one of ${HASH_ALGORITHMS.join(', ')}`);
    }
  }
  return [...new Set(list)] as HashAlgorithm[];
}

const CHAIN_KEYS = ['kind', 'since', 'fullEvery', 'fullMaxAge', 'checksum', 'compareCtime', 'compareInode', 's3'] as const;
export const ARCHIVE_KEYS = [
  ...CHAIN_KEYS,
  ...(['codec', 'level', 'blockSize', 'hashes', 'concurrency', 'readConcurrency', 'name', 'signal', 'onProgress', 'maxMemory', 'retries', 'retryDelay', 'onFileError', 'fileSystem'] as const),
] as const;
/** The keys of `ArchiveOptions` (what the `backup()` plugin takes besides where the backup goes). */
export const ARCHIVE_OPTION_KEYS = optionKeys<ArchiveOptions>()(...ARCHIVE_KEYS);
/** The keys of `BackupOptions` (`createBackup`, `backupTask`). */
export const BACKUP_OPTION_KEYS = optionKeys<BackupOptions>()(...ARCHIVE_KEYS, 'out', 'sources', 'cwd', 'include', 'exclude', 'excludeFrom', 'dot', 'followSymlinks', 'maxFileSize', 'allowEmpty', 'replace');

/** Checks and fills in the archive options; `api` names the caller in the message about an unknown key. */
export function resolveArchiveOptions(options: ArchiveOptions, api = 'backup()'): ResolvedArchiveOptions {
  if (options === null || typeof options !== 'object') throw new OptionError('options', options, 'an object');
  rejectUnknownKeys(api, options, ARCHIVE_OPTION_KEYS);
  return resolveArchiveFields(options);
}

function resolveArchiveFields(options: ArchiveOptions): ResolvedArchiveOptions {
  if (options.name !== undefined && (typeof options.name !== 'string' || !SAFE_NAME.test(options.name))) {
    throw new OptionError('name', options.name, 'a file name of letters, digits, dots, dashes and underscores');
  }
  // `predeploy.tar.gz` would make predeploy.tar.gz.tar.gz: the name is what comes before the suffixes.
  const base = typeof options.name === 'string' ? backupBaseName(options.name) : undefined;
  if (base !== undefined) {
    throw new OptionError('name', options.name, `the base name of the backup's files, without a suffix: ${base} (the suffixes are added: .tar.gz, .tar.gz.sha256, .manifest.jsonl)`);
  }
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) {
    throw new OptionError('signal', options.signal, 'an AbortSignal');
  }
  if (options.onProgress !== undefined && typeof options.onProgress !== 'function') {
    throw new OptionError('onProgress', options.onProgress, 'a function');
  }
  const codec = codecNamed(oneOf('codec', options.codec, CODEC_NAMES, 'gzip'), 'codec');
  if (!codec.compresses && options.level !== undefined && options.level !== 0) {
    throw new OptionError('level', options.level, `left out with codec ${codec.name}, which compresses nothing`);
  }
  // Whether this Node.js has the codec is checked when a backup starts (createBackup, the
  // plugin), not here: a gulpfile that also has a zstd task must still load on an older Node.
  const blockSize = byteSize('blockSize', options.blockSize, codec.defaultBlockSize);
  if (blockSize < MIN_BLOCK_SIZE || blockSize > MAX_BLOCK_SIZE || blockSize % 512 !== 0) {
    throw new OptionError('blockSize', options.blockSize, 'a multiple of 512 bytes from 64KB to 64MB');
  }
  return {
    codec: codec.name,
    level: integerIn('level', options.level, codec.levels.min, codec.levels.max, codec.levels.default),
    blockSize,
    hashes: hashList(options.hashes),
    concurrency: integerIn('concurrency', options.concurrency, 1, 1024, availableParallelism()),
    readConcurrency: integerIn('readConcurrency', options.readConcurrency, 1, 256, 1),
    name: options.name,
    signal: options.signal,
    onProgress: options.onProgress,
    maxMemory: blocksInFlightMemory(options.maxMemory),
    retries: integerIn('retries', options.retries, 0, 100, 3),
    retryDelay: integerIn('retryDelay', options.retryDelay, 0, 60_000, 100),
    onFileError: oneOf('onFileError', options.onFileError, ['fail', 'skip'] as const, 'fail'),
    fileSystem: withFileSystem(options.fileSystem),
    ...resolveChainOptions(options),
  };
}

const DAY_MS = 24 * 60 * 60 * 1000;

function resolveChainOptions(options: ChainOptions): ResolvedChainOptions {
  if (options.since !== undefined && (typeof options.since !== 'string' || options.since === '')) {
    throw new OptionError('since', options.since, 'the path of a manifest or of a folder of backups');
  }
  return {
    kind: oneOf('kind', options.kind, KINDS, 'full'),
    since: options.since === undefined ? undefined : resolveLocation(options.since),
    fullEvery: integerIn('fullEvery', options.fullEvery, 1, Number.MAX_SAFE_INTEGER, 10),
    fullMaxAgeMs: duration('fullMaxAge', options.fullMaxAge, 7 * DAY_MS),
    checksum: booleanOption('checksum', options.checksum, false),
    compareCtime: booleanOption('compareCtime', options.compareCtime, true),
    compareInode: booleanOption('compareInode', options.compareInode, true),
    stores: storesFor(options.s3),
  };
}

function isExistingFolder(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false })?.isDirectory() === true;
}

export function resolveBackupOptions(options: BackupOptions, api = 'createBackup()'): ResolvedBackupOptions {
  if (options === null || typeof options !== 'object') throw new OptionError('options', options, 'an object');
  if ('dryRun' in options) throw new OptionError('dryRun', (options as { dryRun: unknown }).dryRun, `${api} always writes; a dry run is previewBackup(options), which writes nothing`, true);
  rejectUnknownKeys(api, options, BACKUP_OPTION_KEYS);
  const archive = resolveArchiveFields(options);
  if (typeof options.out !== 'string' || options.out === '') {
    throw new OptionError('out', options.out, 'the path of the output folder, or s3://bucket/prefix');
  }
  // `-o backups/site.tar.gz` means a name, not a folder named so (unless one already is).
  if (backupBaseName(options.out) !== undefined && !isS3Location(options.out) && !isExistingFolder(resolve(options.out))) {
    throw new OptionError('out', options.out, 'the folder to write the backup into; name its files with `name` (--name), which takes the part before .tar.gz');
  }
  const cwd = resolve(options.cwd ?? process.cwd());
  const sources = stringList('sources', options.sources, ['.']);
  if (sources.length === 0) throw new OptionError('sources', options.sources, 'at least one file or folder');
  return {
    ...archive,
    out: resolveLocation(options.out),
    sources,
    cwd,
    include: stringList('include', options.include, ['**']),
    exclude: excludePatterns([...stringList('exclude', options.exclude, []), ...patternsFrom(stringList('excludeFrom', options.excludeFrom, []).map((file) => resolve(cwd, file)))]),
    dot: booleanOption('dot', options.dot, true),
    followSymlinks: booleanOption('followSymlinks', options.followSymlinks, false),
    maxFileSize: byteSize('maxFileSize', options.maxFileSize, Number.MAX_SAFE_INTEGER),
    allowEmpty: booleanOption('allowEmpty', options.allowEmpty, false),
    replace: booleanOption('replace', options.replace, false),
  };
}

/** How the engine chooses the files, as the manifest records it (for `verify --source` and later backups). */
export function selectionOf(resolved: ResolvedBackupOptions): Selection {
  return {
    sources: resolved.sources,
    include: resolved.include,
    exclude: resolved.exclude,
    dot: resolved.dot,
    followSymlinks: resolved.followSymlinks,
    ...(resolved.maxFileSize < Number.MAX_SAFE_INTEGER ? { maxFileSize: resolved.maxFileSize } : {}),
  };
}
