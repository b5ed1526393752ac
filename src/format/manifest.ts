/**
 * The manifest schema (docs/FORMAT.md §Manifest): JSON Lines, one header record, one record per
 * archive entry in archive order, one footer record. It streams both ways and `jq` reads it.
 * Integers that can pass 2^53 (nanosecond times, inode numbers) are decimal strings.
 */
import { BackupError } from '../errors.js';
import { createHash } from 'node:crypto';
import { checkFooterShape, checkHeaderShape } from './manifest-shape.js';
import { lfLineEndingsOf } from './manifest-line-endings.js';
import { FETCH_LFS_OBJECT, LFS_VERSION_LINE } from './lfs-pointer.js';

export const MANIFEST_FORMAT = 'gulp-backup-manifest';
/** Version 2 added the footer's `linesSha256`; version 1 manifests are still read (without that check). */
export const MANIFEST_VERSION = 2;
const READABLE_VERSIONS: readonly number[] = [1, 2];
/** Chunk size for reading manifests: a few large reads rather than many 64 KiB ones. */
export const MANIFEST_CHUNK = 1024 * 1024;

export type BackupKind = 'full' | 'incremental' | 'differential';
export type EntryType = 'file' | 'directory' | 'symlink' | 'hardlink';
export type Codec = 'gzip' | 'zstd' | 'none';

export interface ManifestHeader {
  record: 'header';
  format: typeof MANIFEST_FORMAT;
  version: 1 | typeof MANIFEST_VERSION;
  /** Random identifier of this backup. */
  id: string;
  kind: BackupKind;
  /** The backup this one builds on (incremental and differential kinds); null for a full one. */
  parent: ParentLink | null;
  /** ISO 8601 time at which the scan started. */
  createdAt: string;
  /** File name of the archive, beside the manifest. */
  archive: string;
  /** The options that shape the archive's bytes. */
  options: { codec: Codec; level: number; blockSize: number; hashes: string[] };
  /**
   * How the engine chose the files (absent when a gulp pipeline chose them): what a later scan of
   * the same tree needs to compare like with like (`verify --source`, incremental backups).
   */
  selection?: Selection;
  /**
   * Absolute path of the folder that archive paths are relative to: a backup built on a parent from
   * another folder would compare unrelated trees, so that is refused.
   */
  root?: string;
  /** How unchanged files were recognised (incremental and differential kinds). */
  changeDetection?: ChangeDetection;
  tool: { name: string; version: string };
}

export interface ParentLink {
  id: string;
  /** Path of the parent's manifest, relative to this manifest's folder (POSIX separators). */
  manifest: string;
  /** SHA-256 of the parent's manifest file as it was when this backup was made. */
  manifestSha256: string;
}

export interface ChangeDetection {
  /** `stat`: size, mtime and the fields listed; `checksum`: every file read and hashed. */
  mode: 'stat' | 'checksum';
  /** The stat fields compared besides size and mtime. */
  fields: ('ctime' | 'ino')[];
}

export interface Selection {
  sources: string[];
  include: string[];
  exclude: string[];
  dot: boolean;
  followSymlinks: boolean;
  /** Bytes; absent when there was no limit. */
  maxFileSize?: number;
}

export interface ManifestEntry {
  record: 'entry';
  /** Relative POSIX path as stored in the archive (directories without a trailing slash). */
  path: string;
  type: EntryType;
  /** Content length in bytes (0 for all but files). */
  size: number;
  /** Permission bits. */
  mode: number;
  uid: number;
  gid: number;
  /** Nanoseconds since the epoch, as a decimal string. */
  mtimeNs: string;
  /** Status-change time, nanoseconds, decimal string (change detection). */
  ctimeNs: string;
  /** Inode number, decimal string (change detection). */
  ino: string;
  /** Symlink target, or the archive path that a hard link shares content with. */
  linkTarget?: string;
  /** Hex digests of the content by algorithm name; files only. */
  hashes?: Record<string, string>;
  /**
   * Files whose content an earlier backup of the chain holds (unchanged since): that backup's id.
   * `offset` and `dataOffset` are then positions in that backup's archive, not this one's.
   */
  heldBy?: string;
  /** Offset in the uncompressed tar stream of the entry's first header block. */
  offset: number;
  /** Offset in the uncompressed tar stream of the content; files only. */
  dataOffset?: number;
  /** Set when the file changed while it was read: the stored content may be torn. */
  changedDuringBackup?: true;
}

