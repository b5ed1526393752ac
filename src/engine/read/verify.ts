/**
 * `verifyBackup`: proves that an archive is intact, or says exactly which files are damaged.
 *
 * With the manifest: the archive's size and SHA-256, every block's frame, checksum and length
 * (inflated in parallel), the end marker, and every entry's tar header and content hashes. A
 * damaged block names the entries in it; the other blocks are still checked.
 * With only an archive: block checksums, lengths, end marker and tar structure; file hashes are not checked.
 */
import { resolve } from 'node:path';
import { AbortError, BackupError, OptionError } from '../../errors.js';
import { BACKUP_PATH, pathArgument, windowMemory } from '../options.js';
import { codecNamed, containerOf, readableCodec } from '../../format/codecs/codecs.js';
import { noneCodec } from '../../format/codecs/none-codec.js';
import type { Manifest, ManifestEntry } from '../../format/manifest.js';
import { groupByHolder } from '../chain/backup-chain.js';
import { BackupReader } from './backup-reader.js';
import { TAR_END_OF_ARCHIVE } from '../../format/tar-header.js';
import { TarFormatError, isAllZeros, readTarEntries, type TarStreamEnd } from '../../format/tar-entry-stream.js';
import { ArchiveReader, type ReadBlock } from './archive-reader.js';
import { freeNow } from '../free-now.js';
import type { StoredFile } from '../../store/backup-store.js';
import type { BlockRange } from '../block-codec-pool.js';
import { optionKeys, rejectUnknownKeys } from '../option-keys.js';
import { COMPRESSION_HEAD_BYTES, MULTIVOLUME_CONTINUATION, compressionOf, moreAfterEnd, isDecompressionError, notTarAtAll, tarBytesOf, type ArchiveCompression } from './archive-format.js';
import { BlockCodecPool, defaultInflateWorkers } from '../block-codec-pool.js';
import { compareWithTree, type TreeComparison } from './compare-tree.js';
import { decompressedCopyWarning, isDecompressedCopy } from './decompressed-copy.js';
import { refuseLfsPointer } from '../../format/lfs-pointer.js';
import { isRecompressedCopy, recompressedCopyWarning } from './recompressed-copy.js';
import { convertedLineEndingsWarning } from '../../format/manifest-line-endings.js';
import { EntryChecker, type EntryReport } from './entry-checker.js';
import { skippedWhenMade } from './skipped-when-made.js';
import { notFound } from '../chain/locate-backup.js';
import { ProgressTracker, type BackupProgress } from '../progress.js';
import { isS3Location, localFolderOf, nameOf as basename } from '../../store/location.js';
import type { StoreCounters } from '../../store/s3-connection.js';
import type { S3Settings } from '../../store/s3-settings.js';
import { storesFor, type Stores } from '../../store/stores.js';

export interface VerifyOptions {
  /**
   * Also compare the manifest with this live tree (the folder the backup's paths are relative to):
   * changed, missing and new files, like `sha256sum -c` and `tar --compare`.
   */
  source?: string;
  /** Inflate workers. Default: the number of cores. */
  concurrency?: number;
  /**
   * The most memory a zstd frame's window may take, for a `.tar.zst` made with `zstd --long`
   * (bytes, or a string such as `'2GB'`). Default `'128MB'`, zstd's own limit.
   */
  maxMemory?: number | string;
  signal?: AbortSignal;
  /** Called with progress events: archive bytes read so far and in all (phase `verify`, then `done`). */
  onProgress?: (progress: BackupProgress) => void;
  /** How to reach S3 when the backup is at `s3://bucket/prefix`. */
  s3?: S3Settings;
}

export type ArchiveLayout = 'blocked' | 'gzip' | 'zstd' | 'tar';

