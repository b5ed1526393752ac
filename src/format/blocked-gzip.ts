/**
 * The blocked-gzip container (docs/FORMAT.md): the tar stream is cut into fixed-size blocks, each
 * compressed on its own into a complete gzip member (RFC 1952). Every member carries, in an FEXTRA
 * subfield `GB`, its own total length and its uncompressed length, so a reader can hop from member
 * to member without inflating. An empty member marks the end. Any gzip reader sees one stream.
 * Headers hold no time, no name and a fixed OS byte: the same input always gives the same bytes.
 */

const GZIP_ID1 = 0x1f;
const GZIP_ID2 = 0x8b;
const CM_DEFLATE = 8;
const FLG_FEXTRA = 0x04;
const OS_UNKNOWN = 255;
/** Subfield identifier: 'G', 'B' (gulp-backup). */
export const SUBFIELD_ID = [0x47, 0x42] as const;
const SUBFIELD_DATA_LENGTH = 8;
const EXTRA_LENGTH = 4 + SUBFIELD_DATA_LENGTH;

/** Fixed size of every member header: 10 fixed bytes, XLEN, and the `GB` subfield. */
export const MEMBER_HEADER_SIZE = 10 + 2 + EXTRA_LENGTH;
/** CRC-32 and ISIZE. */
export const MEMBER_TRAILER_SIZE = 8;
/** A deflate stream holding one empty final fixed-Huffman block. */
const EMPTY_DEFLATE = Buffer.from([0x03, 0x00]);

/** Largest member the 32-bit length field can describe. */
export const MAX_MEMBER_SIZE = 0xffff_ffff;

export interface MemberInfo {
  /** Whole member length in bytes, header and trailer included. */
  memberLength: number;
  /** Length of the block once inflated; 0 only for the end marker. */
  rawLength: number;
}

/** The header of a member that wraps `deflatedLength` bytes of raw deflate data. */
export function encodeMemberHeader(deflatedLength: number, rawLength: number): Buffer {
  const memberLength = MEMBER_HEADER_SIZE + deflatedLength + MEMBER_TRAILER_SIZE;
  if (memberLength > MAX_MEMBER_SIZE) throw new RangeError(`gzip member of ${memberLength} bytes is too large`);
  const header = Buffer.alloc(MEMBER_HEADER_SIZE);
  header[0] = GZIP_ID1;
  header[1] = GZIP_ID2;
  header[2] = CM_DEFLATE;
  header[3] = FLG_FEXTRA;
  // bytes 4-7 MTIME = 0, byte 8 XFL = 0
  header[9] = OS_UNKNOWN;
  header.writeUInt16LE(EXTRA_LENGTH, 10);
  header[12] = SUBFIELD_ID[0];
  header[13] = SUBFIELD_ID[1];
  header.writeUInt16LE(SUBFIELD_DATA_LENGTH, 14);
  header.writeUInt32LE(memberLength, 16);
  header.writeUInt32LE(rawLength, 20);
  return header;
}

/** The trailer of a member: CRC-32 and length of the uncompressed data (RFC 1952, ISIZE). */
export function encodeMemberTrailer(crc32: number, rawLength: number): Buffer {
  const trailer = Buffer.alloc(MEMBER_TRAILER_SIZE);
  trailer.writeUInt32LE(crc32 >>> 0, 0);
  trailer.writeUInt32LE(rawLength >>> 0, 4);
  return trailer;
}

/** The empty member that ends every archive; a missing marker means the file was cut short. */
export const END_MARKER: Buffer = Buffer.concat([
  encodeMemberHeader(EMPTY_DEFLATE.length, 0),
  EMPTY_DEFLATE,
  encodeMemberTrailer(0, 0),
]);

/**
 * Reads the header of the member starting at `offset`. Returns `undefined` when the bytes there
 * are not a gulp-backup member (plain gzip, damage, or not enough bytes).
 */
export function decodeMemberHeader(buffer: Uint8Array, offset = 0): MemberInfo | undefined {
  if (buffer.length < offset + MEMBER_HEADER_SIZE) return undefined;
  const view = Buffer.from(buffer.buffer, buffer.byteOffset + offset, MEMBER_HEADER_SIZE);
  if (view[0] !== GZIP_ID1 || view[1] !== GZIP_ID2 || view[2] !== CM_DEFLATE) return undefined;
  if (view[3] !== FLG_FEXTRA || view.readUInt16LE(10) !== EXTRA_LENGTH) return undefined;
  if (view[12] !== SUBFIELD_ID[0] || view[13] !== SUBFIELD_ID[1]) return undefined;
  if (view.readUInt16LE(14) !== SUBFIELD_DATA_LENGTH) return undefined;
  const memberLength = view.readUInt32LE(16);
  if (memberLength < MEMBER_HEADER_SIZE + MEMBER_TRAILER_SIZE) return undefined;
  return { memberLength, rawLength: view.readUInt32LE(20) };
}