export interface SkippedEntry {
  path: string;
  reason: string;
}

export interface ManifestFooter {
  record: 'footer';
  totals: {
    entries: number;
    files: number;
    directories: number;
    symlinks: number;
    hardlinks: number;
    skipped: number;
    /** Sum of stored file contents. */
    contentBytes: number;
    /** Files whose content an earlier backup of the chain holds (absent in a full backup). */
    unchangedFiles?: number;
    /** Their content bytes. */
    unchangedBytes?: number;
    /** Length of the uncompressed tar stream. */
    tarBytes: number;
    /** Length of the archive file. */
    archiveBytes: number;
  };
  compression: { codec: Codec; level: number; ratio: number; savedPercent: number };
  timings: { scanMs: number; storeMs: number; finishMs: number; totalMs: number };
  /**
   * Block index: block i holds tar bytes [i*blockSize, (i+1)*blockSize) and starts at archive
   * offset `offsets[i]`; the last offset is the end marker's (gzip) or the archive's end (none).
   */
  blocks: { blockSize: number; count: number; offsets: number[] };
  archiveFile: { name: string; size: number; sha256: string };
  skipped: SkippedEntry[];
  /** Names the selection rules left out, by rule (the engine's own scan; a folder counts once). */
  leftOut?: { excluded: number; notIncluded: number; dot: number; output?: number };
  /**
   * SHA-256 of every byte of the manifest before the footer line: a line removed, added or edited
   * is found by every reader (version 2). It proves integrity, not authorship: whoever can write
   * the manifest can compute it again, so keep backups where only you can write.
   */
  linesSha256?: string;
}

export type ManifestRecord = ManifestHeader | ManifestEntry | ManifestFooter;

export interface Manifest {
  header: ManifestHeader;
  entries: ManifestEntry[];
  footer: ManifestFooter;
}

/** Serialises one record as one line. */
export function encodeManifestRecord(record: ManifestRecord): string {
  return `${JSON.stringify(record)}\n`;
}

/** Lines are joined into pieces of about this many characters: one hash update and one write each, not one per line. */
export const MANIFEST_PIECE = 64 * 1024;

/**
 * A manifest as text, in pieces of whole lines: header, entries, then the footer with the digest
 * of every line before it.
 */
export function encodeManifest(header: ManifestHeader, entries: Iterable<ManifestEntry>, footer: ManifestFooter): Generator<string> {
  return encodeManifestText(header, entryLines(entries), footer);
}

/** The same, from the entries' lines already encoded, in pieces of whole lines (bytes are UTF-8). */
export function* encodeManifestText<Piece extends string | Buffer>(header: ManifestHeader, entryLines: Iterable<Piece>, footer: ManifestFooter): Generator<Piece | string> {
  const hash = createHash('sha256');
  const first = encodeManifestRecord(header);
  hash.update(first);
  yield first;
  for (const lines of entryLines) {
    hash.update(lines);
    yield lines;
  }
  yield encodeManifestRecord({ ...footer, linesSha256: hash.digest('hex') });
}

/** Entries as lines, joined into pieces of about MANIFEST_PIECE characters. */
function* entryLines(entries: Iterable<ManifestEntry>): Generator<string> {
  let piece = '';
  for (const entry of entries) {
    piece += encodeManifestRecord(entry);
    if (piece.length >= MANIFEST_PIECE) {
      yield piece;
      piece = '';
    }
  }
  if (piece.length > 0) yield piece;
}

/** A manifest that cannot be read as one (`MANIFEST_INVALID`). */
export class ManifestFormatError extends BackupError {
  constructor(message: string) {
    super('MANIFEST_INVALID', message);
  }
}

/** A manifest that is a Git LFS pointer (its object not fetched): not damage, and not here. */
export class ManifestIsLfsPointerError extends ManifestFormatError {
  constructor() {
    super(`It is a Git LFS pointer, not the manifest: ${FETCH_LFS_OBJECT}`);
  }
}

