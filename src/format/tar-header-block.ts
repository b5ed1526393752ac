/**
 * Decodes one 512-byte tar header block as it stands, with no extended header applied: the v7,
 * POSIX ustar and GNU layouts, octal and base-256 numbers, both checksum conventions. Names stay
 * bytes; `tar-entry-header.ts` turns a sequence of blocks into an entry.
 */

export type HeaderLayout = 'ustar' | 'gnu' | 'v7';

export interface HeaderBlock {
  name: Buffer;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /** Seconds since the epoch (negative before 1970). */
  mtime: bigint;
  /** The type flag, `'\0'` for a v7 regular file. */
  typeflag: string;
  linkname: Buffer;
  layout: HeaderLayout;
  uname: string;
  gname: string;
  /** ustar's name prefix (empty in the GNU and v7 layouts, where those bytes mean other things). */
  prefix: Buffer;
  /** Old GNU sparse files (`S`): the map held in the header, whether extension blocks follow, the real size. */
  gnuSparse?: { map: Array<[number, number]>; extended: boolean; realSize: number };
}

export type DecodedBlock = HeaderBlock | { zero: true } | { invalid: string };

/** Where a C string field ends: its first NUL, or its length. */
function fieldEnd(block: Buffer, offset: number, length: number): number {
  const end = offset + length;
  for (let at = offset; at < end; at++) if (block[at] === 0) return at;
  return end;
}

/** A C string field: up to its first NUL. */
function field(block: Buffer, offset: number, length: number): Buffer {
  return block.subarray(offset, fieldEnd(block, offset, length));
}

/** `plainOctal`'s answers that are not a value. */
const MALFORMED = -1;
const TOO_LONG = -2;

/**
 * An octal field as a number, byte by byte (leading spaces or NULs allowed, ended by NUL or
 * space): MALFORMED for a byte that is not an octal digit, TOO_LONG past 17 digits (8^17 = 2^51,
 * the most a double holds exactly). No BigInt, no string: this runs several times per header.
 */
function plainOctal(block: Buffer, offset: number, length: number): number {
  const end = offset + length;
  let at = offset;
  while (at < end && (block[at] === 0x20 || block[at] === 0)) at++;
  let value = 0;
  let digits = 0;
  for (; at < end; at++) {
    const byte = block[at]!;
    if (byte === 0x20 || byte === 0) break;
    if (byte < 0x30 || byte > 0x37) return MALFORMED;
    value = value * 8 + (byte - 0x30);
    digits++;
  }
  return digits <= 17 ? value : TOO_LONG;
}

/**
 * A numeric field: octal digits (leading spaces allowed, ended by NUL or space), or GNU's
 * base-256 (first byte 0x80 positive, 0xff negative, two's complement). Undefined when malformed.
 */
export function tarNumber(block: Buffer, offset: number, length: number): bigint | undefined {
  const first = block[offset]!;
  if (first & 0x80) {
    let value = BigInt(first & 0x7f);
    for (let i = 1; i < length; i++) value = (value << 8n) | BigInt(block[offset + i]!);
    return first === 0xff ? value - (1n << BigInt(8 * length - 1)) : value;
  }
  const value = plainOctal(block, offset, length);
  if (value === MALFORMED) return undefined;
  if (value !== TOO_LONG) return BigInt(value);
  // More than 17 digits (GNU tar writes 20 for a time past 2^51 s): through BigInt's own parser.
  const end = offset + length;
  let from = offset;
  while (from < end && (block[from] === 0x20 || block[from] === 0)) from++;
  let to = from;
  while (to < end && block[to] !== 0x20 && block[to] !== 0) to++;
  return BigInt(`0o${block.toString('latin1', from, to)}`);
}

/** A numeric field that must be a safe non-negative integer, else undefined. */
function smallNumber(block: Buffer, offset: number, length: number): number | undefined {
  if (!(block[offset]! & 0x80)) {
    const value = plainOctal(block, offset, length);
    if (value >= 0) return value;
    if (value === MALFORMED) return undefined;
  }
  const value = tarNumber(block, offset, length);
  return value === undefined || value < 0n || value > BigInt(Number.MAX_SAFE_INTEGER) ? undefined : Number(value);
}

