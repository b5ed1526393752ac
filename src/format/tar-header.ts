/**
 * Tar entry headers: POSIX ustar, preceded by a pax extended header when a field does not fit
 * (long or non-ASCII names, sizes of 8 GiB and more) or the mtime has a sub-second part.
 * The field encoding is node-tar's (`Header`, `Pax`): the implementation npm itself relies on.
 */
import { Header, Pax } from 'tar';

export const TAR_BLOCK_SIZE = 512;
/** Two zero blocks end a tar stream. */
export const TAR_END_OF_ARCHIVE: Buffer = Buffer.alloc(2 * TAR_BLOCK_SIZE);

export type TarEntryType = 'file' | 'directory' | 'symlink' | 'hardlink';

export interface TarEntryHeader {
  /** Relative POSIX path, without a trailing slash. */
  path: string;
  type: TarEntryType;
  /** Content length; 0 for everything but files. */
  size: number;
  /** Permission bits (`mode & 0o7777`). */
  mode: number;
  uid: number;
  gid: number;
  /** Modification time in milliseconds since the epoch; fractions are kept through pax. */
  mtimeMs: number;
  /** Target of a symlink, or the archive path a hard link points to. */
  linkTarget?: string;
}

const TAR_TYPE_NAMES = {
  file: 'File',
  directory: 'Directory',
  symlink: 'SymbolicLink',
  hardlink: 'Link',
} as const;

/** Encodes the header block(s) for one entry: `[pax header + body] + ustar header`. */
export function encodeTarHeader(entry: TarEntryHeader): Buffer {
  const path = entry.type === 'directory' ? `${entry.path}/` : entry.path;
  // The ustar field holds whole seconds; a pax record carries milliseconds when there are some.
  const wholeMs = Math.floor(entry.mtimeMs);
  const mtime = new Date(wholeMs);
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
  const needPax = new Header(fields).encode(ustar) || wholeMs % 1000 !== 0;
  if (!needPax) return ustar;
  const pax = new Pax({
    path,
    mtime,
    ...(entry.linkTarget === undefined ? {} : { linkpath: entry.linkTarget }),
    ...(fields.size >= 0o77777777777 ? { size: fields.size } : {}),
  }).encode();
  return Buffer.concat([pax, ustar]);
}

/** Zero bytes that follow `size` bytes of content to reach the next 512-byte boundary. */
export function tarPadding(size: number): number {
  const rest = size % TAR_BLOCK_SIZE;
  return rest === 0 ? 0 : TAR_BLOCK_SIZE - rest;
}

export interface DecodedTarHeader {
  /** Path without a trailing slash, with any pax `path` applied. */
  path: string;
  /** Our four entry types, or the tar type name of anything else. */
  type: TarEntryType | string;
  size: number;
  linkTarget: string;
  mode: number;
  mtimeMs: number;
}

const TYPE_OF_TAR_NAME: Readonly<Record<string, TarEntryType>> = {
  File: 'file',
  OldFile: 'file',
  ContiguousFile: 'file',
  Directory: 'directory',
  SymbolicLink: 'symlink',
  Link: 'hardlink',
};

/** Our entry type for a node-tar type name (`File`, `Directory`…); undefined for devices, FIFOs and the like. */
export function entryTypeOfTarName(name: string): TarEntryType | undefined {
  return TYPE_OF_TAR_NAME[name];
}

/**
 * Decodes the header block(s) of one entry: a ustar header, or a pax extended header followed by
 * one. Returns a reason string when the bytes are not a valid header (bad checksum, cut short).
 */
export function decodeTarHeader(bytes: Buffer): DecodedTarHeader | string {
  if (bytes.length < TAR_BLOCK_SIZE) return 'header cut short';
  let header = new Header(bytes, 0);
  if (!header.cksumValid) return 'header checksum mismatch';
  let offset = 0;
  let pax: Pax | undefined;
  if (header.type === 'ExtendedHeader') {
    const bodyLength = header.size ?? 0;
    offset = TAR_BLOCK_SIZE + bodyLength + tarPadding(bodyLength);
    if (bytes.length < offset + TAR_BLOCK_SIZE) return 'header cut short after its pax record';
    pax = Pax.parse(bytes.subarray(TAR_BLOCK_SIZE, TAR_BLOCK_SIZE + bodyLength).toString('utf8'));
    header = new Header(bytes, offset, pax);
    if (!header.cksumValid) return 'header checksum mismatch';
  }
  const path = (header.path ?? '').replace(/\/+$/, '');
  return {
    path,
    type: TYPE_OF_TAR_NAME[header.type] ?? header.type,
    size: header.size ?? 0,
    linkTarget: header.linkpath ?? '',
    mode: header.mode ?? 0,
    mtimeMs: header.mtime?.getTime() ?? 0,
  };
}
