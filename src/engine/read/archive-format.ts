/**
 * An archive read without a manifest (a foreign .tar.gz, GNU tar's or Python's, or one of ours
 * whose manifest is gone): the compression is told by magic bytes, never by file name, and the
 * bytes become one tar stream for `readTarEntries`. Compressions we cannot read are named.
 */
import { Readable, type Duplex } from 'node:stream';
import * as zlib from 'node:zlib';
import bytes from 'bytes';
import { BackupError } from '../../errors.js';
import { LfsPointerError, lfsPointer } from '../../format/lfs-pointer.js';
import { readableCodec } from '../../format/codecs/codecs.js';
import { zstdCodec } from '../../format/codecs/zstd-codec.js';
import { ZstdFrameWalker } from '../../format/zstd-frame-walker.js';
import { OUTPUT_CHUNK, decoded } from '../../format/decoded.js';
import { firstFrameOffset, frameDictionaryId, frameWindowSize, isSkippableFrame } from '../../format/zstd-frames.js';
import { GzipFormatError, gunzipMembers, type GzipEnd } from '../../format/gzip-members.js';
import { TarFormatError, isAllZeros, readTarEntries, type TarEntry, type TarStreamEnd } from '../../format/tar-entry-stream.js';
import { decodeHeaderBlock } from '../../format/tar-header-block.js';
import { TAR_BLOCK_SIZE } from '../../format/tar-header.js';
import { notFound } from '../chain/locate-backup.js';
import { defaultStores, type Stores } from '../../store/stores.js';
import { missingFileError } from '../../store/backup-store.js';
import { DEFAULT_WINDOW_MEMORY } from '../options.js';

export type ArchiveCompression = 'gzip' | 'zstd' | 'none';

/** What a GNU multi-volume continuation entry (`M`) is: the rest of a file begun in another volume. */
export const MULTIVOLUME_CONTINUATION =
  'it continues a file begun in an earlier volume of a multi-volume archive (tar -M): GNU tar -xM, given every volume, restores it';

const UNSUPPORTED: ReadonlyArray<[string, Buffer]> = [
  ['bzip2', Buffer.from('BZh')],
  ['xz', Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])],
  ['lzip', Buffer.from('LZIP')],
  ['compress (.Z)', Buffer.from([0x1f, 0x9d])],
  ['lz4', Buffer.from([0x04, 0x22, 0x4d, 0x18])],
];

const GZIP_MAGIC = Buffer.from([0x1f, 0x8b]);
const ZSTD_MAGIC = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);

/** The compression of an archive from its first bytes; an error that names it when we cannot read it. */
export function compressionOf(head: Buffer, path: string): ArchiveCompression {
  if (head.length === 0) throw new BackupError('ARCHIVE_UNRECOGNIZED', `${path} is empty (0 bytes): it is not an archive.`, { path });
  const pointer = lfsPointer(head);
  if (pointer) throw new LfsPointerError(path, pointer);
  if (head.subarray(0, 2).equals(GZIP_MAGIC)) return 'gzip';
  if (head.subarray(0, 4).equals(ZSTD_MAGIC)) return 'zstd';
  // A skippable frame first (pzstd writes one before each frame): zstd, unless the block is a tar header.
  if (isSkippableFrame(head) && (head.length < TAR_BLOCK_SIZE || 'invalid' in decodeHeaderBlock(head.subarray(0, TAR_BLOCK_SIZE)))) return 'zstd';
  const unsupported = UNSUPPORTED.find(([, magic]) => head.subarray(0, magic.length).equals(magic))?.[0] ?? (isLzmaAlone(head) ? 'lzma' : undefined);
  if (unsupported !== undefined) {
    throw new BackupError('ARCHIVE_UNSUPPORTED', `${path} is ${unsupported}-compressed, which gulp-backup does not read. Decompress it first (it reads tar, gzip and zstd).`, {
      path,
    });
  }
  return 'none';
}

/** Bytes `compressionOf` wants to see: a whole tar header block, to tell a tar from an .lzma file. */
export const COMPRESSION_HEAD_BYTES = 512;

