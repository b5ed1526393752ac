/**
 * The files of the backup an incremental or differential run builds on, as that run needs them:
 * size, stat fields, digests and where the content lies, in columns (typed arrays) indexed by a
 * map of paths, rather than as one decoded record per file. A million parent records took ~600 MB
 * of heap as objects, which the collector walked on every full collection; as columns they take
 * ~85 B each outside the heap, plus the map.
 */
import type { ManifestEntry } from '../../format/manifest.js';
import type { HashAlgorithm } from '../options.js';
import type { ParentFiles } from '../write/statistics.js';

const DIGEST_BYTES: Record<HashAlgorithm, number> = { sha256: 32, sha1: 20, sha512: 64, md5: 16 };
const ALGORITHMS = Object.keys(DIGEST_BYTES) as HashAlgorithm[];

const CHANGED_DURING_BACKUP = 1;
/** The record cannot stand for its content (no data offset, or stat fields that are not numbers): read the file. */
const NOT_COMPARABLE = 2;

const MAX_UINT64 = 2n ** 64n - 1n;
const MIN_INT64 = -(2n ** 63n);
const MAX_INT64 = 2n ** 63n - 1n;

function fitsInt64(value: bigint): boolean {
  return value >= MIN_INT64 && value <= MAX_INT64;
}

/** Where one parent file's fields lie in the columns. */
export type ParentFile = number;

export class ParentFileIndex implements ParentFiles {
  private readonly byPath = new Map<string, ParentFile>();
  private capacity = 1024;
  private sizes = new Float64Array(this.capacity);
  private offsets = new Float64Array(this.capacity);
  private dataOffsets = new Float64Array(this.capacity);
  private mtimes = new BigInt64Array(this.capacity);
  private ctimes = new BigInt64Array(this.capacity);
  private inodes = new BigUint64Array(this.capacity);
  private flags = new Uint8Array(this.capacity);
  /** Which digests each file has: bit i for ALGORITHMS[i]. */
  private hashMasks = new Uint8Array(this.capacity);
  private digests: Partial<Record<HashAlgorithm, Buffer>> = {};
  /** 0: the parent itself holds the content; n: the backup `heldByIds[n - 1]` does. */
  private heldBy = new Uint32Array(this.capacity);
  private readonly heldByIds: string[] = [];
  private readonly heldByNumbers = new Map<string, number>();

  /** How many files the parent has. */
  get files(): number {
    return this.byPath.size;
  }

  /** Takes a parent's entry (its other types are not kept: only files can be unchanged). */
  add(entry: ManifestEntry): void {
    const twice = this.byPath.get(entry.path);
    if (twice !== undefined) {
      this.flags[twice]! |= NOT_COMPARABLE; // a path listed twice (an edited manifest): neither record is trusted
      return;
    }
    if (entry.type !== 'file') return;
    const i = this.byPath.size;
    if (i === this.capacity) this.grow();
    this.byPath.set(entry.path, i);
    this.sizes[i] = entry.size;
    this.offsets[i] = entry.offset;
    this.dataOffsets[i] = typeof entry.dataOffset === 'number' ? entry.dataOffset : Number.NaN;
    let flags = entry.changedDuringBackup ? CHANGED_DURING_BACKUP : 0;
    try {
      const mtime = BigInt(entry.mtimeNs);
      const ctime = BigInt(entry.ctimeNs);
      const ino = BigInt(entry.ino);
      // A value past 64 bits would wrap in its column and could then match another.
      if (!fitsInt64(mtime) || !fitsInt64(ctime) || ino < 0n || ino > MAX_UINT64) flags |= NOT_COMPARABLE;
      this.mtimes[i] = mtime;
      this.ctimes[i] = ctime;
      this.inodes[i] = ino;
    } catch {
      flags |= NOT_COMPARABLE; // a record edited by hand: its file is read, never trusted
    }
    if (typeof entry.dataOffset !== 'number' || typeof entry.offset !== 'number' || typeof entry.size !== 'number') flags |= NOT_COMPARABLE;
    this.flags[i] = flags;
    this.hashMasks[i] = this.keepDigests(i, entry.hashes);
    this.heldBy[i] = entry.heldBy === undefined ? 0 : this.heldByNumber(entry.heldBy);
  }

