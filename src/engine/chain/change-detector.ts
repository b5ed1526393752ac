/**
 * Decides, from the parent backup's manifest, whether a file's content can be taken from the chain
 * instead of being read: its size, mtime and the other recorded stat fields are all equal (not
 * "newer than the last run": clocks skew and restores bring back old mtimes). A file whose size and
 * mtime are as recorded but whose ctime or inode moved (a chmod, a copy put back in place, a file
 * system restored from an image), or that was modified just before the parent's scan, is read and
 * compared with the parent's hash, and taken from the chain when it is equal: such changes rarely
 * touch the content, and storing every such file again made a `chmod -R` cost a full backup. In
 * checksum mode every file of the same size is compared so.
 */
import { createHash, type Hash } from 'node:crypto';
import type { ManifestEntry } from '../../format/manifest.js';
import type { ContentSource } from '../write/file-content.js';
import { CONTENT_OPEN_FLAGS, movedWhileRead, readIfRegularFile, type ContentFileSystem } from '../file-system.js';
import type { HashAlgorithm } from '../options.js';
import type { ArchiveEntry } from '../write/scan.js';
import type { ParentFiles } from '../write/statistics.js';
import type { ParentFile, ParentFileIndex } from './parent-files.js';

/**
 * A file modified this close before the parent's scan started (or after it) may have been modified
 * again within the same timestamp tick after it was read, leaving size and mtime as recorded: it
 * is compared again. Two seconds cover FAT's granularity and coarse kernel clocks.
 */
export const RACY_WINDOW_NS = 2_000_000_000n;