export interface VerifyReport {
  /** True when nothing is wrong. */
  ok: boolean;
  archivePath: string;
  manifestPath: string | undefined;
  /** False when there was no manifest: file hashes could not be checked. */
  hashesChecked: boolean;
  /**
   * How the archive is laid out, which says what could be checked without a manifest: `blocked`
   * (ours: blocks compressed apart, each with its checksum and length), `gzip` or `zstd` (another
   * tool's stream, read in one pass: its checksums, and it counts as one block), `tar` (no
   * compression: no checksum of any content, only the headers').
   */
  layout: ArchiveLayout;
  /** Every archive checked: this backup's, and those of its chain that hold some of its content. */
  archives: string[];
  /** What is wrong with the archive as a whole: checksum, size, truncation, damaged blocks. */
  problems: string[];
  /** What is odd but harmless (bytes after the last gzip member, ignored as gzip does). */
  warnings: string[];
  /** Every entry: `ok`, `damaged` (and why) or `missing`. */
  entries: EntryReport[];
  counts: { entries: number; ok: number; damaged: number; missing: number; blocks: number; damagedBlocks: number };
  /** With `source`: how the live tree differs from the manifest. */
  source?: TreeComparison;
  /** Requests to object storage when the backup is in a bucket: bytes fetched, retries. */
  store?: StoreCounters;
  elapsedMs: number;
}

/**
 * Verifies a backup from its manifest (`NAME.manifest.jsonl`) or its archive (`NAME.tar.gz`; the
 * manifest beside it is used when there is one).
 *
 * @example
 * const report = await verifyBackup('backups/nightly.manifest.jsonl');
 * if (!report.ok) console.error(report.problems, report.entries.filter((e) => e.status !== 'ok'));
 */
const VERIFY_OPTION_KEYS = optionKeys<VerifyOptions>()('source', 'concurrency', 'maxMemory', 'signal', 'onProgress', 's3');

/** Checks verify options without doing anything (tasks call it when the gulpfile loads). */
export function validateVerifyOptions(options: VerifyOptions, api = 'verifyBackup()', extraKeys: readonly string[] = []): { concurrency: number; maxMemory: number } {
  if (options === null || typeof options !== 'object') throw new OptionError('options', options, 'an object');
  rejectUnknownKeys(api, options, new Set([...VERIFY_OPTION_KEYS, ...extraKeys]));
  const concurrency = options.concurrency ?? defaultInflateWorkers();
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 1024) {
    throw new OptionError('concurrency', concurrency, 'an integer from 1 to 1024');
  }
  if (options.source !== undefined && (typeof options.source !== 'string' || options.source === '')) {
    throw new OptionError('source', options.source, 'the path of the live tree to compare with');
  }
  return { concurrency, maxMemory: windowMemory(options.maxMemory) };
}