/**
 * A manifest of a format version this gulp-backup does not know yet: made by a newer one. Not
 * damage (verify must not call it so) and not bad input: the answer is to upgrade.
 */
export class NewerManifestError extends BackupError {
  constructor(readonly version: number) {
    super(
      'ARCHIVE_UNSUPPORTED',
      `made by a newer gulp-backup (manifest format version ${version}; this one reads versions ${READABLE_VERSIONS.join(' and ')}): upgrade gulp-backup to read it (npm install gulp-backup@latest). ` +
        'Its archive is a standard tar that GNU tar also extracts, without the checks the manifest gives.',
    );
  }
}

/** Parses one line; `lineNumber` (1-based, or `'last'`) goes into the error message. */
export function decodeManifestRecord(line: string, lineNumber: number | 'last'): ManifestRecord {
  const which = lineNumber === 'last' ? 'The last line of the manifest' : `Manifest line ${lineNumber}`;
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    if (lineNumber === 1 && line.startsWith(LFS_VERSION_LINE)) throw new ManifestIsLfsPointerError();
    throw new ManifestFormatError(`${which} is not JSON; the manifest is damaged.`);
  }
  const record = (value as { record?: unknown } | null)?.record;
  if (record !== 'header' && record !== 'entry' && record !== 'footer') {
    throw new ManifestFormatError(`${which} has no known \`record\` field; the manifest is damaged.`);
  }
  return value as ManifestRecord;
}

/** Puts a manifest together line by line, checking that it has a header, entries and a footer. */
class ManifestAssembler {
  private header: ManifestHeader | undefined;
  private footer: ManifestFooter | undefined;
  private readonly entries: ManifestEntry[] = [];
  private readonly totals = new TotalsCount();
  private lineNumber = 0;

  /** @param visit when given, told of each entry instead of keeping it */
  constructor(private readonly visit?: EntryVisitor) {}

  /** Whether the footer has been added (the digest covers the bytes before its line). */
  get ended(): boolean {
    return this.footer !== undefined;
  }

  add(line: string): void {
    this.lineNumber++;
    if (line === '') return;
    const record = decodeManifestRecord(line, this.lineNumber);
    if (this.footer) throw new ManifestFormatError(`Manifest line ${this.lineNumber} follows the footer; the manifest is damaged.`);
    if (record.record === 'header') {
      if (this.header) throw new ManifestFormatError(`Manifest line ${this.lineNumber} is a second header.`);
      this.header = checkHeader(record);
    } else if (!this.header) {
      throw new ManifestFormatError('The manifest does not start with a header record; it is not a gulp-backup manifest.');
    } else if (record.record === 'entry') {
      this.totals.add(record);
      if (this.visit) this.visit(record);
      else this.entries.push(record);
    } else {
      this.footer = record;
    }
  }

  /** `linesSha256`: the digest of every byte before the footer's line, as read. */
  finish(linesSha256: string): Manifest {
    if (!this.header) throw new ManifestFormatError('The manifest is empty.');
    if (!this.footer) throw new ManifestFormatError('The manifest has no footer: it was cut short, so its backup may be incomplete.');
    checkDigest(this.header, this.footer, linesSha256);
    checkHeaderShape(this.header);
    checkFooterShape(this.footer);
    this.totals.check(this.footer);
    return { header: this.header, entries: this.entries, footer: this.footer };
  }
}

const TAMPERED = 'lines were removed, added or edited since it was written; the manifest is damaged. Verify the archive without it (pass the .tar.gz), or restore the manifest from a copy.';

function checkDigest(header: ManifestHeader, footer: ManifestFooter, linesSha256: string): void {
  if (header.version === 1 && footer.linesSha256 === undefined) return; // written before the digest existed
  if (footer.linesSha256 !== linesSha256) throw new ManifestFormatError(`The manifest does not match the digest in its footer: ${TAMPERED}`);
}

/** What the footer's totals say of the entries, counted as they are read. */
class TotalsCount {
  private readonly counted = { entries: 0, files: 0, directories: 0, symlinks: 0, hardlinks: 0, contentBytes: 0, unchangedFiles: 0 };

