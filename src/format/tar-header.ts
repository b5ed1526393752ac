/**
 * Tar entry headers as gulp-backup writes them: POSIX ustar, preceded by a pax extended header
 * when a field does not fit (long or non-ASCII names, names that are not UTF-8, sizes of 8 GiB and
 * more) or the mtime is not a whole, positive number of seconds. The ustar block is node-tar's
 * `Header` encoding (the implementation npm relies on), byte for byte; the common case (an ASCII
 * name under 100 bytes, fields that fit) is written here directly, five times faster, which counts
 * at thousands of files a second (test/format/tar-header.test.ts proves the bytes equal to
 * node-tar's on random entries). The pax body is ours, because it must
 * carry names as raw bytes (as GNU tar 1.34 writes names that are not UTF-8: the bytes, with no
 * `hdrcharset` record, which that version warns about) and nanosecond times.
 * Decoding lives in tar-entry-header.ts.
 */
import { Header } from 'tar/header';
import { encodeNameBytes, hasEscapedBytes } from './path-bytes.js';
import { encodePaxRecords, formatPaxTime } from './pax.js';

export const TAR_BLOCK_SIZE = 512;
/** Two zero blocks end a tar stream. */
export const TAR_END_OF_ARCHIVE: Buffer = Buffer.alloc(2 * TAR_BLOCK_SIZE);

export type TarEntryType = 'file' | 'directory' | 'symlink' | 'hardlink';

export interface TarEntryHeader {
  /** Relative POSIX path, without a trailing slash (names that are not UTF-8 escaped: path-bytes.ts). */
  path: string;
  type: TarEntryType;
  /** Content length; 0 for everything but files. */
  size: number;
  /** Permission bits (`mode & 0o7777`). */
  mode: number;
  uid: number;
  gid: number;
  /** Modification time in nanoseconds since the epoch; kept whole through pax. */
  mtimeNs: bigint;
  /** Target of a symlink, or the archive path a hard link points to. */
  linkTarget?: string;
}

const TAR_TYPE_NAMES = {
  file: 'File',
  directory: 'Directory',
  symlink: 'SymbolicLink',
  hardlink: 'Link',
} as const;

const NS_PER_SECOND = 1_000_000_000n;

/**
 * Encodes the header block(s) for one entry: `[pax header + body] + ustar header`. `contentSize`,
 * when given, stands for `entry.size` (a file's size as opened, which may differ from the scan's).
 */
export function encodeTarHeader(entry: TarEntryHeader, contentSize = entry.size): Buffer {
  const path = entry.type === 'directory' ? `${entry.path}/` : entry.path;
  // The ustar field holds whole, positive seconds; pax carries the exact time otherwise.
  const seconds = entry.mtimeNs > 0n ? entry.mtimeNs / NS_PER_SECOND : 0n;
  const size = entry.type === 'file' ? contentSize : 0;
  const wholeSeconds = entry.mtimeNs === seconds * NS_PER_SECOND;
  const fast = fitsUstarDirectly(path, entry, size, seconds);
  if (fast && wholeSeconds) return ustarBlock(Buffer.allocUnsafe(TAR_BLOCK_SIZE), 0, path, entry, size, Number(seconds));
  if (fast) {
    // The usual pax case: an exact mtime (most file systems keep nanoseconds), nothing else.
    const link = entry.linkTarget === undefined ? '' : paxRecord('linkpath', entry.linkTarget);
    const body = paxRecord('path', path) + link + paxRecord('mtime', formatPaxTime(entry.mtimeNs));
    const padded = body.length + tarPadding(body.length);
    const out = Buffer.allocUnsafe(2 * TAR_BLOCK_SIZE + padded);
    ustarBlock(out, 0, 'PaxHeader', { type: 'pax', mode: 0o644, uid: 0, gid: 0 }, body.length, Number(seconds));
    writeAscii(out, TAR_BLOCK_SIZE, body);
    out.fill(0, TAR_BLOCK_SIZE + body.length, TAR_BLOCK_SIZE + padded);
    return ustarBlock(out, TAR_BLOCK_SIZE + padded, path, entry, size, Number(seconds));
  }
  return encodeWithNodeTar(contentSize === entry.size ? entry : { ...entry, size: contentSize });
}

/**
 * Any header, through node-tar's `Header`: long, non-ASCII or escaped names, fields too large.
 * Also the reference that the direct encoding is tested against.
 */
export function encodeWithNodeTar(entry: TarEntryHeader): Buffer {
  const path = entry.type === 'directory' ? `${entry.path}/` : entry.path;
  const seconds = entry.mtimeNs > 0n ? entry.mtimeNs / NS_PER_SECOND : 0n;
  const size = entry.type === 'file' ? entry.size : 0;
  const mtime = new Date(Number(seconds) * 1000);
  const fields = {
    path,
    mode: entry.mode,
    uid: entry.uid,
    gid: entry.gid,
    size,
    mtime,
    type: TAR_TYPE_NAMES[entry.type],
    linkpath: entry.linkTarget ?? '',
    uname: '',
    gname: '',
  };
  const ustar = Buffer.alloc(TAR_BLOCK_SIZE);
  const binary = hasEscapedBytes(path) || (entry.linkTarget !== undefined && hasEscapedBytes(entry.linkTarget));
  const needPax = new Header(fields).encode(ustar) || entry.mtimeNs !== seconds * NS_PER_SECOND || binary;
  if (!needPax) return ustar;
  const records: Array<[string, string | Buffer]> = [];
  records.push(['path', encodeNameBytes(path)]);
  if (entry.linkTarget !== undefined) records.push(['linkpath', encodeNameBytes(entry.linkTarget)]);
  records.push(['mtime', formatPaxTime(entry.mtimeNs)]);
  if (fields.size >= 0o77777777777) records.push(['size', String(fields.size)]);
  return Buffer.concat([paxHeader(encodePaxRecords(records), mtime), ustar]);
}