export async function verifyBackup(path: string, options: VerifyOptions = {}): Promise<VerifyReport> {
  pathArgument('verifyBackup()', 'path', path, BACKUP_PATH);
  const start = performance.now();
  const { concurrency, maxMemory } = validateVerifyOptions(options);
  const stores = storesFor(options.s3);
  const requestsBefore = stores.counters();
  const pool = new BlockCodecPool(concurrency);
  // A damaged manifest is damage to report: the archive beside it is still checked on its own.
  // A long one is a large backup: its worker comes online while the rest of it is decoded.
  const backup = await BackupReader.open(path, stores, { archiveWhenManifestUnreadable: true, onLongManifest: () => pool.startOne() }).catch(async (error: unknown) => {
    await pool.close();
    throw error;
  });
  const { manifest, manifestPath, archivePath } = backup;
  const progress = new ProgressTracker(options.onProgress);
  progress.filesTotal = manifest?.entries.length ?? 0;
  const context: CheckContext = { pool, concurrency, maxMemory, signal: options.signal, progress, stores };
  try {
    if (options.source !== undefined && !manifest) {
      throw new OptionError('source', options.source, 'used with a manifest (no NAME.manifest.jsonl was found beside the archive)');
    }
    const problems: string[] = [];
    const warnings: string[] = [];
    const unreadable = backup.unreadableManifest;
    if (unreadable) problems.push(`its manifest ${unreadable.path} cannot be read (${unreadable.reason}): the archive was checked on its own, without file hashes`);
    if (backup.convertedLineEndings) warnings.push(convertedLineEndingsWarning(manifestPath!));
    const leftOut = manifest && skippedWhenMade(manifest);
    if (leftOut) warnings.push(leftOut);
    const archives: string[] = [];
    const counts = { blocks: 0, damagedBlocks: 0 };
    let entries: EntryReport[];
    let layout: ArchiveLayout = manifest?.header.options.codec === 'none' ? 'tar' : 'blocked';
    if (!manifest) {
      progress.bytesTotal = await archiveSize(archivePath, undefined, stores);
      progress.enter('verify');
      const checked = await checkArchive({ archivePath, manifest: undefined }, context);
      archives.push(archivePath);
      problems.push(...checked.problems);
      warnings.push(...checked.warnings);
      entries = checked.entries;
      layout = checked.layout;
      counts.blocks += checked.blocks;
      counts.damagedBlocks += checked.damagedBlocks;
    } else {
      // A point of a chain: every archive that holds some of its content is checked, for those entries.
      const { holders, broken } = await backup.holders();
      if (broken) problems.push(`broken chain: ${broken.message}`);
      const ownId = manifest.header.id;
      // This backup's own archive is always checked, even when it holds no file.
      const byHolder = groupByHolder(manifest.entries, ownId, new Map([[ownId, []]]));
      // For the progress total only: a missing archive is reported where it is checked.
      const sizes = await Promise.all([...byHolder.keys()].map((id) => holders.get(id)).map((h) => (h ? archiveSize(h.archivePath, h.manifestPath, stores).catch(() => 0) : 0)));
      progress.bytesTotal = sizes.reduce((sum, size) => sum + size, 0);
      progress.enter('verify');
      const reports = new Map<ManifestEntry, EntryReport>();
      for (const [id, held] of byHolder) {
        const holder = holders.get(id);
        if (!holder) {
          for (const entry of held) reports.set(entry, { path: entry.path, type: entry.type, status: 'missing', reason: `held by backup ${id}, which could not be reached` });
          continue;
        }
        const prefix = id === ownId ? '' : `${basename(holder.archivePath)} (held content): `;
        let checked: ArchiveCheck;
        try {
          checked = await checkArchive({ archivePath: holder.archivePath, manifest: { ...holder, entries: held } }, context);
        } catch (error) {
          // A missing archive of the chain: its entries are missing, the other archives are still checked.
          if (!(error instanceof BackupError) || error.code !== 'SOURCE_NOT_FOUND') throw error;
          problems.push(prefix + error.message);
          for (const entry of held) reports.set(entry, { path: entry.path, type: entry.type, status: 'missing', reason: `its archive ${holder.archivePath} is missing` });
          continue;
        }
        archives.push(holder.archivePath);
        problems.push(...checked.problems.map((problem) => prefix + problem));
        warnings.push(...checked.warnings.map((warning) => prefix + warning));
        if (id === ownId) layout = checked.layout; // 'tar' when the archive is stored decompressed
        held.forEach((entry, i) => reports.set(entry, checked.entries[i]!));
        counts.blocks += checked.blocks;
        counts.damagedBlocks += checked.damagedBlocks;
      }
      entries = manifest.entries.map((entry) => reports.get(entry)!);
    }
    progress.filesDone = entries.length;
    progress.enter('done');
    const backupFolder = localFolderOf(manifestPath);
    const source = options.source !== undefined ? await compareWithTree(manifest!, resolve(options.source), backupFolder) : undefined;
    const sourceDiffers = source !== undefined && source.changed.length + source.missing.length + source.new.length > 0;
    const count = (status: EntryReport['status']) => entries.filter((entry) => entry.status === status).length;
    const allCounts = { entries: entries.length, ok: count('ok'), damaged: count('damaged'), missing: count('missing'), ...counts };
    return {
      ok: problems.length === 0 && allCounts.damaged === 0 && allCounts.missing === 0 && !sourceDiffers,
      archivePath,
      manifestPath,
      hashesChecked: manifest !== undefined,
      layout,
      archives,
      problems,
      warnings,
      entries,
      counts: allCounts,
      ...(source ? { source } : {}),
      ...(isS3Location(archivePath) ? { store: stores.since(requestsBefore) } : {}),
      elapsedMs: performance.now() - start,
    };
  } catch (error) {
    if (options.signal?.aborted) throw new AbortError(options.signal.reason);
    throw error;
  } finally {
    await pool.close();
  }
}