/** How far from the recorded mtime a restore may set it: Node's calls take times to the microsecond. */
const RESTORED_TIME_GRAIN_NS = 1000n;

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
  private readonly racyFromNs: bigint;
  /** Content bytes read to compare with the parent's hashes. */
  bytesRead = 0;
  /** Files read to compare with the parent's hashes. */
  compared = 0;
  /** Files as the parent recorded them but compared again: modified inside its racy window. */
  racy = 0;

  constructor(
    private readonly parentId: string,
    private readonly parent: ParentFileIndex,
    parentScanStartNs: bigint,
    private readonly rules: ChangeRules,
    private readonly hashes: readonly HashAlgorithm[],
    private readonly fs: ContentFileSystem,
  ) {
    this.racyFromNs = parentScanStartNs - RACY_WINDOW_NS;
  }

  /** The parent's files. */
  get files(): number {
    return this.parent.files;
  }

  /** The parent's size and digests at `path`, if it had a file there. */
  fileAt(path: string): Pick<ManifestEntry, 'size' | 'hashes'> | undefined {
    return this.parent.fileAt(path);
  }

  /**
   * What the stat rule says of `entry`: held by the chain, to be compared by hash with the
   * parent's file, or (undefined) new or changed.
   */
  check(entry: ArchiveEntry): Verdict {
    if (entry.type !== 'file') return undefined;
    const before = this.parent.find(entry.path);
    if (before < 0 || this.parent.size(before) !== entry.size || !this.parent.comparable(before)) return undefined;
    const algorithm = this.algorithmFor(before);
    if (algorithm === undefined) return undefined;
    const comparable = { compare: before };
    if (this.rules.checksum) return comparable;
    // A plugin's contents may differ from the file its stat describes (made, or transformed): by
    // hash. A stream cannot be read twice: it is hashed as it is stored, and a small one that is
    // the parent's is taken out of the block again.
    if (entry.handedOver) return entry.content?.kind === 'stream' ? { candidate: before } : comparable;
    const mtimeMovedNs = entry.mtimeNs - this.parent.mtimeNs(before);
    if (mtimeMovedNs !== 0n) {
      // Less than a microsecond away: the recorded time as a restore through Node gives it back
      // (it sets times to the microsecond), not a new write. Read and compared, large files too.
      if (mtimeMovedNs > -RESTORED_TIME_GRAIN_NS && mtimeMovedNs < RESTORED_TIME_GRAIN_NS) return comparable;
      // A new mtime most likely means new content: the file is stored, unless its bytes, hashed as
      // they are stored, turn out to be the parent's (a fresh checkout, `touch`, a copy without -p).
      return { candidate: before };
    }
    const statusMoved = (this.rules.ctime && this.parent.ctimeNs(before) !== entry.ctimeNs) || (this.rules.inode && this.parent.ino(before) !== entry.ino);
    const racy = entry.mtimeNs >= this.racyFromNs;
    // A parent that lacks a digest recorded now is compared too: the new digests come from that read.
    const everyDigest = this.hashes.every((name) => this.parent.hasDigest(before, name));
    if (statusMoved || racy || !everyDigest) {
      if (racy) this.racy++;
      return comparable;
    }
    return { held: this.heldFrom(before, this.digestsOf(before)) };
  }

  /**
   * Reads a file the stat rule could not decide (or takes `bytes`, its content read already) and
   * returns the chain's content when it hashes as the parent's did, else undefined (store it).
   * A source that cannot be read twice (a stream), or that cannot be read now, counts as changed:
   * the store path meets the same error and deals with it.
   */
  async compare(entry: ArchiveEntry, before: ParentFile, bytes?: Buffer): Promise<HeldContent | undefined> {
    const source: ContentSource | undefined = bytes ? { kind: 'buffer', buffer: bytes } : entry.content;
    if (source === undefined || source.kind === 'stream') return undefined;
    this.compared++;
    // Bytes read here count; bytes read ahead count where they are stored, or here when they are not.
    if (source.kind === 'path') this.bytesRead += entry.size;
    const digests = source.kind === 'buffer' ? digestsOf([source.buffer], this.hashes) : await this.digestsOfFile(source.path, entry.size);
    const algorithm = this.algorithmFor(before)!;
    if (!digests || digests[algorithm] !== this.parent.digest(before, algorithm)) return undefined;
    if (bytes) this.bytesRead += bytes.length;
    return this.heldFrom(before, digests);
  }

  /**
   * For a candidate (a file whose mtime moved), hashed as it was stored (`hex`: one digest per
   * algorithm recorded now, in order): the chain's content when it is the parent's, else undefined.
   */
  sameAsParent(before: ParentFile, hex: readonly string[]): HeldContent | undefined {
    this.compared++;
    const digests = Object.fromEntries(this.hashes.map((algorithm, i) => [algorithm, hex[i]!]));
    const algorithm = this.algorithmFor(before)!;
    return digests[algorithm] === this.parent.digest(before, algorithm) ? this.heldFrom(before, digests) : undefined;
  }

  /** The digest that decides: SHA-256 when both backups have it (an MD5 collision can be made to order). */
  private algorithmFor(before: ParentFile): HashAlgorithm | undefined {
    const common = this.hashes.filter((algorithm) => this.parent.hasDigest(before, algorithm));
    return common.includes('sha256') ? 'sha256' : common[0];
  }

  /** The parent's digests of the algorithms recorded now (it has them all). */
  private digestsOf(before: ParentFile): Record<string, string> {
    const digests: Record<string, string> = {};
    for (const algorithm of this.hashes) digests[algorithm] = this.parent.digest(before, algorithm)!;
    return digests;
  }

  private heldFrom(before: ParentFile, hashes: Record<string, string>): HeldContent {
    const parent = this.parent;
    return { heldBy: parent.heldByOf(before, this.parentId), size: parent.size(before), hashes, offset: parent.offset(before), dataOffset: parent.dataOffset(before) };
  }

  /**
   * The digests of a file as it is now, or undefined when it cannot be read or moved while read. A
   * small file is read at once (most compared files are small, and an event-loop turn per read would
   * cost more than the read); a large one in chunks, letting progress and Ctrl-C through.
   */
  private async digestsOfFile(path: string, expectedSize: number): Promise<Record<string, string> | undefined> {
    if (expectedSize <= HASH_CHUNK) return this.digestsOfSmallFile(path);
    return readIfRegularFile(this.fs, path, async (handle, before) => {
      const hashes = this.hashes.map((algorithm) => createHash(algorithm));
      const chunk = Buffer.allocUnsafe(HASH_CHUNK);
      for (let position = 0; ; ) {
        const { bytesRead } = await handle.read(chunk, 0, HASH_CHUNK, position);
        if (bytesRead === 0) break;
        for (const hash of hashes) hash.update(chunk.subarray(0, bytesRead));
        position += bytesRead;
      }
      return movedWhileRead(before, await handle.stat()) ? undefined : this.hexOf(hashes);
    });
  }

  private digestsOfSmallFile(path: string): Record<string, string> | undefined {
    let fd: number;
    try {
      fd = this.fs.openSync(path, CONTENT_OPEN_FLAGS);
    } catch {
      return undefined;
    }
    try {
      const before = this.fs.fstatSync(fd);
      if (!before.isFile() || before.size > HASH_CHUNK) return undefined;
      smallBuffer ??= Buffer.allocUnsafe(HASH_CHUNK + 1);
      let filled = 0;
      for (let count; (count = this.fs.readSync(fd, smallBuffer, filled, smallBuffer.length - filled, filled)) > 0; ) filled += count;
      if (filled !== before.size) return undefined; // it moved while read: store it
      return digestsOf([smallBuffer.subarray(0, filled)], this.hashes);
    } catch {
      return undefined;
    } finally {
      this.fs.closeSync(fd);
    }
  }

  private hexOf(hashes: Hash[]): Record<string, string> {
    return Object.fromEntries(this.hashes.map((algorithm, i) => [algorithm, hashes[i]!.digest('hex')]));
  }
}

/** The stat rule's answer for one file. */
export type Verdict =
  | { held: HeldContent; compare?: undefined; candidate?: undefined }
  /** Read it and compare by hash before storing anything. */
  | { compare: ParentFile; held?: undefined; candidate?: undefined }
  /** Store it, unless its bytes hash as the parent's (see `sameAsParent`). */
  | { candidate: ParentFile; held?: undefined; compare?: undefined }
  | undefined;

const HASH_CHUNK = 1024 * 1024;

/** One buffer for every small file compared: they are read one at a time, on this thread. */
let smallBuffer: Buffer | undefined;

function digestsOf(pieces: readonly Buffer[], algorithms: readonly HashAlgorithm[]): Record<string, string> {
  return Object.fromEntries(
    algorithms.map((algorithm) => {
      const hash = createHash(algorithm);
      for (const piece of pieces) hash.update(piece);
      return [algorithm, hash.digest('hex')];
    }),
  );
}