/**
 * The legacy .lzma format (`lzma`, `tar --lzma`) has no magic: it starts with a properties byte,
 * 0x5D for every preset, then the dictionary size, whose two low bytes are 0 (as `file` tells it).
 * A tar whose first name is "]" starts so too: it is taken for .lzma only when its first block is
 * not a valid tar header.
 */
function isLzmaAlone(head: Buffer): boolean {
  if (head[0] !== 0x5d || head[1] !== 0 || head[2] !== 0) return false;
  return head.length < TAR_BLOCK_SIZE || 'invalid' in decodeHeaderBlock(head.subarray(0, TAR_BLOCK_SIZE));
}

/** How readers of an archive without a manifest may decompress it. */
export interface ArchiveReadOptions {
  /** The most memory a zstd frame's window may take (`maxMemory`); default zstd's own 128 MiB. */
  maxMemory?: number;
}

/** The zstd decompressor, or an error naming what it needs. */
function zstdDecompressor(path: string, maxMemory: number): Duplex & { bytesWritten: number } {
  readableCodec(zstdCodec, path);
  // A window is a power of two (plus eighths): the limit is the largest power of two within maxMemory, 1 KiB to 2 GiB.
  const windowLogMax = Math.min(31, Math.max(10, Math.floor(Math.log2(maxMemory))));
  const params = { [(zlib.constants as unknown as Record<string, number>).ZSTD_d_windowLogMax!]: windowLogMax };
  return (zlib as unknown as { createZstdDecompress: (options: object) => Duplex & { bytesWritten: number } }).createZstdDecompress({ params, chunkSize: OUTPUT_CHUNK });
}

/**
 * A zstd frame whose window is past the limit: a good archive (made with `zstd --long`) that needs
 * more memory to read, never a damaged one. `head` is the archive's first bytes, to tell the window.
 */
function windowTooLarge(path: string, head: Buffer, maxMemory: number, cause: Error): BackupError {
  const first = firstFrameOffset(head);
  const window = first === undefined ? undefined : frameWindowSize(head.subarray(first));
  const needed = window !== undefined && window > maxMemory ? window : undefined;
  const allow = bytes.format(2 ** Math.min(31, Math.ceil(Math.log2(needed ?? 2 ** 31))));
  return new BackupError(
    'ARCHIVE_NEEDS_MEMORY',
    `${path} was compressed with a zstd window of ${needed === undefined ? `more than ${bytes.format(maxMemory)}` : bytes.format(needed)} (zstd --long): ` +
      `decompressing it takes that much memory, more than the ${bytes.format(maxMemory)} allowed (zstd, GNU tar and bsdtar refuse it too, unless told). ` +
      `Allow it with --max-memory ${allow} (option maxMemory: '${allow}'), or decompress it first: zstd -d --long=31.`,
    { path, cause },
  );
}

/**
 * A stream compressed with a zstd dictionary (`zstd -D`) cannot be read without it, as `zstd -t`
 * and GNU tar cannot: refused up front, never called damaged (the decoder says "Dictionary mismatch").
 */
function refuseDictionary(path: string, head: Buffer): void {
  const first = firstFrameOffset(head);
  const id = first === undefined ? undefined : frameDictionaryId(head.subarray(first));
  if (!id) return;
  throw new BackupError(
    'ARCHIVE_UNSUPPORTED',
    `${path} was compressed with a zstd dictionary (id ${id}), which it cannot be read without, and gulp-backup takes none: decompress it first (zstd -d -D DICTIONARY).`,
    { path },
  );
}