async function archiveSize(archivePath: string, manifestPath: string | undefined, stores: Stores): Promise<number> {
  const file = await openArchive(archivePath, manifestPath, stores);
  await file.close();
  return file.size;
}

function openArchive(archivePath: string, manifestPath: string | undefined, stores: Stores): Promise<StoredFile> {
  const { store, name } = stores.file(archivePath);
  return store.open(name).catch((error: unknown) => {
    throw notFound(archivePath, error, manifestPath ? `the archive that ${basename(manifestPath)} names is not beside it` : undefined);
  });
}

interface ArchiveToCheck {
  archivePath: string;
  /** The manifest's header and footer, and the entries whose content this archive holds. */
  manifest: Pick<Manifest, 'header' | 'footer' | 'entries'> | undefined;
}

interface ArchiveCheck {
  layout: ArchiveLayout;
  problems: string[];
  entries: EntryReport[];
  blocks: number;
  damagedBlocks: number;
  warnings: string[];
}

/** What every archive of one verify is checked with. */
interface CheckContext {
  pool: BlockCodecPool;
  concurrency: number;
  /** The most memory a zstd window may take (another tool's `.tar.zst`). */
  maxMemory: number;
  signal: AbortSignal | undefined;
  progress: ProgressTracker;
  stores: Stores;
}

/** One archive: its size and SHA-256, every block, the end marker, and the given entries. */
async function checkArchive({ archivePath, manifest }: ArchiveToCheck, { pool, concurrency, maxMemory, signal, progress, stores }: CheckContext): Promise<ArchiveCheck> {
  const file = await openArchive(archivePath, undefined, stores);
  const fileSize = file.size;
  try {
    await refuseLfsPointer(file, archivePath);
    const footer = manifest?.footer;
    // Without a manifest the bytes say what the archive is: ours (blocked gzip or zstd, read in
    // parallel), another gzip or zstd stream (read sequentially), or plain tar. With one, its
    // codec, unless the file is its tar stream stored decompressed (decompressed-copy.ts).
    const bytes = { size: fileSize, read: (position: number, length: number) => file.read(position, length) };
    const decompressed = manifest !== undefined && footer !== undefined && (await isDecompressedCopy(file, manifest.header, footer));
    // Recompressed by another tool (recompressed-copy.ts): read as another tool's stream, checked against the manifest.
    const recompressed = manifest !== undefined && footer !== undefined && !decompressed && (await isRecompressedCopy(bytes, manifest.header, footer, archivePath));
    const recorded = manifest && !decompressed && !recompressed ? readableCodec(codecNamed(manifest.header.options.codec, archivePath), archivePath) : undefined;
    const codec = decompressed ? noneCodec : (recorded ?? (fileSize === 0 || recompressed ? undefined : await containerOf(bytes)));
    const compression = codec ? undefined : compressionOf(await file.read(0, COMPRESSION_HEAD_BYTES), archivePath);
    const reader = new ArchiveReader(
      file,
      pool,
      codec ?? noneCodec,
      footer ? { blockSize: footer.blocks.blockSize, offsets: footer.blocks.offsets, tarBytes: footer.totals.tarBytes } : undefined,
    );
    const onRead = (bytes: number) => {
      progress.bytesDone += bytes;
      progress.tick();
    };
    const foreign = compression === 'gzip' || compression === 'zstd';
    const layout: ArchiveLayout = foreign ? compression : codec === undefined || codec === noneCodec ? 'tar' : 'blocked';
    const warnings: string[] = decompressed ? [decompressedCopyWarning(archivePath, manifest!.header.options.codec)] : [];
    if (recompressed) warnings.push(recompressedCopyWarning(archivePath, manifest!.header.options.codec));
    // Files whole in one block are hashed by the worker that decompresses it.
    const plan = manifest && footer && !recompressed ? workerHashPlan(manifest.entries, footer.blocks.blockSize, manifest.header.options.hashes) : undefined;
    const blocks = foreign
      ? decompressedBlocks(archivePath, { onRead, warnings, stores, maxMemory })
      : reader.blocks({ maxInFlight: 2 * concurrency + 1, signal, onRead, ...(plan ? { hashRanges: plan.ranges } : {}) });
    const problems: string[] = [];
    let blockCount = 0;
    let damagedBlocks = 0;
    // Every block is counted, and a damaged one named, whoever reads it.
    const counted = (async function* () {
      for await (const block of blocks) {
        signal?.throwIfAborted();
        // Another tool's stream is one block, however many pieces it is read in.
        blockCount = Math.max(blockCount, block.index + 1);
        if (block.error !== undefined) {
          damagedBlocks++;
          problems.push(foreign ? block.error : `block ${block.index}: ${block.error}`);
        }
        yield block;
      }
    })();
    const check = manifest ? checkAgainstManifest(manifest, plan) : checkStructure(archivePath, compression ?? codec?.name ?? 'none', warnings);
    const entries = await check.run(counted);
    for await (const block of counted) void block; // the rest of the archive: block checksums, lengths, end marker
    if (!foreign) problems.push(...reader.end.problems);
    problems.push(...check.problems);
    const padding = reader.end.zeroPadding;
    if (padding) warnings.push(zeroPaddingWarning(archivePath, padding.bytes, footer !== undefined));
    if (footer && padding && fileSize === footer.archiveFile.size + padding.bytes) {
      // The archive as written, then zeros: proven up to them.
      if (padding.sha256Before !== footer.archiveFile.sha256) problems.unshift('the archive does not match the SHA-256 in its manifest');
    } else if (footer && !decompressed && !recompressed) {
      if (fileSize !== footer.archiveFile.size) problems.unshift(`the archive is ${fileSize} bytes, the manifest says ${footer.archiveFile.size}`);
      else if (reader.end.sha256 !== undefined && reader.end.sha256 !== footer.archiveFile.sha256) {
        problems.unshift('the archive does not match the SHA-256 in its manifest');
      }
    }
    return { layout, problems, entries, blocks: blockCount, damagedBlocks, warnings };
  } finally {
    await file.close();
  }
}