/**
 * The checksum as tar computes it (the field itself counted as spaces), unsigned: what every tar
 * writes. Two plain loops, no branch per byte: this runs for every header block read.
 */
function unsignedChecksum(block: Buffer): number {
  let sum = 8 * 0x20;
  for (let i = 0; i < 148; i++) sum += block[i]!;
  for (let i = 156; i < 512; i++) sum += block[i]!;
  return sum;
}

/** The checksum as old tars computed it, bytes from 0x80 counted as negative: asked only when the unsigned one differs. */
function signedChecksum(block: Buffer): number {
  let sum = 8 * 0x20;
  for (let i = 0; i < 512; i++) {
    if (i === 148) i = 156;
    const byte = block[i]!;
    sum += byte >= 0x80 ? byte - 0x100 : byte;
  }
  return sum;
}

function isZeroBlock(block: Buffer): boolean {
  for (let i = 0; i < 512; i++) if (block[i] !== 0) return false;
  return true;
}

const NO_BYTES = Buffer.alloc(0);

/** `ustar` and the byte after it: NUL for POSIX ustar (`ustar\0` + version), a space for GNU (`ustar  \0`). */
function layoutOf(block: Buffer): HeaderLayout {
  if (block[257] !== 0x75 || block[258] !== 0x73 || block[259] !== 0x74 || block[260] !== 0x61 || block[261] !== 0x72) return 'v7';
  if (block[262] === 0) return 'ustar';
  return block[262] === 0x20 && block[263] === 0x20 && block[264] === 0 ? 'gnu' : 'v7';
}

export function decodeHeaderBlock(block: Buffer): DecodedBlock {
  if (block.length < 512) return { invalid: 'header cut short' };
  if (isZeroBlock(block)) return { zero: true };
  const stored = smallNumber(block, 148, 8);
  if (stored === undefined || (stored !== unsignedChecksum(block) && stored !== signedChecksum(block))) return { invalid: 'header checksum mismatch' };
  const layout = layoutOf(block);
  const mode = smallNumber(block, 100, 8);
  const uid = smallNumber(block, 108, 8);
  const gid = smallNumber(block, 116, 8);
  const size = smallNumber(block, 124, 12);
  const mtime = tarNumber(block, 136, 12);
  if (mode === undefined || size === undefined || mtime === undefined) return { invalid: 'header holds a malformed number' };
  const typeflag = String.fromCharCode(block[156]!);
  const decoded: HeaderBlock = {
    name: field(block, 0, 100),
    mode: mode & 0o7777,
    uid: uid ?? 0,
    gid: gid ?? 0,
    size,
    mtime,
    typeflag,
    linkname: field(block, 157, 100),
    layout,
    uname: layout === 'v7' ? '' : block.toString('utf8', 265, fieldEnd(block, 265, 32)),
    gname: layout === 'v7' ? '' : block.toString('utf8', 297, fieldEnd(block, 297, 32)),
    prefix: layout === 'ustar' ? field(block, 345, 155) : NO_BYTES,
  };
  if (typeflag === 'S' && layout === 'gnu') decoded.gnuSparse = gnuSparseOf(block);
  return decoded;
}

/** The old GNU sparse map in the header: four (offset, length) pairs at 386, the flag at 482, the real size at 483. */
function gnuSparseOf(block: Buffer): HeaderBlock['gnuSparse'] {
  return { map: sparsePairs(block, 386, 4), extended: block[482] !== 0, realSize: smallNumber(block, 483, 12) ?? 0 };
}

/** An old GNU sparse extension block: 21 pairs, then the flag at 504. */
export function decodeSparseExtension(block: Buffer): { map: Array<[number, number]>; extended: boolean } {
  return { map: sparsePairs(block, 0, 21), extended: block[504] !== 0 };
}

function sparsePairs(block: Buffer, offset: number, count: number): Array<[number, number]> {
  const pairs: Array<[number, number]> = [];
  for (let i = 0; i < count; i++) {
    const at = offset + i * 24;
    if (block[at] === 0) break;
    const start = smallNumber(block, at, 12);
    const length = smallNumber(block, at + 12, 12);
    if (start === undefined || length === undefined) break;
    pairs.push([start, length]);
  }
  return pairs;
}