/** The tar bytes of a stream of archive bytes, decompressed as its magic bytes say. */
export async function tarBytesOf(
  source: Readable,
  name: string,
  { maxMemory = DEFAULT_WINDOW_MEMORY }: ArchiveReadOptions = {},
): Promise<{ compression: ArchiveCompression; tar: Readable; gzip?: GzipEnd }> {
  const iterator = source[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  let head = Buffer.alloc(0);
  const held: Buffer[] = [];
  while (head.length < COMPRESSION_HEAD_BYTES) {
    const next = await iterator.next();
    if (next.done) break;
    held.push(next.value);
    head = Buffer.concat(held);
  }
  const compression = compressionOf(head, name);
  const input = Readable.from(
    (async function* () {
      yield* held;
      for (let next = await iterator.next(); !next.done; next = await iterator.next()) yield next.value;
    })(),
    { objectMode: false },
  );
  input.on('close', () => source.destroy());
  if (compression === 'none') return { compression, tar: input };
  if (compression === 'gzip') {
    const gzip: GzipEnd = { members: 0, trailingGarbage: false };
    const tar = Readable.from(gunzipMembers(input, gzip), { objectMode: false });
    tar.on('close', () => input.destroy());
    return { compression, tar, gzip };
  }
  refuseDictionary(name, head);
  // zlib's zstd decoder fails with errors of its own: as BackupErrors here, for every reader.
  const tar = Readable.from(
    (async function* () {
      try {
        yield* zstdFramesOf(input, name, maxMemory);
      } catch (error) {
        throw (error as NodeJS.ErrnoException).code === 'ZSTD_error_frameParameter_windowTooLarge'
          ? windowTooLarge(name, head, maxMemory, error as Error)
          : asStreamError(error, name);
      }
    })(),
    { objectMode: false },
  );
  tar.on('close', () => input.destroy());
  return { compression, tar };
}

/**
 * zstd frames one after another (pzstd, the seekable format, `cat`), decompressed as `zstd -d`
 * does. Node 22's decoder ends at the end of a frame that a written piece goes past, dropping the
 * rest (Node 24's goes on), so a new decoder takes the bytes it left; and it says nothing of a
 * stream cut short, which the frame walker finds.
 */
async function* zstdFramesOf(input: AsyncIterable<Buffer>, path: string, maxMemory: number): AsyncGenerator<Buffer> {
  const iterator = input[Symbol.asyncIterator]();
  const walker = new ZstdFrameWalker();
  let left: Buffer | undefined;
  const nextPiece = async (): Promise<Buffer | undefined> => {
    if (left) {
      const piece = left;
      left = undefined;
      return piece;
    }
    const next = await iterator.next();
    if (next.done) return undefined;
    walker.update(next.value);
    return next.value;
  };
  for (let piece = await nextPiece(); piece !== undefined; piece = await nextPiece()) {
    const decoder = zstdDecompressor(path, maxMemory);
    try {
      let fed = 0;
      for (; piece !== undefined; piece = await nextPiece()) {
        yield* decoded(decoder, piece);
        fed += piece.length;
        if (decoder.bytesWritten === 0) {
          // A decoder that ended taking nothing would be followed by another doing the same, forever.
          throw Object.assign(new Error('the zstd decoder took none of the data'), { code: 'ZSTD_error_corruption_detected' });
        }
        if (decoder.bytesWritten < fed) {
          // The frame ended inside this piece, and this decoder with it: the rest is the next frame's.
          left = piece.subarray(piece.length - (fed - decoder.bytesWritten));
          break;
        }
      }
      if (piece === undefined) {
        yield* decoded(decoder, undefined);
        if (!walker.atFrameEnd) throw Object.assign(new Error('unexpected end of file: the zstd stream was cut short'), { code: 'ZSTD_error_srcSize_wrong' });
        return;
      }
    } finally {
      decoder.destroy();
    }
  }
}

/** Data past the end marker: more archive that no reader takes for entries (GNU tar reads it with -i). */
export function moreAfterEnd(path: string): string {
  return `data follows the end-of-archive marker of ${path} (tar archives joined with cat?): entries there were not read, as GNU tar reads none of them without --ignore-zeros`;
}

/** Decompressed bytes read past the tar end marker, to prove the compressed stream whole. */
const TAIL_LIMIT = 64 * 1024 * 1024;

/** What a reader of entries learns besides them, and how it may decompress. */
export interface ArchiveEntriesOptions extends ArchiveReadOptions {
  /** Learns whether the tar end marker came, and how many bytes came before it. */
  end?: TarStreamEnd;
  /** Gets what is odd but harmless (bytes after the last gzip member). */
  warnings?: string[];
}

/**
 * The entries of an archive file without a manifest. After the end marker, the rest of the
 * compressed stream is read (up to 64 MiB) so that a cut-short or damaged end is found, as
 * `tar -xz` finds it through gzip; what is odd but harmless goes to `warnings`.
 */
export async function* archiveEntries(path: string, options: ArchiveEntriesOptions = {}, stores: Stores = defaultStores): AsyncGenerator<TarEntry> {
  const { store, name } = stores.file(path);
  // A missing file is named before anything else.
  if (!(await store.stat(name))) throw notFound(path, missingFileError(path));
  yield* archiveEntriesOf(store.stream(name), path, options);
}

/** The same, from a stream of archive bytes (a vinyl file's contents); `path` names it in messages. */
export async function* archiveEntriesOf(
  source: Readable,
  path: string,
  { end = { endMarker: false, bytes: 0 }, warnings = [], maxMemory }: ArchiveEntriesOptions = {},
): AsyncGenerator<TarEntry> {
  const { compression, tar, gzip } = await tarBytesOf(source, path, { maxMemory });
  const iterator = tar[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const next = () => iterator.next();
  try {
    // The reader stops at the end marker without closing the stream: the tail is read here.
    try {
      yield* readTarEntries({ [Symbol.asyncIterator]: () => ({ next }) }, end);
    } catch (error) {
      throw notTarAtAll(error, path, compression) ?? error;
    }
    let tail = 0;
    let more = end.rest !== undefined && !isAllZeros(end.rest);
    for (let chunk = await next(); !chunk.done; chunk = await next()) {
      tail += chunk.value.length;
      more ||= !isAllZeros(chunk.value);
      if (tail > TAIL_LIMIT) {
        warnings.push(`more than ${TAIL_LIMIT / 1024 / 1024} MiB of data follow the end of the tar archive in ${path}; they were not read`);
        break;
      }
    }
    if (more) warnings.push(moreAfterEnd(path));
    if (gzip?.trailingGarbage) warnings.push(`bytes that are not gzip data follow the last gzip member of ${path}; they were ignored, as gzip does`);
  } finally {
    tar.destroy();
  }
}

/** Compressed data that zlib's zstd decoder refused (damaged, or cut short), as the BackupError readers report. */
export class ZstdFormatError extends BackupError {
  constructor(cause: Error, path: string) {
    super('ARCHIVE_DAMAGED', cause.message, { path, cause });
  }
}

/** A decompressor's own error as a ZstdFormatError (gzip's are GzipFormatErrors already); any other error as it is. */
function asStreamError(error: unknown, path: string): unknown {
  return isDecompressionError(error) && !(error instanceof BackupError) ? new ZstdFormatError(error as Error, path) : error;
}

/**
 * A bad header at byte 0 means the bytes are not tar at all (as GNU tar says, "This does not look
 * like a tar archive"): a usage error, not a damaged archive.
 */
export function notTarAtAll(error: unknown, path: string, compression: ArchiveCompression): BackupError | undefined {
  // Fewer bytes than one header count as not tar too, as GNU tar counts them (a gzip of a gzip, a short text file).
  if (!(error instanceof TarFormatError) || error.offset !== 0) return undefined;
  const inside = compression === 'none' ? '' : ` (it is ${compression}-compressed, but what is inside is not tar)`;
  return new BackupError('ARCHIVE_UNRECOGNIZED', `${path} is not a tar archive${inside}: gulp-backup reads tar, .tar.gz and .tar.zst archives.`, { path });
}

/** Whether an error came from a decompressor (gzip/zstd data damaged or cut short). */
export function isDecompressionError(error: unknown): boolean {
  if (error instanceof GzipFormatError || error instanceof ZstdFormatError) return true;
  const code = (error as NodeJS.ErrnoException | undefined)?.code ?? '';
  return code.startsWith('Z_') || code.startsWith('ZSTD_error') || code.startsWith('ERR_ZSTD') || code === 'ERR_ZLIB_INITIALIZATION_FAILED';
}
