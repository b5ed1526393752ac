/**
 * The `restore()` gulp plugin: turns each backup archive that passes through (or its manifest)
 * into vinyl files, one per entry, for `gulp.dest()` to write. Paths follow restore's safety
 * rules (refused entries end in a PluginError that names them), devices and FIFOs are skipped (and
 * logged), hard links come out as copies of their targets (hard-link-copies.ts), and with a
 * manifest each file's SHA-256 is checked before it is emitted. Each file is held in memory
 * while it passes; for large archives, `restoreBackup` or `restoreTask` write straight to disk.
 * A point of a chain (an incremental or differential backup, named by its manifest or its archive
 * with `read: false`) comes out whole: each file is read from the archive of the chain that holds it.
 *
 * @example
 * gulp.src('backups/site.tar.gz', { read: false }).pipe(restore()).pipe(gulp.dest('site'))
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { log } from './logger.js';
import PluginError from 'plugin-error';
import File from 'vinyl';
import type { TarEntry } from '../format/tar-entry-stream.js';
import { expandSparse } from '../engine/read/sparse.js';
import { BackupReader } from '../engine/read/backup-reader.js';
import { includeMatcher } from '../engine/read/include-matcher.js';
import { decompressedCopyWarning } from '../engine/read/decompressed-copy.js';
import { recompressedCopyWarning } from '../engine/read/recompressed-copy.js';
import { brokenChainWarning } from '../engine/read/backup-content.js';
import { convertedLineEndingsWarning } from '../format/manifest-line-endings.js';
import { digestName, expectedDigest, type ExpectedDigest } from '../engine/read/expected-digest.js';
import { isManifestFileName } from '../engine/chain/locate-backup.js';
import { hasEscapedBytes } from '../format/path-bytes.js';
import { nanosecondsToMilliseconds } from '../engine/read/time.js';
import { DEFAULT_MAX_DEPTH, safeEntryPath, symlinkTargetRefusal } from '../engine/read/safe-paths.js';
import { PLUGIN_NAME, streamError } from './stream-error.js';
import { malformedEntry } from '../engine/read/malformed-entry.js';
import { MULTIVOLUME_CONTINUATION } from '../engine/read/archive-format.js';
import { HardLinkCopies, type EntryToEmit } from './hard-link-copies.js';
import { OptionError } from '../errors.js';
import { defaultInflateWorkers } from '../engine/block-codec-pool.js';
import { optionKeys, rejectUnknownKeys } from '../engine/option-keys.js';
import { stringList, windowMemory } from '../engine/options.js';
import { formatBytes } from '../report/format.js';

/**
 * A vinyl file holds its content in memory: a larger file (or a sparse one that expands past it,
 * which an archive can claim at any size) is refused by name instead of exhausting memory.
 */
const MAX_VINYL_BYTES = 2 * 1024 ** 3;

function tooLarge(path: string, size: number): string {
  return `${path}: ${formatBytes(size)} is more than a vinyl file holds in memory here (${formatBytes(MAX_VINYL_BYTES)}); restore it with restoreTask or gulp-backup restore, which write to disk as they read`;
}

export interface RestorePluginOptions {
  /** Emit only entries whose archive path matches one of these globs (a pattern without `/` matches a name at any depth, as create's do). */
  include?: string | string[];
  /**
   * The most memory a zstd frame's window may take, for a `.tar.zst` made with `zstd --long`
   * (bytes, or a string such as `'2GB'`). Default `'128MB'`, zstd's own limit.
   */
  maxMemory?: number | string;
}

const RESTORE_PLUGIN_KEYS = optionKeys<RestorePluginOptions>()('include', 'maxMemory');

export function restore(options: RestorePluginOptions = {}): Transform {
  let include: ((path: string) => boolean) | undefined;
  let maxMemory: number;
  try {
    if (options === null || typeof options !== 'object') throw new OptionError('options', options, 'an object');
    rejectUnknownKeys('restore()', options, RESTORE_PLUGIN_KEYS);
    include = options.include === undefined ? undefined : includeMatcher(stringList('include', options.include, []));
    maxMemory = windowMemory(options.maxMemory);
  } catch (error) {
    throw new PluginError(PLUGIN_NAME, error as Error);
  }
  return new Transform({
    objectMode: true,
    transform(file: File, _encoding: BufferEncoding, callback: TransformCallback) {
      emitEntries(file, { include, maxMemory }, (vinyl) => this.push(vinyl)).then(
        (refused) => {
          if (refused.length === 0) callback();
          else callback(streamError(`${file.relative}: entries not restored:\n${refused.join('\n')}`, file.path));
        },
        (error: unknown) => callback(streamError(error as Error, file.path)),
      );
    },
  });
}

