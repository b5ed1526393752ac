/**
 * Turns the header blocks of one tar entry — pax extended (`x`) and global (`g`) headers, GNU long
 * names (`L`) and long link names (`K`), then the entry's own block — into one entry, applying
 * them as GNU tar does: a pax record wins over every ustar field (the prefix included), a GNU long
 * name over the ustar name, local records over global ones. Names are decoded losslessly
 * (path-bytes.ts). This is the one header decoder that verify, restore, `ls` and the `restore()`
 * plugin share, through `readTarEntries` or `decodeTarHeader`.
 */
import { decodeNameBytes } from './path-bytes.js';
import { decodePaxRecords, paxTimeNs, type PaxRecords } from './pax.js';
import { decodeHeaderBlock, type HeaderBlock } from './tar-header-block.js';
import { TAR_BLOCK_SIZE, tarPadding, type TarEntryType } from './tar-header.js';

/** Entry types besides ours: what GNU tar knows and we never create. */
export type ForeignEntryType = 'character device' | 'block device' | 'fifo' | 'volume label' | 'multivolume continuation';

export interface TarEntryInfo {
  /** Path as stored (not yet made safe), without trailing slashes; lossless for any bytes. */
  path: string;
  type: TarEntryType | ForeignEntryType;
  /** Bytes of content that follow the header in the tar stream (a sparse file's data regions only). */
  size: number;
  mode: number;
  uid: number;
  gid: number;
  uname: string;
  gname: string;
  /** Nanoseconds since the epoch, exact when a pax record gave them. */
  mtimeNs: bigint;
  /** Symlink target, or the archive path a hard link shares content with; '' otherwise. */
  linkTarget: string;
  /** Sparse files: the file's real size and where its stored regions go. */
  sparse?: SparseLayout;
  /**
   * Bytes that follow the header without being content, skipped as GNU tar skips them: a GNU
   * dump directory's (`D`, `tar --listed-incremental`) list of the names in it, data a link or a
   * device entry declares. Only a plain directory (`5`) has none, whatever its size field says.
   */
  unusedBytes?: number;
}

export interface SparseLayout {
  realSize: number;
  /** `[offset, length]` of each stored region, in order; read from the content for PAX 1.0. */
  map: Array<[number, number]>;
  /** PAX sparse 1.0: the map is at the start of the content and must be read from there. */
  mapInContent: boolean;
}

/** Meta header types: they describe the entry that follows. */
const META_TYPES = new Set(['x', 'g', 'L', 'K', 'X']);

/** Largest extended header accepted: GNU tar has no limit, but a name of megabytes is an attack. */
export const MAX_META_BYTES = 8 * 1024 * 1024;

export function isMetaHeader(block: HeaderBlock): boolean {
  return META_TYPES.has(block.typeflag);
}

export class TarEntryHeaderResolver {
  private readonly global: PaxRecords = new Map();
  private local: PaxRecords | undefined;
  private longName: Buffer | undefined;
  private longLink: Buffer | undefined;

  /** Takes a meta header's body (`x`, `g`, `L`, `K`); it applies to the next entry (`g`: to all). */
  meta(block: HeaderBlock, body: Buffer): void {
    if (block.typeflag === 'g') decodePaxRecords(body, this.global);
    // A second `x` before the entry replaces the first whole, as in GNU tar (its records are not merged).
    else if (block.typeflag === 'x' || block.typeflag === 'X') this.local = decodePaxRecords(body);
    else if (block.typeflag === 'L') this.longName = cString(body);
    else this.longLink = cString(body);
  }