  /** The parent's file at `path`, or -1. */
  find(path: string): ParentFile {
    return this.byPath.get(path) ?? -1;
  }

  size(file: ParentFile): number {
    return this.sizes[file]!;
  }

  /** Whether the record can stand for the file's content: it has a data offset and stat fields, and was not changed while read. */
  comparable(file: ParentFile): boolean {
    return this.flags[file] === 0;
  }

  mtimeNs(file: ParentFile): bigint {
    return this.mtimes[file]!;
  }

  ctimeNs(file: ParentFile): bigint {
    return this.ctimes[file]!;
  }

  ino(file: ParentFile): bigint {
    return this.inodes[file]!;
  }

  hasDigest(file: ParentFile, algorithm: HashAlgorithm): boolean {
    return (this.hashMasks[file]! & (1 << ALGORITHMS.indexOf(algorithm))) !== 0;
  }

  /** The file's digest in hex, as its record had it (lower case). */
  digest(file: ParentFile, algorithm: HashAlgorithm): string | undefined {
    if (!this.hasDigest(file, algorithm)) return undefined;
    const length = DIGEST_BYTES[algorithm];
    return this.digests[algorithm]!.toString('hex', file * length, (file + 1) * length);
  }

  /** The backup that holds the content: `parentId` when the parent itself does. */
  heldByOf(file: ParentFile, parentId: string): string {
    const n = this.heldBy[file]!;
    return n === 0 ? parentId : this.heldByIds[n - 1]!;
  }

  offset(file: ParentFile): number {
    return this.offsets[file]!;
  }

  dataOffset(file: ParentFile): number {
    return this.dataOffsets[file]!;
  }

  /** For the change counts: the parent's size and digests at `path`. */
  fileAt(path: string): Pick<ManifestEntry, 'size' | 'hashes'> | undefined {
    const file = this.find(path);
    if (file < 0) return undefined;
    const hashes: Record<string, string> = {};
    for (const algorithm of ALGORITHMS) {
      const hex = this.digest(file, algorithm);
      if (hex !== undefined) hashes[algorithm] = hex;
    }
    return { size: this.size(file), hashes };
  }

  private keepDigests(file: ParentFile, hashes: Record<string, string> | undefined): number {
    let mask = 0;
    if (!hashes) return mask;
    for (const [bit, algorithm] of ALGORITHMS.entries()) {
      const hex = hashes[algorithm];
      const length = DIGEST_BYTES[algorithm];
      if (typeof hex !== 'string' || hex.length !== 2 * length) continue;
      const column = (this.digests[algorithm] ??= Buffer.alloc(this.capacity * length));
      // Hex decoding stops at the first character that is not hex: such a digest is not kept, and compares unequal.
      if (column.write(hex, file * length, length, 'hex') === length) mask |= 1 << bit;
    }
    return mask;
  }

  private heldByNumber(id: string): number {
    let n = this.heldByNumbers.get(id);
    if (n === undefined) {
      this.heldByIds.push(id);
      n = this.heldByIds.length;
      this.heldByNumbers.set(id, n);
    }
    return n;
  }

  private grow(): void {
    this.capacity *= 2;
    const grown = <T extends { length: number; set(array: T): void }>(column: T, make: (length: number) => T): T => {
      const larger = make(this.capacity);
      larger.set(column);
      return larger;
    };
    this.sizes = grown(this.sizes, (n) => new Float64Array(n));
    this.offsets = grown(this.offsets, (n) => new Float64Array(n));
    this.dataOffsets = grown(this.dataOffsets, (n) => new Float64Array(n));
    this.mtimes = grown(this.mtimes, (n) => new BigInt64Array(n));
    this.ctimes = grown(this.ctimes, (n) => new BigInt64Array(n));
    this.inodes = grown(this.inodes, (n) => new BigUint64Array(n));
    this.flags = grown(this.flags, (n) => new Uint8Array(n));
    this.hashMasks = grown(this.hashMasks, (n) => new Uint8Array(n));
    this.heldBy = grown(this.heldBy, (n) => new Uint32Array(n));
    for (const algorithm of ALGORITHMS) {
      const column = this.digests[algorithm];
      if (!column) continue;
      const larger = Buffer.alloc(this.capacity * DIGEST_BYTES[algorithm]);
      column.copy(larger);
      this.digests[algorithm] = larger;
    }
  }
}