/** What verify says of zeros after the end marker. */
function zeroPaddingWarning(archivePath: string, bytes: number, withManifest: boolean): string {
  return (
    `${archivePath} ends with ${bytes} zero bytes after its end marker (padding, as a tape or dd conv=sync leaves): ignored, as gzip and GNU tar ignore them` +
    (withManifest ? `; the archive before them matches its manifest, but sha256sum -c (of the whole file) fails on it` : '')
  );
}

interface Check {
  /** Reads the blocks it needs (all of them, or up to the end of the tar stream) and reports the entries. */
  run(blocks: AsyncIterable<ReadBlock>): Promise<EntryReport[]>;
  problems: string[];
}

/** Where each file that lies whole in one block is, in block coordinates, and whose it is. */
function workerHashPlan(entries: readonly ManifestEntry[], blockSize: number, algorithms: readonly string[]) {
  const byBlock = new Map<number, BlockRange[]>();
  const owners = new Map<number, number[]>();
  entries.forEach((entry, i) => {
    if (entry.type !== 'file' || !(entry.size > 0) || typeof entry.dataOffset !== 'number') return;
    const block = Math.floor(entry.dataOffset / blockSize);
    if (block < 0 || Math.floor((entry.dataOffset + entry.size - 1) / blockSize) !== block) return;
    if (!byBlock.has(block)) {
      byBlock.set(block, []);
      owners.set(block, []);
    }
    byBlock.get(block)!.push([entry.dataOffset - block * blockSize, entry.size]);
    owners.get(block)!.push(i);
  });
  return { ranges: { byBlock, algorithms }, owners };
}

function checkAgainstManifest(manifest: Pick<Manifest, 'header' | 'footer' | 'entries'>, plan: ReturnType<typeof workerHashPlan> | undefined): Check {
  const tarEnd = manifest.footer.totals.tarBytes - TAR_END_OF_ARCHIVE.length;
  const checker = new EntryChecker(manifest.entries, tarEnd, manifest.header.options.hashes);
  const problems: string[] = [];
  return {
    problems,
    async run(blocks) {
      for await (const block of blocks) {
        const owners = plan?.owners.get(block.index);
        if (owners) block.digests?.forEach((digests, k) => checker.provide(owners[k]!, digests));
        if (block.data) {
          checker.feed(block.tarOffset, block.data); // keeps no view of it
          if (block.exclusive) freeNow(block.data.buffer);
        } else checker.gap(block.tarOffset, block.rawLength, `in damaged block ${block.index}`);
      }
      checker.finish();
      if (checker.trailingGarbage) problems.push('unexpected data after the last entry of the tar stream');
      return checker.reports;
    },
  };
}