const MAX_OCTAL_7 = 0o7777777;
const MAX_OCTAL_11 = 0o77777777777;
const MAX_SECONDS = BigInt(MAX_OCTAL_11);

/** Whether node-tar would write this entry as plain ustar fields, with no pax for a field (the time aside). */
function fitsUstarDirectly(path: string, entry: TarEntryHeader, size: number, seconds: bigint): boolean {
  return (
    path.length < 100 &&
    isAscii(path) &&
    (entry.linkTarget === undefined || (entry.linkTarget.length <= 100 && isAscii(entry.linkTarget))) &&
    entry.uid >= 0 &&
    entry.uid <= MAX_OCTAL_7 &&
    entry.gid >= 0 &&
    entry.gid <= MAX_OCTAL_7 &&
    size < MAX_OCTAL_11 && // the largest size gets a pax size record too, as before
    seconds <= MAX_SECONDS
  );
}

function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return false;
  return true;
}

const TYPE_FLAGS = { file: 0x30, hardlink: 0x31, symlink: 0x32, directory: 0x35, pax: 0x78 } as const;

/** What every ustar block written here holds besides its fields: the magic, the version, devmajor and devminor. */
const USTAR_TEMPLATE = Buffer.alloc(TAR_BLOCK_SIZE);
USTAR_TEMPLATE.write('ustar\x0000', 257, 'latin1');
writeOctal(USTAR_TEMPLATE, 329, 8, 0);
writeOctal(USTAR_TEMPLATE, 337, 8, 0);

/**
 * One ustar block at `offset`, as node-tar's Header writes it for fields that fit; returns `block`.
 * Byte by byte rather than through `Buffer#write` and octal strings: at thousands of files a
 * second the strings and the calls cost more than the block's own work.
 */
function ustarBlock(
  block: Buffer,
  offset: number,
  path: string,
  entry: { type: keyof typeof TYPE_FLAGS; mode: number; uid: number; gid: number; linkTarget?: string },
  size: number,
  seconds: number,
): Buffer {
  USTAR_TEMPLATE.copy(block, offset);
  writeAscii(block, offset, path);
  writeOctal(block, offset + 100, 8, entry.mode & 0o7777);
  writeOctal(block, offset + 108, 8, entry.uid);
  writeOctal(block, offset + 116, 8, entry.gid);
  writeOctal(block, offset + 124, 12, size);
  writeOctal(block, offset + 136, 12, seconds);
  block[offset + 156] = TYPE_FLAGS[entry.type];
  if (entry.linkTarget !== undefined) writeAscii(block, offset + 157, entry.linkTarget);
  // The checksum counts its own field as eight spaces.
  let sum = 8 * 0x20;
  for (let i = offset; i < offset + 148; i++) sum += block[i]!;
  for (let i = offset + 156; i < offset + TAR_BLOCK_SIZE; i++) sum += block[i]!;
  writeOctal(block, offset + 148, 8, sum);
  return block;
}

/** Text known to be ASCII (the direct encoding's names, pax records), one byte per character. */
function writeAscii(block: Buffer, offset: number, text: string): void {
  for (let i = 0; i < text.length; i++) block[offset + i] = text.charCodeAt(i);
}

/**
 * node-tar's octal field: zero-padded digits, then ' ' and NUL (only NUL when the digits fill all
 * but one byte). `value` fits the field (the callers check), and stays exact below 2^53.
 */
function writeOctal(block: Buffer, offset: number, size: number, value: number): void {
  let digits = 1;
  for (let rest = value; rest >= 8; rest = Math.floor(rest / 8)) digits++;
  const width = digits === size - 1 ? size - 1 : size - 2;
  let rest = value;
  for (let i = offset + width - 1; i >= offset; i--) {
    block[i] = 0x30 + (rest % 8);
    rest = Math.floor(rest / 8);
  }
  block[offset + width] = width === size - 1 ? 0 : 0x20;
  if (width !== size - 1) block[offset + width + 1] = 0;
}

/** One pax record for an ASCII value: `"<length> <keyword>=<value>\n"`, the length counting itself. */
function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let length = body.length + 1;
  while (String(length).length + body.length !== length) length = String(length).length + body.length;
  return `${length}${body}`;
}

/** A pax extended header block and its body, padded to whole blocks. */
function paxHeader(body: Buffer, mtime: Date): Buffer {
  const block = Buffer.alloc(TAR_BLOCK_SIZE);
  new Header({ path: 'PaxHeader', mode: 0o644, uid: 0, gid: 0, size: body.length, mtime, type: 'ExtendedHeader', linkpath: '', uname: '', gname: '' }).encode(block);
  return Buffer.concat([block, body, Buffer.alloc(tarPadding(body.length))]);
}

/** Zero bytes that follow `size` bytes of content to reach the next 512-byte boundary. */
export function tarPadding(size: number): number {
  const rest = size % TAR_BLOCK_SIZE;
  return rest === 0 ? 0 : TAR_BLOCK_SIZE - rest;
}