  add(entry: ManifestEntry): void {
    const counted = this.counted;
    counted.entries++;
    const key = PLURAL[entry.type];
    if (key) counted[key]++;
    if (entry.type === 'file' && entry.heldBy === undefined) counted.contentBytes += entry.size;
    if (entry.heldBy !== undefined) counted.unchangedFiles++;
  }

  /** The footer's totals must describe the entries above it. */
  check(footer: ManifestFooter): void {
    const totals = footer.totals as Partial<ManifestFooter['totals']> | undefined;
    for (const [key, value] of Object.entries(this.counted)) {
      const recorded = totals?.[key as keyof typeof this.counted];
      if (key === 'unchangedFiles' && recorded === undefined && value === 0) continue;
      if (recorded !== value) {
        throw new ManifestFormatError(`The manifest's footer counts ${String(recorded)} ${key}, but its entries hold ${value}: ${TAMPERED}`);
      }
    }
  }
}

const PLURAL = { file: 'files', directory: 'directories', symlink: 'symlinks', hardlink: 'hardlinks' } as const;

function checkHeader(record: ManifestHeader): ManifestHeader {
  const newest = Math.max(...READABLE_VERSIONS);
  if (record.format === MANIFEST_FORMAT && Number.isSafeInteger(record.version) && record.version > newest) throw new NewerManifestError(record.version);
  if (record.format !== MANIFEST_FORMAT || !READABLE_VERSIONS.includes(record.version)) {
    throw new ManifestFormatError(
      `Unsupported manifest format ${String(record.format)} version ${String(record.version)}; this gulp-backup reads versions ${READABLE_VERSIONS.join(' and ')}.`,
    );
  }
  return record;
}

/**
 * Reads a whole manifest from a stream, line by line as the chunks come (splitting bytes at `\n`
 * is about twice as fast as node:readline on a 20,000-line manifest). A manifest converted to CRLF
 * line endings, given a byte-order mark or saved as UTF-16 is read as it was written
 * (manifest-line-endings.ts), and `onConvertedLineEndings` is told.
 */
export async function readManifest(input: AsyncIterable<Buffer | string>, onConvertedLineEndings: () => void = () => {}): Promise<Manifest> {
  return assembleManifest(lfLineEndingsOf(input, onConvertedLineEndings));
}

/**
 * A whole manifest from its bytes, already in memory (a chain link read and hashed whole).
 * `linesSha256`, when the caller took it from these same bytes (`hashManifestBytes`), is not taken again.
 */
export function decodeManifest(bytes: Buffer, linesSha256?: string): Promise<Manifest> {
  return assembleManifest([bytes], linesSha256);
}

/** Told of each entry of a manifest as it is decoded. */
export type EntryVisitor = (entry: ManifestEntry) => void;

/**
 * The same checks as `decodeManifest`, but the entries are handed to `visit` instead of kept: a
 * parent of a million entries need not be held as a million objects (chain/parent-files.ts).
 */
export async function decodeManifestEntries(bytes: Buffer, linesSha256: string | undefined, visit: EntryVisitor): Promise<Omit<Manifest, 'entries'>> {
  const { header, footer } = await assembleManifest([bytes], linesSha256, visit);
  return { header, footer };
}

async function assembleManifest(input: AsyncIterable<Buffer | string> | Iterable<Buffer>, knownLinesSha256?: string, visit?: EntryVisitor): Promise<Manifest> {
  const assembler = new ManifestAssembler(visit);
  // The digest of the lines before the footer, taken a chunk of whole lines at a time (one update per line cost more than the hashing).
  const hash = createHash('sha256');
  let linesSha256 = knownLinesSha256;
  let rest: Buffer | undefined;
  const add = (bytes: Buffer, start: number, end: number, hashedTo: number): number => {
    assembler.add(lineAt(bytes, start, end));
    if (linesSha256 !== undefined || !assembler.ended) return hashedTo;
    linesSha256 = hash.update(bytes.subarray(hashedTo, start)).digest('hex');
    return start;
  };
  for await (const piece of input) {
    const chunk = typeof piece === 'string' ? Buffer.from(piece) : piece;
    const bytes = rest ? Buffer.concat([rest, chunk]) : chunk;
    let start = 0;
    let hashedTo = 0;
    for (let end = bytes.indexOf(0x0a); end !== -1; end = bytes.indexOf(0x0a, start)) {
      hashedTo = add(bytes, start, end, hashedTo);
      start = end + 1;
    }
    if (linesSha256 === undefined) hash.update(bytes.subarray(hashedTo, start));
    rest = start < bytes.length ? bytes.subarray(start) : undefined;
  }
  if (rest) add(rest, 0, rest.length, 0);
  return assembler.finish(linesSha256 ?? hash.digest('hex'));
}

