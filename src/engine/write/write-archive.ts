/**
 * The ordered heart of a backup: for each entry in archive order, the tar header, then the content
 * as it is read, hashed on the way through, into the block writer, which compresses in parallel.
 * Shared by `createBackup` (a file) and the gulp plugin (a stream).
 */
import { createHash, type Hash } from 'node:crypto';
import { AbortError } from '../../errors.js';
import { codecNamed, usableCodec } from '../../format/codecs/codecs.js';
import type { ManifestEntry, SkippedEntry } from '../../format/manifest.js';
import { TAR_END_OF_ARCHIVE, encodeTarHeader, tarPadding } from '../../format/tar-header.js';
import { BlockWriter, type ArchiveSink, type BlockWriterResult } from './block-writer.js';
import { BlockCodecPool } from '../block-codec-pool.js';
import type { ChangeDetector, HeldContent, Verdict } from '../chain/change-detector.js';
import type { ResolvedArchiveOptions } from '../options.js';
import type { ProgressTracker } from '../progress.js';
import { openContent, wholeContent, type OpenedContent, type ReadPolicy } from './file-content.js';
import { ReadAhead } from './read-ahead.js';
import { StreamHasher } from './stream-hasher.js';
import { ManifestSpool } from './manifest-spool.js';
import { RecordTally } from './statistics.js';
import type { ArchiveEntry } from './scan.js';

export interface WrittenArchive {
  /** The manifest's entry records, as lines (settled: every digest is in). */
  records: ManifestSpool;
  /** What the statistics need from the records, counted as they settled. */
  tally: RecordTally;
  /** Entries that could not be stored as scanned (vanished, changed type, unreadable with onFileError: 'skip'). */
  skipped: SkippedEntry[];
  contentBytes: number;
  blocks: BlockWriterResult;
  blockSize: number;
  /** Reads tried again: after a transient error, or because the file changed while it was read. */
  retries: number;
  /** Files whose content the chain already holds: not read (stat mode), not stored. */
  unchangedFiles: number;
  unchangedBytes: number;
  /** File content read from the sources (stored, read again, or hashed to compare in checksum mode). */
  bytesRead: number;
  /** Files read to compare with the parent's hashes (size and mtime as recorded, ctime or inode not; checksum mode: all). */
  comparedFiles: number;
  /** Files that matched the parent's record but were compared again: modified just before its scan. */
  racyFiles: number;
}

/** Files up to this size are read synchronously, straight into the block buffer. */
export const SMALL_FILE_LIMIT = 1024 * 1024;

/**
 * Writes `entries` (in archive order) and returns their manifest records. The list is consumed:
 * each entry is released from it once its turn comes, so that a million scanned entries (~500 B
 * each) are not all held until the manifest is written beside a million records.
 */
