/**
 * Decides, from the parent backup's manifest, whether a file's content can be taken from the chain
 * instead of being read: its size, mtime and the other recorded stat fields are all equal (not
 * "newer than the last run": clocks skew and restores bring back old mtimes). In checksum mode
 * every file is read and hashed, and only content that differs is stored.
 */
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import type { ManifestEntry } from '../../format/manifest.js';
import type { ContentSource } from '../write/file-content.js';
import type { ContentFileSystem } from '../file-system.js';
import type { HashAlgorithm } from '../options.js';
import type { ArchiveEntry } from '../write/scan.js';
import type { ParentFiles } from '../write/statistics.js';

/**
 * A file modified this close before the parent's scan started (or after it) may have been modified
 * again within the same timestamp tick after it was read, leaving size and mtime as recorded: it
 * is read again. Two seconds cover FAT's granularity and coarse kernel clocks.
 */
export const RACY_WINDOW_NS = 2_000_000_000n;

export interface ChangeRules {
  checksum: boolean;
  ctime: boolean;
  inode: boolean;
}

/** What an unchanged file's manifest entry takes from the chain. */
export interface HeldContent {
  heldBy: string;
  size: number;
  hashes: Record<string, string>;
  offset: number;
  dataOffset: number;
}

export class ChangeDetector implements ParentFiles {
  private readonly byPath = new Map<string, ManifestEntry>();
  /** The parent's files (paths of its file entries). */
  readonly files: number = 0;
  private readonly racyFromNs: bigint;
  /** Content bytes read to decide (checksum mode). */
  bytesRead = 0;
  /** Files equal to the parent's record but read again: modified inside its racy window. */
  racy = 0;

  constructor(
    private readonly parentId: string,
    entries: readonly ManifestEntry[],
    parentScanStartNs: bigint,
    private readonly rules: ChangeRules,
    private readonly hashes: readonly HashAlgorithm[],
    private readonly fs: ContentFileSystem,
  ) {
    for (const entry of entries) this.byPath.set(entry.path, entry);
    for (const entry of this.byPath.values()) if (entry.type === 'file') this.files++;
    this.racyFromNs = parentScanStartNs - RACY_WINDOW_NS;
  }

  /** The parent's file entry at `path`, if it had one. */
  fileAt(path: string): ManifestEntry | undefined {
    const entry = this.byPath.get(path);
    return entry?.type === 'file' ? entry : undefined;
  }

  /**
   * The chain's content for `entry` (whose manifest `record` holds its stat fields as strings)
   * when it is unchanged, else undefined. In checksum mode this
   * reads the file (or hashes the buffer) it is given; a source that cannot be read twice (a
   * stream) counts as changed.
   */
  unchanged(entry: ArchiveEntry, record: Pick<ManifestEntry, 'mtimeNs' | 'ctimeNs' | 'ino'>): HeldContent | undefined {
    const before = this.byPath.get(entry.path);
    if (!before || entry.type !== 'file' || before.type !== 'file' || before.size !== entry.size || before.changedDuringBackup) return undefined;
    if (before.dataOffset === undefined || !this.hashes.every((algorithm) => typeof before.hashes?.[algorithm] === 'string')) return undefined;
    if (this.rules.checksum) {
      const algorithm = this.hashes[0]!;
      if (entry.content?.kind === 'path') this.bytesRead += entry.size;
      if (entry.content === undefined || digestOf(entry.content, algorithm, this.fs) !== before.hashes![algorithm]) return undefined;
    } else {
      if (before.mtimeNs !== record.mtimeNs) return undefined;
      if (this.rules.ctime && before.ctimeNs !== record.ctimeNs) return undefined;
      if (this.rules.inode && before.ino !== record.ino) return undefined;
      if (entry.mtimeNs >= this.racyFromNs) {
        this.racy++;
        return undefined;
      }
    }
    return {
      heldBy: before.heldBy ?? this.parentId,
      size: before.size,
      hashes: this.sameHashes(before.hashes!) ? before.hashes! : Object.fromEntries(this.hashes.map((algorithm) => [algorithm, before.hashes![algorithm]!])),
      offset: before.offset,
      dataOffset: before.dataOffset,
    };
  }

  /** Whether a parent's digests are exactly the ones recorded now (then they are shared, not copied). */
  private sameHashes(hashes: Record<string, string>): boolean {
    return Object.keys(hashes).length === this.hashes.length;
  }
}

const HASH_CHUNK = 1024 * 1024;

let hashBuffer: Buffer | undefined;

/** Hex digest of a content source, or undefined when it cannot be read without consuming it. */
function digestOf(source: ContentSource, algorithm: HashAlgorithm, fs: ContentFileSystem): string | undefined {
  if (source.kind === 'buffer') return createHash(algorithm).update(source.buffer).digest('hex');
  if (source.kind === 'stream') return undefined;
  let fd: number;
  try {
    fd = fs.openSync(source.path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return undefined; // the store path meets the same error and deals with it
  }
  try {
    if (!fs.fstatSync(fd).isFile()) return undefined;
    const hash = createHash(algorithm);
    hashBuffer ??= Buffer.allocUnsafe(HASH_CHUNK);
    for (let position = 0; ; ) {
      const count = fs.readSync(fd, hashBuffer, 0, HASH_CHUNK, position);
      if (count === 0) break;
      hash.update(hashBuffer.subarray(0, count));
      position += count;
    }
    return hash.digest('hex');
  } catch {
    return undefined;
  } finally {
    fs.closeSync(fd);
  }
}