  /** The entry that `block` starts, with every pending meta header applied; the local ones are used up. */
  entry(block: HeaderBlock): TarEntryInfo {
    const local = this.local ?? new Map<string, Buffer>();
    // Global records apply too, except those that name one file (GNU tar and node-tar agree).
    const record = (key: string) => local.get(key) ?? (key === 'path' || key === 'linkpath' || key === 'size' ? undefined : this.global.get(key));
    const ustarName = block.prefix.length > 0 ? Buffer.concat([block.prefix, Buffer.from('/'), block.name]) : block.name;
    const nameBytes = record('GNU.sparse.name') ?? record('path') ?? this.longName ?? ustarName;
    const linkBytes = record('linkpath') ?? this.longLink ?? block.linkname;
    this.local = undefined;
    this.longName = undefined;
    this.longLink = undefined;

    let path = decodeNameBytes(nameBytes);
    const type = entryTypeOf(block.typeflag, path);
    if (type === 'directory' || path.length > 1) path = path.replace(/\/+$/, '');
    const declared = decimal(record('size')) ?? block.size;
    const size = type === 'directory' || type === 'symlink' || type === 'hardlink' ? 0 : declared;
    const info: TarEntryInfo = {
      path,
      type,
      size,
      mode: block.mode,
      uid: decimal(record('uid')) ?? block.uid,
      gid: decimal(record('gid')) ?? block.gid,
      uname: record('uname')?.toString('utf8') ?? block.uname,
      gname: record('gname')?.toString('utf8') ?? block.gname,
      mtimeNs: paxTimeNs(record('mtime')) ?? block.mtime * 1_000_000_000n,
      linkTarget: decodeNameBytes(linkBytes),
    };
    const sparse = sparseLayout(block, local, size);
    if (sparse) info.sparse = sparse;
    // GNU tar skips the declared size after every header but a directory's ('5', or an old tar's regular file named with a slash).
    const unused = type === 'directory' && block.typeflag !== 'D' ? 0 : declared - size;
    if (unused > 0) info.unusedBytes = unused;
    return info;
  }
}

function cString(body: Buffer): Buffer {
  const nul = body.indexOf(0);
  return Buffer.from(nul === -1 ? body : body.subarray(0, nul));
}

function decimal(value: Buffer | undefined): number | undefined {
  if (value === undefined) return undefined;
  const text = value.toString('latin1');
  return /^\d{1,16}$/.test(text) && Number.isSafeInteger(Number(text)) ? Number(text) : undefined;
}

function entryTypeOf(typeflag: string, path: string): TarEntryInfo['type'] {
  switch (typeflag) {
    case '1':
      return 'hardlink';
    case '2':
      return 'symlink';
    case '3':
      return 'character device';
    case '4':
      return 'block device';
    case '5':
    case 'D': // GNU dump directory: a folder, whose content lists its names
      return 'directory';
    case '6':
      return 'fifo';
    case 'V':
      return 'volume label';
    case 'M':
      return 'multivolume continuation';
    case '0':
    case '\0':
      // Old tars marked folders as regular files with a trailing slash.
      return path.endsWith('/') ? 'directory' : 'file';
    default:
      // '7' (contiguous), 'S' (GNU sparse) and unknown types: GNU tar extracts them as regular files.
      return 'file';
  }
}

function sparseLayout(block: HeaderBlock, local: PaxRecords, storedSize: number): SparseLayout | undefined {
  if (block.gnuSparse) return { realSize: block.gnuSparse.realSize, map: block.gnuSparse.map, mapInContent: false };
  const major = local.get('GNU.sparse.major')?.toString('latin1');
  const realSize = decimal(local.get('GNU.sparse.realsize') ?? local.get('GNU.sparse.size'));
  if (major === '1') return { realSize: realSize ?? storedSize, map: [], mapInContent: true };
  const map = local.get('GNU.sparse.map');
  if (map === undefined || realSize === undefined) return undefined;
  return { realSize, map: pairs(map.toString('latin1').split(',').map(Number)), mapInContent: false };
}

/** `[a, b, c, d]` → `[[a, b], [c, d]]`; a malformed map yields no pairs. */
export function pairs(numbers: number[]): Array<[number, number]> {
  if (numbers.length % 2 !== 0 || numbers.some((n) => !Number.isSafeInteger(n) || n < 0)) return [];
  const out: Array<[number, number]> = [];
  for (let i = 0; i < numbers.length; i += 2) out.push([numbers[i]!, numbers[i + 1]!]);
  return out;
}

/**
 * Decodes the header of one entry from bytes that hold all its header blocks (meta headers and
 * their bodies, then its own block): how verify reads the region a manifest points to. Returns a
 * reason when the bytes are not a valid header.
 */
export function decodeTarHeader(bytes: Buffer): TarEntryInfo | string {
  const resolver = new TarEntryHeaderResolver();
  for (let at = 0; ; ) {
    if (bytes.length < at + TAR_BLOCK_SIZE) return at === 0 ? 'header cut short' : 'header cut short after its extended header';
    const block = decodeHeaderBlock(bytes.subarray(at, at + TAR_BLOCK_SIZE));
    if ('invalid' in block) return block.invalid;
    if ('zero' in block) return 'a zero block where a header should be';
    at += TAR_BLOCK_SIZE;
    if (!isMetaHeader(block)) return resolver.entry(block);
    if (block.size > MAX_META_BYTES || bytes.length < at + block.size) return 'header cut short after its extended header';
    resolver.meta(block, bytes.subarray(at, at + block.size));
    at += block.size + tarPadding(block.size);
  }
}