/** The text of bytes [start, end), without a trailing carriage return. */
function lineAt(bytes: Buffer, start: number, end: number): string {
  return bytes.toString('utf8', start, end > start && bytes[end - 1] === 0x0d ? end - 1 : end);
}

/** A manifest file's digests, in one pass: of all its bytes, and of the lines before its last one (the footer's `linesSha256`). */
export interface ManifestDigests {
  sha256: string;
  linesSha256: string;
  /** Where the last line starts. */
  lastLineStart: number;
}

export function hashManifestBytes(bytes: Buffer): ManifestDigests {
  let end = bytes.length;
  while (end > 0 && (bytes[end - 1] === 0x0a || bytes[end - 1] === 0x0d)) end--;
  const lastLineStart = end === 0 ? 0 : bytes.lastIndexOf(0x0a, end - 1) + 1;
  const hash = createHash('sha256').update(bytes.subarray(0, lastLineStart));
  const linesSha256 = hash.copy().digest('hex');
  return { sha256: hash.update(bytes.subarray(lastLineStart)).digest('hex'), linesSha256, lastLineStart };
}

/**
 * The header and footer of a manifest file's bytes, without decoding its entries (or making one
 * string of the whole file, which a manifest of a million entries would strain).
 */
export function parseManifestEnds(bytes: Buffer, digests: ManifestDigests = hashManifestBytes(bytes)): { header: ManifestHeader; footer: ManifestFooter } {
  const firstEnd = bytes.indexOf(0x0a);
  let end = bytes.length;
  while (end > 0 && (bytes[end - 1] === 0x0a || bytes[end - 1] === 0x0d)) end--;
  const lastStart = digests.lastLineStart;
  let lines = 0;
  for (let at = bytes.indexOf(0x0a, firstEnd + 1); at !== -1 && at < lastStart; at = bytes.indexOf(0x0a, at + 1)) lines++;
  return checkManifestEnds(bytes.subarray(0, firstEnd === -1 ? bytes.length : firstEnd), bytes.subarray(lastStart, end), digests.linesSha256, lines);
}

/**
 * What `parseManifestEnds` checks, from the parts it takes out of the bytes: the first line, the
 * last one (its trailing line breaks left out), the digest of the lines before the last, and how
 * many lines of entries lie between them.
 */
function checkManifestEnds(firstLine: Buffer, lastLine: Buffer, linesSha256: string, lines: number): { header: ManifestHeader; footer: ManifestFooter } {
  const first = decodeManifestRecord(firstLine.toString('utf8'), 1);
  if (first.record !== 'header') throw new ManifestFormatError('The manifest does not start with a header record; it is not a gulp-backup manifest.');
  const last = decodeManifestRecord(lastLine.toString('utf8'), 'last');
  if (last.record !== 'footer') throw new ManifestFormatError('The manifest has no footer: it was cut short, so its backup may be incomplete.');
  const header = checkHeader(first);
  checkDigest(header, last, linesSha256);
  checkHeaderShape(header);
  checkFooterShape(last);
  // Entries are not decoded here, but they are counted: one line each between header and footer.
  if (last.totals?.entries !== lines) {
    throw new ManifestFormatError(`The manifest's footer counts ${String(last.totals?.entries)} entries, but it holds ${lines} lines of entries: ${TAMPERED}`);
  }
  return { header, footer: last };
}

