/** The numbers a backup reports: in its result, its summary line and its manifest footer. */
import type { StoreCounters } from '../../store/s3-connection.js';
import type { ManifestEntry, ManifestFooter, SkippedEntry } from '../../format/manifest.js';
import { ExtensionTally, type ExtensionStatistics } from './extension-statistics.js';
import type { WrittenArchive } from './write-archive.js';

export interface PhaseTimings {
  scanMs: number;
  storeMs: number;
  finishMs: number;
  totalMs: number;
}

export interface BackupStatistics {
  entries: number;
  files: number;
  directories: number;
  symlinks: number;
  hardlinks: number;
  skipped: number;
  /** Files whose content changed while they were read. */
  changedDuringBackup: number;
  /** Files whose content is in this archive (the others are unchanged: an earlier backup holds them). */
  storedFiles: number;
  /** Files whose content an earlier backup of the chain holds: not stored, and read only to compare. */
  unchangedFiles: number;
  unchangedBytes: number;
  /** File content read from the sources: 0 when nothing changed (stat mode). */
  bytesRead: number;
  /**
   * Files read to compare with the parent's hashes: their size and mtime are as recorded but their
   * ctime or inode is not, or they are racy (checksum mode: every file of the same size).
   */
  comparedFiles: number;
  /** Files equal to the parent's record, compared again because they were modified within 2 s before its scan. */
  racyFiles: number;
  /** Bytes of file content stored. */
  contentBytes: number;
  /** Length of the uncompressed tar stream. */
  tarBytes: number;
  /** Length of the archive file. */
  archiveBytes: number;
  /** archiveBytes / tarBytes: 0.25 means the archive is a quarter of the tar stream. */
  ratio: number;
  /** Space saved by compression, in percent of the tar stream. */
  savedPercent: number;
  /** Reads tried again: after a transient error, or because the file changed while it was read. */
  retries: number;
  /** Requests to object storage (a backup to `s3://`): how many, how many were retried (throttling, 5xx, resets), bytes sent. */
  store?: StoreCounters;
  /** Content bytes per second over the whole run. */
  bytesPerSecond: number;
  blocks: number;
  timings: PhaseTimings;
  /** Names the selection rules left out (the engine's own scan only). */
  leftOut?: { excluded: number; notIncluded: number; dot: number; output?: number };
  /** The five extensions that take the most room in the archive (estimated per block). */
  extensions: ExtensionStatistics[];
}

/** What a backup changed against its parent, in files, as restic counts them. */
export interface FileChanges {
  new: number;
  changed: number;
  deleted: number;
  unchanged: number;
  /**
   * Stored again with the same size, but no digest of a kind the parent also recorded to tell
   * whether the content changed (the parent made with `hashes: ['md5']`, this one with sha256).
   */
  notComparable: number;
}

/** The parent's files, by path (the change detector has them so). */
export interface ParentFiles {
  fileAt(path: string): Pick<ManifestEntry, 'size' | 'hashes'> | undefined;
  /** How many there are. */
  readonly files: number;
}

/**
 * What the statistics, the footer and the change counts need from the records, counted as each
 * is settled (the records themselves are not kept as objects: manifest-spool.ts).
 */
export class RecordTally {
  entries = 0;
  files = 0;
  directories = 0;
  symlinks = 0;
  hardlinks = 0;
  changedDuringBackup = 0;
  readonly extensions: ExtensionTally;
  private readonly changes: FileChanges = { new: 0, changed: 0, deleted: 0, unchanged: 0, notComparable: 0 };
  private parentFilesStillThere = 0;

  /** @param parent the parent's files, for a chained backup: new, changed, deleted and unchanged are counted against them */
  constructor(
    blockSize: number,
    private readonly parent?: ParentFiles,
  ) {
    this.extensions = new ExtensionTally(blockSize);
  }

  add(entry: ManifestEntry): void {
    this.entries++;
    if (entry.type === 'file') this.files++;
    else if (entry.type === 'directory') this.directories++;
    else if (entry.type === 'symlink') this.symlinks++;
    else if (entry.type === 'hardlink') this.hardlinks++;
    if (entry.changedDuringBackup) this.changedDuringBackup++;
    this.extensions.add(entry);
    if (this.parent && entry.type === 'file') this.countChange(entry, this.parent);
  }

