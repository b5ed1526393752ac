/**
 * Tar entry headers as gulp-backup writes them: POSIX ustar, preceded by a pax extended header
 * when a field does not fit (long or non-ASCII names, names that are not UTF-8, sizes of 8 GiB and
 * more) or the mtime is not a whole, positive number of seconds. The ustar block is node-tar's
 * `Header` encoding (the implementation npm relies on); the pax body is ours, because it must
 * carry names as raw bytes (as GNU tar 1.34 writes names that are not UTF-8: the bytes, with no
 * `hdrcharset` record, which that version warns about) and nanosecond times.
 * Decoding lives in tar-entry-header.ts.
 */
import { Header } from 'tar';
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

/** Encodes the header block(s) for one entry: `[pax header + body] + ustar header`. */
export function encodeTarHeader(entry: TarEntryHeader): Buffer {
  const path = entry.type === 'directory' ? `${entry.path}/` : entry.path;
  // The ustar field holds whole, positive seconds; pax carries the exact time otherwise.
  const seconds = entry.mtimeNs > 0n ? entry.mtimeNs / NS_PER_SECOND : 0n;
  const mtime = new Date(Number(seconds) * 1000);
  const fields = {
    path,
    mode: entry.mode,
    uid: entry.uid,
    gid: entry.gid,
    size: entry.type === 'file' ? entry.size : 0,
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