async function emitEntries(
  file: File,
  { include, maxMemory }: { include: ((path: string) => boolean) | undefined; maxMemory: number },
  push: (file: File) => void,
): Promise<string[]> {
  // A manifest stands for its backup, whose archive is beside it; so does a file read with `read: false`.
  const byPath = file.isNull() || isManifestFileName(file.path);
  // The manifest beside the archive, when there is one: hashes to check, or a chain to follow.
  const located = byPath ? await BackupReader.open(file.path) : await BackupReader.open(file.path).catch(() => undefined);
  const base = join(file.cwd, '.gulp-backup-restore');
  if (located?.convertedLineEndings) log.warn(`gulp-backup: ${convertedLineEndingsWarning(located.manifestPath!)}`);
  if (located?.manifest?.entries.some((entry) => entry.heldBy !== undefined)) return emitChainPoint(located, base, include, push);
  const hashes = new Map((located?.manifest?.entries ?? []).map((entry) => [entry.path, expectedDigest(entry.hashes)]));
  // Otherwise the bytes that came down the pipeline are the archive.
  const reader = byPath ? located! : BackupReader.ofBytes(file.isBuffer() ? Readable.from([file.contents]) : (file.contents as unknown as Readable), file.path);
  const refused: string[] = [];
  const warnings: string[] = [];
  // As restore reads an archive without a manifest: the compressed stream is read to its end, so a
  // cut-short .tar.gz fails here as it does there (and as gzip -d does); a missing one is named.
  // With a manifest, only the files that links name are held for them; without one, any may be.
  const linked = located?.manifest?.entries.filter((entry) => entry.type === 'hardlink').map((entry) => String(entry.linkTarget));
  const links = new HardLinkCopies(linked ? new Set(linked) : undefined);
  for await (const entry of reader.entries({ warnings, maxMemory })) {
    const vinyl = await toVinyl(entry, base, include, hashes, refused, links, warnings);
    if (vinyl) push(vinyl);
  }
  for (const warning of warnings) log.warn(`gulp-backup: ${warning}`);
  return refused;
}

async function toVinyl(
  entry: TarEntry,
  base: string,
  include: ((path: string) => boolean) | undefined,
  hashes: Map<string, ExpectedDigest | undefined>,
  refused: string[],
  links: HardLinkCopies,
  warnings: string[],
): Promise<File | undefined> {
  if (include && !include(entry.path)) return undefined;
  const { type } = entry;
  const mtime = new Date(nanosecondsToMilliseconds(entry.mtimeNs));
  if (type === 'hardlink') {
    const copy = links.resolve({ path: entry.path, linkTarget: entry.linkTarget, mode: entry.mode, mtime });
    if (typeof copy === 'string') refused.push(`${entry.path}: ${copy}`);
    return typeof copy === 'string' ? undefined : vinylOf(copy, base, undefined, refused);
  }
  if (type === 'multivolume continuation') {
    refused.push(`${entry.path}: ${MULTIVOLUME_CONTINUATION}`);
    return undefined;
  }
  if (type !== 'file' && type !== 'directory' && type !== 'symlink') {
    // Devices and FIFOs are never made (restore's rule); a volume label names no file.
    if (type !== 'volume label') warnings.push(`skipped ${JSON.stringify(entry.path)}: a ${type} entry is never created`);
    return undefined;
  }
  const size = entry.sparse?.realSize ?? entry.size;
  if (type === 'file' && size > MAX_VINYL_BYTES) {
    refused.push(tooLarge(entry.path, size));
    return undefined; // its content is skipped by the reader, never held
  }
  const chunks: Buffer[] = [];
  for await (const chunk of entry.sparse ? expandSparse(entry.content(), entry.sparse) : entry.content()) chunks.push(Buffer.from(chunk));
  const emit: EntryToEmit = { path: entry.path, type, mode: entry.mode, mtime, linkTarget: entry.linkTarget, contents: Buffer.concat(chunks) };
  const vinyl = vinylOf(emit, base, hashes.get(entry.path), refused);
  if (vinyl) links.remember(emit);
  return vinyl;
}