export async function writeArchive(
  entries: (ArchiveEntry | undefined)[],
  sink: ArchiveSink,
  options: ResolvedArchiveOptions,
  progress: ProgressTracker,
  changes?: ChangeDetector,
): Promise<WrittenArchive> {
  const codec = usableCodec(codecNamed(options.codec, 'codec'));
  const pool = codec.compresses ? new BlockCodecPool(options.concurrency) : undefined;
  const hasher = new StreamHasher();
  try {
    // A block in flight holds its raw bytes and, once compressed, about as many again.
    const maxInFlight = Math.max(2, Math.min(2 * options.concurrency + 1, Math.floor(options.maxMemory / (2 * options.blockSize))));
    const writer = new BlockWriter(sink, codec, options.level, options.blockSize, pool, maxInFlight, options.hashes);
    const tally = new RecordTally(options.blockSize, changes);
    const records = new ManifestSpool((record) => tally.add(record));
    const skipped: SkippedEntry[] = [];
    let contentBytes = 0;
    let retries = 0;
    let unchangedFiles = 0;
    let unchangedBytes = 0;
    let bytesRead = 0;
    const readPolicy: ReadPolicy = {
      onFileError: options.onFileError,
      retry: { retries: options.retries, delayMs: options.retryDelay, onRetry: () => void retries++ },
    };
    // Files in the tree, stored here or held by the chain: what a hard link may point to.
    const files = new Set<string>();
    // An entry's stat fields as the manifest writes them, and what the stat rule says of its
    // content: decided once per entry (the read-ahead may ask first).
    const decided: ({ stat: Pick<ManifestEntry, 'mtimeNs' | 'ctimeNs' | 'ino'>; verdict: Verdict } | undefined)[] = [];
    const decide = (i: number) => {
      const known = decided[i];
      if (known) return known;
      const entry = entries[i]!;
      const stat = { mtimeNs: entry.mtimeNs.toString(), ctimeNs: entry.ctimeNs.toString(), ino: entry.ino.toString() };
      return (decided[i] = { stat, verdict: entry.type === 'file' ? changes?.check(entry) : undefined });
    };
    // A file to compare is read ahead too: its bytes are hashed to compare, and stored if they differ.
    const readAhead =
      options.readConcurrency > 1
        ? new ReadAhead(entries, options.readConcurrency, SMALL_FILE_LIMIT, options.fileSystem, (i) => decide(i).verdict?.held === undefined)
        : undefined;
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i]!;
      throwIfAborted(options.signal);
      progress.currentFile = entry.path;
      const ahead = readAhead?.take(i);
      const {
        stat: { mtimeNs, ctimeNs, ino },
        verdict,
      } = decide(i);
      decided[i] = undefined; // a million entries should not keep a million of these
      entries[i] = undefined; // nor the scan's list: the read-ahead only looks further on
      // Unchanged: the record points into the archive that holds the content.
      const addHeld = ({ heldBy, size, hashes, offset, dataOffset }: HeldContent) => {
        records.add({ record: 'entry', path: entry.path, type: 'file', size, mode: entry.mode, uid: entry.uid, gid: entry.gid, mtimeNs, ctimeNs, ino, heldBy, hashes, offset, dataOffset });
        unchangedFiles++;
        unchangedBytes += size;
        files.add(entry.path);
        progress.bytesDone += entry.size;
        progress.filesDone++;
        progress.tick();
      };
      let held = verdict?.held;
      if (verdict?.compare !== undefined) {
        const early = await ahead; // awaited again below, when the bytes are stored after all
        held = await changes!.compare(entry, verdict.compare, early && !early.changed ? early.bytes : undefined);
      }
      if (held) {
        addHeld(held);
        continue;
      }
      // A small file whose mtime moved is hashed here as it is stored, so that its digest is known
      // at once: when it is the parent's, its bytes are taken out of the block again.
      const candidate = verdict?.candidate !== undefined && entry.size <= SMALL_FILE_LIMIT ? verdict.candidate : undefined;
      const record: ManifestEntry = {
        record: 'entry',
        path: entry.path,
        type: entry.type,
        size: 0,
        mode: entry.mode,
        uid: entry.uid,
        gid: entry.gid,
        mtimeNs,
        ctimeNs,
        ino,
        ...(entry.linkTarget === undefined ? {} : { linkTarget: entry.linkTarget }),
        offset: writer.position,
      };
      if (entry.type === 'hardlink' && !files.has(entry.linkTarget!)) {
        skipped.push({ path: entry.path, reason: `its hard-link target ${entry.linkTarget} was not stored` });
        progress.filesDone++;
        continue;
      }
      // The file's digests, when they come later (from a worker): the record waits for them.
      let filled: Promise<string[]> | undefined;
      if (entry.type !== 'file') {
        await writer.push(encodeTarHeader(entry, 0));
      } else {
        let stored: number | undefined;
        let skipReason: string | undefined;
        // A file that changed while read is read again, up to `retries` times, while its bytes
        // are still in the block being filled; after that it is stored as read and flagged.
        for (let attempt = 0; stored === undefined; attempt++) {
          const mark = writer.mark();
          // The first try takes what was read ahead, if anything; a second one reads the file itself.
          const early = attempt === 0 ? await ahead : undefined;
          const content = early
            ? wholeContent(early.bytes, early.changed)
            : await openContent(entry.content!, entry.size, SMALL_FILE_LIMIT, options.fileSystem, readPolicy);
          if ('skipped' in content) {
            skipReason = content.skipped;
            break;
          }
          record.size = content.size;
          bytesRead += content.size;
          await writer.push(encodeTarHeader(entry, content.size));
          record.dataOffset = writer.position;
          const hashing = contentHashing(content, writer, hasher, options.hashes, candidate !== undefined);
          try {
            await storeContent(content, writer, hashing, progress, options.signal);
          } catch (error) {
            hashing.discard();
            await content.discard();
            throw error;
          }
          await writer.pushZeros(tarPadding(content.size));
          const changed = content.changed();
          if (changed && attempt < options.retries && writer.rollback(mark)) {
            hashing.discard();
            retries++;
            progress.bytesDone -= content.size;
            continue;
          }
          // The digests may come later, from another thread: filled in before the writer is done.
          const digests = hashing.digests();
          if (candidate !== undefined && !changed) {
            const same = changes!.sameAsParent(candidate, await digests);
            if (same && writer.rollback(mark)) {
              progress.bytesDone -= content.size;
              held = same;
              break;
            }
          }
          record.hashes = {};
          filled = digests;
          if (changed) record.changedDuringBackup = true;
          stored = content.size;
        }
        if (held) {
          addHeld(held);
          continue;
        }
        if (stored === undefined) {
          skipped.push({ path: entry.path, reason: skipReason! });
          progress.bytesDone += entry.size;
          progress.filesDone++;
          continue;
        }
        // Progress counts what the scan expected, so that the total stays exact.
        progress.bytesDone += entry.size - stored;
        contentBytes += stored;
        files.add(entry.path);
      }
      if (filled) {
        // The record waits in the manifest for its digests (they may come later, from another thread).
        const settled = records.addUnsettled(record);
        const hashes = record.hashes!;
        filled.then((hex) => {
          options.hashes.forEach((algorithm, i) => (hashes[algorithm] = hex[i]!));
          settled();
        }, (error: unknown) => records.fail(error));
      } else {
        records.add(record);
      }
      progress.filesDone++;
      progress.tick();
    }
    await writer.push(TAR_END_OF_ARCHIVE);
    const blocks = await writer.finish();
    await records.settle();
    bytesRead += changes?.bytesRead ?? 0;
    const comparedFiles = changes?.compared ?? 0;
    const racyFiles = changes?.racy ?? 0;
    return { records, tally, skipped, contentBytes, blocks, blockSize: options.blockSize, retries, unchangedFiles, unchangedBytes, bytesRead, comparedFiles, racyFiles };
  } finally {
    await pool?.close();
    await hasher.close();
  }
}