  /**
   * Files new since the parent, changed, deleted, and unchanged: held by the chain, or stored again
   * with the same content (a file read again under the racy rule is not a change). Undefined for
   * a backup without a parent.
   */
  fileChanges(): FileChanges | undefined {
    return this.parent ? { ...this.changes, deleted: this.parent.files - this.parentFilesStillThere } : undefined;
  }

  private countChange(entry: ManifestEntry, parent: ParentFiles): void {
    if (entry.heldBy !== undefined) {
      // Held by the chain: the parent had this file (the change detector found it there).
      this.parentFilesStillThere++;
      this.changes.unchanged++;
      return;
    }
    const earlier = parent.fileAt(entry.path);
    if (earlier) this.parentFilesStillThere++;
    if (earlier && sameContent(entry, earlier)) this.changes.unchanged++;
    else if (earlier && entry.size === earlier.size && !sharesADigest(entry, earlier)) this.changes.notComparable++;
    else if (earlier) this.changes.changed++;
    else this.changes.new++;
  }
}

function sharesADigest(a: ManifestEntry, b: Pick<ManifestEntry, 'hashes'>): boolean {
  return a.hashes !== undefined && b.hashes !== undefined && Object.keys(a.hashes).some((name) => name in b.hashes!);
}

function sameContent(a: ManifestEntry, b: Pick<ManifestEntry, 'size' | 'hashes'>): boolean {
  if (a.size !== b.size || !a.hashes || !b.hashes) return false;
  const common = Object.keys(a.hashes).filter((name) => name in b.hashes!);
  return common.length > 0 && common.every((name) => a.hashes![name] === b.hashes![name]);
}

export function computeStatistics(written: WrittenArchive, skipped: SkippedEntry[], timings: PhaseTimings): BackupStatistics {
  const tally = written.tally;
  const { tarBytes, archiveBytes, offsets } = written.blocks;
  const ratio = tarBytes === 0 ? 1 : archiveBytes / tarBytes;
  return {
    entries: tally.entries,
    files: tally.files,
    directories: tally.directories,
    symlinks: tally.symlinks,
    hardlinks: tally.hardlinks,
    skipped: skipped.length,
    changedDuringBackup: tally.changedDuringBackup,
    storedFiles: tally.files - written.unchangedFiles,
    unchangedFiles: written.unchangedFiles,
    unchangedBytes: written.unchangedBytes,
    bytesRead: written.bytesRead,
    comparedFiles: written.comparedFiles,
    racyFiles: written.racyFiles,
    contentBytes: written.contentBytes,
    tarBytes,
    archiveBytes,
    ratio: round(ratio, 4),
    savedPercent: round((1 - ratio) * 100, 2),
    retries: written.retries,
    bytesPerSecond: timings.totalMs > 0 ? Math.round((written.contentBytes * 1000) / timings.totalMs) : 0,
    blocks: offsets.length - 1,
    extensions: tally.extensions.estimate({ offsets, count: offsets.length - 1 }, tarBytes, 5),
    timings: {
      scanMs: round(timings.scanMs, 1),
      storeMs: round(timings.storeMs, 1),
      finishMs: round(timings.finishMs, 1),
      totalMs: round(timings.totalMs, 1),
    },
  };
}

export function buildFooter(
  written: WrittenArchive,
  skipped: SkippedEntry[],
  statistics: BackupStatistics,
  archive: { name: string; codec: ManifestFooter['compression']['codec']; level: number; blockSize: number; chained: boolean },
): ManifestFooter {
  return {
    record: 'footer',
    totals: {
      entries: statistics.entries,
      files: statistics.files,
      directories: statistics.directories,
      symlinks: statistics.symlinks,
      hardlinks: statistics.hardlinks,
      skipped: statistics.skipped,
      contentBytes: statistics.contentBytes,
      ...(archive.chained ? { unchangedFiles: statistics.unchangedFiles, unchangedBytes: statistics.unchangedBytes } : {}),
      tarBytes: statistics.tarBytes,
      archiveBytes: statistics.archiveBytes,
    },
    compression: { codec: archive.codec, level: archive.level, ratio: statistics.ratio, savedPercent: statistics.savedPercent },
    timings: statistics.timings,
    blocks: { blockSize: archive.blockSize, count: statistics.blocks, offsets: written.blocks.offsets },
    archiveFile: { name: archive.name, size: written.blocks.archiveBytes, sha256: written.blocks.archiveSha256 },
    skipped,
    ...(statistics.leftOut ? { leftOut: statistics.leftOut } : {}),
  };
}

function round(value: number, digits: number): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