/** A vinyl file for an entry, under restore's path rules; a refusal is recorded and nothing emitted. */
function vinylOf(entry: EntryToEmit, base: string, digest: ExpectedDigest | undefined, refused: string[]): File | undefined {
  const { type } = entry;
  const safe = safeEntryPath(entry.path, { maxDepth: DEFAULT_MAX_DEPTH });
  if ('refused' in safe) {
    refused.push(`${entry.path}: ${safe.refused}`);
    return undefined;
  }
  // Vinyl paths are strings and gulp.dest writes them as UTF-8: a name that is not would land under another name.
  if (hasEscapedBytes(entry.path) || (type === 'symlink' && hasEscapedBytes(entry.linkTarget ?? ''))) {
    refused.push(`${entry.path}: its name (or link target) is not UTF-8, which gulp.dest cannot write as it is; restore it with restoreTask or gulp-backup restore`);
    return undefined;
  }
  const { mtime } = entry;
  const stat = { mode: entry.mode, mtime, atime: mtime, isDirectory: () => type === 'directory', isSymbolicLink: () => type === 'symlink', isFile: () => type === 'file' };
  const path = join(base, safe.path);
  if (type === 'directory') return new File({ base, path, contents: null, stat: stat as never });
  if (type === 'symlink') {
    const refusal = symlinkTargetRefusal(safe.path, entry.linkTarget ?? '');
    if (refusal) {
      refused.push(`${entry.path}: ${refusal}`);
      return undefined;
    }
    const link = new File({ base, path, contents: null, stat: stat as never });
    link.symlink = entry.linkTarget!;
    return link;
  }
  if (digest !== undefined && createHash(digest.algorithm).update(entry.contents).digest('hex') !== digest.hex) {
    refused.push(`${entry.path}: its content does not match its ${digestName(digest.algorithm)} in the manifest`);
    return undefined;
  }
  return new File({ base, path, contents: entry.contents, stat: stat as never });
}

/**
 * A point of a backup chain: its entries from its manifest, each file's content read from the
 * archive of the chain that holds it (only the blocks needed, one reader per archive).
 */
async function emitChainPoint(backup: BackupReader, base: string, include: ((path: string) => boolean) | undefined, push: (file: File) => void): Promise<string[]> {
  const manifest = backup.manifest!;
  const refused: string[] = [];
  // The manifest is as untrusted as the archive: a malformed record is refused, as restore refuses it.
  const wellFormed = manifest.entries.filter((entry) => {
    const malformed = malformedEntry(entry);
    if (malformed) refused.push(`${String(entry.path)}: refused: its manifest record is malformed (${malformed})`);
    return !malformed;
  });
  const chosen = wellFormed.filter((entry) => {
    if (include && !include(entry.path)) return false;
    if (entry.type === 'file' && entry.size > MAX_VINYL_BYTES) refused.push(tooLarge(entry.path, entry.size));
    return entry.type !== 'file' || entry.size <= MAX_VINYL_BYTES;
  });
  const links = new HardLinkCopies(new Set(chosen.filter((entry) => entry.type === 'hardlink').map((entry) => String(entry.linkTarget))));
  const content = await backup.content(
    chosen.filter((entry) => entry.type !== 'hardlink'),
    { concurrency: defaultInflateWorkers() },
  );
  // What restore says too: a chain bridged by id, an archive stored without its compression.
  if (content.brokenChain) log.warn(`gulp-backup: ${brokenChainWarning(content.brokenChain)}`);
  for (const { archivePath, codec } of content.decompressedCopies) log.warn(`gulp-backup: ${decompressedCopyWarning(archivePath, codec)}`);
  for (const { archivePath, codec } of content.recompressedCopies) log.warn(`gulp-backup: ${recompressedCopyWarning(archivePath, codec)}`);
  try {
    for (const entry of chosen) {
      const mtime = new Date(nanosecondsToMilliseconds(BigInt(entry.mtimeNs)));
      if (entry.type === 'hardlink') {
        const copy = links.resolve({ path: entry.path, linkTarget: entry.linkTarget, mode: entry.mode, mtime });
        if (typeof copy === 'string') refused.push(`${entry.path}: ${copy}`);
        const vinyl = typeof copy === 'string' ? undefined : vinylOf(copy, base, undefined, refused);
        if (vinyl) push(vinyl);
        continue;
      }
      const chunks: Buffer[] = [];
      try {
        if (entry.type === 'file') await content.read(entry, async (bytes) => void chunks.push(Buffer.from(bytes)));
      } catch (error) {
        refused.push(`${entry.path}: ${(error as Error).message}`);
        continue;
      }
      const emit: EntryToEmit = { path: entry.path, type: entry.type as EntryToEmit['type'], mode: entry.mode, mtime, linkTarget: entry.linkTarget, contents: Buffer.concat(chunks) };
      const vinyl = vinylOf(emit, base, expectedDigest(entry.hashes), refused);
      if (vinyl) {
        links.remember(emit);
        push(vinyl);
      }
    }
  } finally {
    await content.close();
  }
  return refused;
}