/** A first line longer than this is no manifest's header: a scan stops keeping it. */
const MAX_HEADER_LINE = 16 * 1024 * 1024;

/**
 * `hashManifestBytes` and `parseManifestEnds` over a file read piece by piece: what following a
 * chain needs of an ancestor (its digests, header and footer) in the memory of one piece and two
 * lines, where reading it whole took the whole file (350 MB for a million entries).
 */
export class ManifestEndsScanner {
  private readonly fileHash = createHash('sha256');
  private readonly linesHash = createHash('sha256');
  private readonly head: Buffer[] = [];
  private headLength = 0;
  private headDone = false;
  /** Where the first line break is, counted from the start of the file; -1 until one is seen. */
  private firstEnd = -1;
  /** Bytes hashed into `linesHash`, all before the last line, and the line breaks among them. */
  private fed = 0;
  private fedBreaks = 0;
  /** The bytes after those: the last line seen so far, and whatever line breaks follow it. */
  private tail = Buffer.alloc(0);
  /** Once the scan has ended: the digests, where the last line starts, and that line. */
  private ended: { digests: { sha256: string; linesSha256: string }; lastStart: number; lastLine: Buffer } | undefined;

  update(chunk: Buffer): void {
    this.fileHash.update(chunk);
    if (!this.headDone) this.keepHead(chunk);
    let end = chunk.length;
    while (end > 0 && (chunk[end - 1] === 0x0a || chunk[end - 1] === 0x0d)) end--;
    const lastBreak = end === 0 ? -1 : chunk.lastIndexOf(0x0a, end - 1);
    if (lastBreak === -1) {
      // The last line goes on from the tail (or only line breaks came): keep it all.
      this.tail = Buffer.concat([this.tail, chunk]);
      return;
    }
    this.feed(this.tail);
    this.feed(chunk.subarray(0, lastBreak + 1));
    this.tail = Buffer.from(chunk.subarray(lastBreak + 1));
  }

  /** Ends the scan: the file's digests (its SHA-256, and the footer's digest of the lines before it). */
  digests(): { sha256: string; linesSha256: string } {
    if (this.ended) return this.ended.digests;
    const tail = this.tail;
    let end = tail.length;
    while (end > 0 && (tail[end - 1] === 0x0a || tail[end - 1] === 0x0d)) end--;
    const lastBreak = end === 0 ? -1 : tail.lastIndexOf(0x0a, end - 1);
    this.feed(tail.subarray(0, lastBreak + 1));
    const digests = { sha256: this.fileHash.digest('hex'), linesSha256: this.linesHash.digest('hex') };
    this.ended = { digests, lastStart: this.fed, lastLine: tail.subarray(lastBreak + 1, end) };
    return digests;
  }

  /** The header and footer, checked as `parseManifestEnds` checks them. */
  ends(): { header: ManifestHeader; footer: ManifestFooter } {
    this.digests();
    const { digests, lastStart, lastLine } = this.ended!;
    if (this.headLength > MAX_HEADER_LINE) throw new ManifestFormatError('The manifest does not start with a header record; it is not a gulp-backup manifest.');
    // The line break that ends the first line is no line of entries, when it lies before the last line.
    const lines = this.fedBreaks - (this.firstEnd !== -1 && this.firstEnd < lastStart ? 1 : 0);
    return checkManifestEnds(Buffer.concat(this.head), lastLine, digests.linesSha256, lines);
  }

  private keepHead(chunk: Buffer): void {
    const lineBreak = chunk.indexOf(0x0a);
    const part = lineBreak === -1 ? chunk : chunk.subarray(0, lineBreak);
    if (this.headLength <= MAX_HEADER_LINE) this.head.push(Buffer.from(part));
    if (lineBreak !== -1) {
      this.firstEnd = this.headLength + lineBreak;
      this.headDone = true;
    }
    this.headLength += part.length;
  }

  private feed(bytes: Buffer): void {
    if (bytes.length === 0) return;
    this.linesHash.update(bytes);
    for (let at = bytes.indexOf(0x0a); at !== -1; at = bytes.indexOf(0x0a, at + 1)) this.fedBreaks++;
    this.fed += bytes.length;
  }
}