/** Where one file's content is hashed as it is stored, and its digests once it is. */
interface ContentHashing {
  /** The bytes just stored. A promise: wait for it before the next (the hasher thread is behind). */
  update(bytes: Buffer): Promise<void> | undefined;
  digests(): Promise<string[]>;
  /** The content was not kept (read again, or the backup failed). */
  discard(): void;
}

/**
 * Off the main thread where it can be: content that lies whole in one block is hashed by the
 * worker that compresses the block; a large file's chunks go to the hasher thread; what is left
 * (a small file across a block boundary) is hashed here, and so is content whose digest is wanted
 * at once (`here`: a file that may turn out to be the parent's).
 */
function contentHashing(content: OpenedContent, writer: BlockWriter, hasher: StreamHasher, algorithms: readonly string[], here: boolean): ContentHashing {
  const inBlock = here ? undefined : writer.hashInWorker(content.size);
  if (inBlock) return { update: () => undefined, digests: () => inBlock, discard: () => {} };
  if ('chunks' in content && content.size > SMALL_FILE_LIMIT && !here) {
    const id = hasher.open(algorithms);
    return { update: (bytes) => hasher.update(id, bytes), digests: () => hasher.digest(id), discard: () => hasher.discard(id) };
  }
  const hashes: Hash[] = algorithms.map((algorithm) => createHash(algorithm));
  return {
    update: (bytes) => void hashes.forEach((hash) => hash.update(bytes)),
    digests: () => Promise.resolve(hashes.map((hash) => hash.digest('hex'))),
    discard: () => {},
  };
}

/** Feeds one file's bytes to its hashing and the block writer: exactly `content.size` bytes. */
async function storeContent(
  content: OpenedContent,
  writer: BlockWriter,
  hashing: ContentHashing,
  progress: ProgressTracker,
  signal: AbortSignal | undefined,
): Promise<void> {
  if ('readInto' in content) {
    const stored = await writer.pushFrom(content.size, (target) => {
      const count = content.readInto(target);
      void hashing.update(target.subarray(0, count)); // a small file: hashed in a block or here, at once
      return count;
    });
    if (stored < content.size) {
      // The file shrank since it was opened: pad to the size in the tar header (flagged as changed).
      const zeros = Buffer.alloc(content.size - stored);
      await writer.push(zeros);
      await hashing.update(zeros);
    }
    content.finish();
    progress.bytesDone += content.size;
    progress.tick();
    return;
  }
  for await (const chunk of content.chunks()) {
    await writer.push(chunk);
    await hashing.update(chunk);
    progress.bytesDone += chunk.length;
    progress.tick();
    throwIfAborted(signal);
  }
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AbortError(signal.reason);
}