/** Without a manifest: walk the tar stream with the tar entry reader to check its structure. */
function checkStructure(path: string, compression: ArchiveCompression, warnings: string[]): Check {
  const problems: string[] = [];
  return {
    problems,
    async run(blocks) {
      const entries: EntryReport[] = [];
      const iterator = blocks[Symbol.asyncIterator]();
      const tar = (async function* () {
        for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
          if (!next.value.data) {
            problems.push(`tar structure not checked past byte ${next.value.tarOffset} of the tar: the entries after damage cannot be located`);
            return;
          }
          yield next.value.data;
        }
      })();
      const end: TarStreamEnd = { endMarker: false, bytes: 0 };
      try {
        // The tar reader stops at the end marker without closing the blocks: the rest is read below.
        for await (const entry of readTarEntries({ [Symbol.asyncIterator]: () => ({ next: () => tar.next() }) }, end)) {
          entries.push({ path: entry.path, type: isEntryType(entry.type) ? entry.type : 'file', status: 'ok' });
          if (entry.type === 'multivolume continuation') warnings.push(`${JSON.stringify(entry.path)}: ${MULTIVOLUME_CONTINUATION}`);
          for await (const chunk of entry.content()) void chunk;
        }
        // No bytes at all is an empty archive (a gzip of nothing), as GNU tar takes it.
        if (!end.endMarker && end.bytes > 0 && problems.length === 0) problems.push('the tar stream has no end-of-archive blocks (it may have been cut short)');
        // The rest is read here, for anything but the zeros that pad an archive.
        let more = end.rest !== undefined && !isAllZeros(end.rest);
        for (let next = await iterator.next(); !next.done; next = await iterator.next()) more ||= next.value.data !== undefined && !isAllZeros(next.value.data);
        if (more) warnings.push(moreAfterEnd(path));
      } catch (error) {
        if (!(error instanceof TarFormatError)) throw error;
        const notTar = notTarAtAll(error, path, compression);
        if (notTar) throw notTar;
        problems.push(`tar structure: ${error.message}`);
      }
      return entries;
    },
  };
}

function isEntryType(type: string): type is EntryReport['type'] {
  return type === 'file' || type === 'directory' || type === 'symlink' || type === 'hardlink';
}

/**
 * Any other .tar.gz (GNU tar, pigz) or .tar.zst: one sequential decompression, as `gzip -t` does,
 * feeding the tar reader. A decompression error ends the walk: without member boundaries nothing
 * after it can be found.
 */
async function* decompressedBlocks(
  path: string,
  { onRead, warnings, stores, maxMemory }: { onRead: (bytes: number) => void; warnings: string[]; stores: Stores; maxMemory: number },
): AsyncGenerator<ReadBlock> {
  const { store, name } = stores.file(path);
  const input = store.stream(name);
  input.on('data', (chunk) => onRead(chunk.length));
  const { compression, tar, gzip } = await tarBytesOf(input, path, { maxMemory });
  let tarOffset = 0;
  try {
    // The pieces of one stream: block 0, each at its place in the tar.
    for await (const data of tar as AsyncIterable<Buffer>) {
      yield { index: 0, tarOffset, rawLength: data.length, archiveOffset: -1, data };
      tarOffset += data.length;
    }
    if (gzip?.trailingGarbage) warnings.push('bytes that are not gzip data follow the last gzip member; they were ignored, as gzip does');
  } catch (error) {
    if (!isDecompressionError(error)) throw error;
    yield { index: 0, tarOffset, rawLength: 0, archiveOffset: -1, error: `the ${compression} stream is damaged after ${tarOffset} bytes of tar: ${(error as Error).message}` };
  } finally {
    tar.destroy();
  }
}
