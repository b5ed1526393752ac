/**
 * Checks the tar stream against the manifest, block by block, in order. Each entry owns the region
 * from its offset to the next entry's: its header there must decode to the manifest's path, type,
 * size and link target, and its content must hash to the manifest's digests. A block that could
 * not be read damages exactly the entries whose regions it overlaps; checking resumes after it.
 */
import { createHash, type Hash } from 'node:crypto';
import type { EntryType, ManifestEntry } from '../../format/manifest.js';
import { decodeTarHeader } from '../../format/tar-entry-header.js';
import { isCount } from '../../format/manifest-shape.js';

export type EntryStatus = 'ok' | 'damaged' | 'missing';

export interface EntryReport {
  path: string;
  type: EntryType;
  status: EntryStatus;
  /** Why the entry is damaged or missing. */
  reason?: string;
}

export class EntryChecker {
  readonly reports: EntryReport[];
  /** Bytes after the last entry that should be zero (the tar end blocks) but are not. */
  trailingGarbage = false;
  private cursor = 0;
  private header: Buffer[] = [];
  private hashes: Hash[] = [];
  /** Digests computed elsewhere (by the worker that decompressed the block), by entry index. */
  private readonly given = new Map<number, string[]>();

  constructor(
    private readonly entries: readonly ManifestEntry[],
    /** Where the tar end-of-archive blocks start. */
    private readonly tarEnd: number,
    private readonly algorithms: readonly string[],
  ) {
    this.reports = entries.map((entry) => {
      const malformed = malformedLayout(entry);
      return malformed ? { path: entry.path, type: entry.type, status: 'damaged', reason: `its manifest record is malformed (${malformed})` } : { path: entry.path, type: entry.type, status: 'ok' };
    });
  }

  /** The digests of entry `index`'s content, computed by the worker that decompressed its block: not hashed again here. */
  provide(index: number, digests: string[]): void {
    this.given.set(index, digests);
  }

  /** Checks `data`, the tar bytes that start at `tarOffset`, keeping no view of it; blocks must come in order. */
  feed(tarOffset: number, data: Buffer): void {
    let at = 0;
    while (at < data.length && this.cursor < this.entries.length) {
      const entry = this.entries[this.cursor]!;
      const report = this.reports[this.cursor]!;
      const position = tarOffset + at;
      const regionEnd = this.regionEnd(this.cursor);
      const headerEnd = entry.type === 'file' ? entry.dataOffset! : regionEnd;
      const dataEnd = entry.type === 'file' ? entry.dataOffset! + entry.size : headerEnd;
      if (position < entry.offset) {
        at += Math.min(entry.offset - position, data.length - at); // bytes before the first entry
        continue;
      }
      const limit = report.status !== 'ok' ? regionEnd : position < headerEnd ? headerEnd : position < dataEnd ? dataEnd : regionEnd;
      const take = Math.min(limit - position, data.length - at);
      if (!(take > 0)) {
        // Offsets that do not follow one another (a manifest edited with its digest computed
        // again): this entry's region cannot be found. Named, and passed over, so that every
        // turn of this loop moves on.
        this.damage(report, 'its manifest record places it where its region cannot be found (offset, dataOffset or size)');
        this.next();
        continue;
      }
      const bytes = data.subarray(at, at + take);
      at += take;
      if (report.status === 'ok' && position < headerEnd) {
        this.header.push(bytes);
        if (position + take === headerEnd) this.checkHeader(entry, report);
      } else if (report.status === 'ok' && position < dataEnd) {
        for (const hash of this.hashes) hash.update(bytes);
        if (position + take === dataEnd) this.checkContent(entry, report);
      }
      if (position + take === regionEnd) this.next();
    }
    if (this.cursor === this.entries.length && at < data.length) {
      const rest = data.subarray(at);
      if (tarOffset + at >= this.tarEnd && rest.some((byte) => byte !== 0)) this.trailingGarbage = true;
    }
    // A header cut by the block's end waits for the next block: as a copy, so that no view of
    // `data` outlives this call (the caller frees it).
    if (this.header.length > 0) this.header = [Buffer.concat(this.header)];
  }

  /** The tar bytes `[tarOffset, tarOffset + length)` cannot be read: damage the entries there. */
  gap(tarOffset: number, length: number, reason: string): void {
    const end = tarOffset + length;
    for (let i = this.cursor; i < this.entries.length && this.entries[i]!.offset < end; i++) {
      if (this.regionEnd(i) > tarOffset) this.damage(this.reports[i]!, reason);
    }
    while (this.cursor < this.entries.length && this.regionEnd(this.cursor) <= end) this.next();
  }

  /** Entries that no block reached are missing (the archive ends before them). */
  finish(): void {
    for (let i = this.cursor; i < this.entries.length; i++) {
      const report = this.reports[i]!;
      if (report.status === 'ok') {
        report.status = 'missing';
        report.reason = 'the archive ends before this entry';
      }
    }
    this.cursor = this.entries.length;
  }

  private regionEnd(index: number): number {
    return index + 1 < this.entries.length ? this.entries[index + 1]!.offset : this.tarEnd;
  }

  private next(): void {
    this.given.delete(this.cursor);
    this.cursor++;
    this.header = [];
    this.hashes = [];
  }

  private damage(report: EntryReport, reason: string): void {
    if (report.status === 'ok') {
      report.status = 'damaged';
      report.reason = reason;
    }
  }

  private checkHeader(entry: ManifestEntry, report: EntryReport): void {
    const decoded = decodeTarHeader(Buffer.concat(this.header));
    this.header = [];
    if (typeof decoded === 'string') return this.damage(report, decoded);
    const mismatch =
      decoded.path !== entry.path
        ? `its tar header names ${JSON.stringify(decoded.path)}`
        : decoded.type !== entry.type
          ? `its tar header says ${decoded.type}, the manifest ${entry.type}`
          : entry.type === 'file' && decoded.size !== entry.size
            ? `its tar header says ${decoded.size} bytes, the manifest ${entry.size}`
            : (entry.linkTarget ?? '') !== decoded.linkTarget
              ? `its tar header links to ${JSON.stringify(decoded.linkTarget)}`
              : undefined;
    if (mismatch) return this.damage(report, mismatch);
    if (entry.type === 'file' && !this.given.has(this.cursor)) this.hashes = this.algorithms.map((algorithm) => createHash(algorithm));
    if (entry.type === 'file' && entry.size === 0) this.checkContent(entry, report);
  }

  private checkContent(entry: ManifestEntry, report: EntryReport): void {
    const given = this.given.get(this.cursor);
    this.given.delete(this.cursor);
    this.algorithms.forEach((algorithm, i) => {
      const digest = given ? given[i] : this.hashes[i]!.digest('hex');
      if (entry.hashes?.[algorithm] !== digest) this.damage(report, `content does not match its ${algorithm} in the manifest`);
    });
    this.hashes = [];
  }
}

/** The layout field of a manifest entry that is not a byte position, or undefined when all are. */
function malformedLayout(entry: ManifestEntry): string | undefined {
  if (!isCount(entry.offset)) return 'offset';
  if (entry.type !== 'file') return undefined;
  if (!isCount(entry.size)) return 'size';
  if (!isCount(entry.dataOffset) || entry.dataOffset <= entry.offset) return 'dataOffset';
  return undefined;
}
