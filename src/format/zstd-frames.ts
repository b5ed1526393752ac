/**
 * The zstd pieces of a blocked `.tar.zst` (docs/FORMAT.md §2): one zstd frame per block (RFC 8878),
 * each declaring its content size, and, at the end, the seek table of zstd's seekable format
 * (contrib/seekable_format): a skippable frame that plain `zstd -d` passes over and that lists every
 * frame's compressed and decompressed size, so a reader can find the blocks without the manifest.
 */

export const ZSTD_FRAME_MAGIC = 0xfd2fb528;
/** The skippable-frame magic the seekable format uses for its seek table. */
const SEEK_TABLE_FRAME_MAGIC = 0x184d2a5e;
const SEEKABLE_MAGIC = 0x8f92eab1;
/** Number_Of_Frames (4), Seek_Table_Descriptor (1), Seekable_Magic_Number (4). */
export const SEEK_TABLE_FOOTER_SIZE = 9;
const SKIPPABLE_HEADER_SIZE = 8;
const ENTRY_SIZE = 8;

export interface FrameSizes {
  /** Bytes of the frame in the archive. */
  stored: number;
  /** Bytes it decompresses to. */
  raw: number;
}

/**
 * The content size a zstd frame's header declares, `undefined` when the bytes do not start a zstd
 * frame, `null` when the frame does not declare one (RFC 8878 §3.1.1.1).
 */
export function frameContentSize(bytes: Uint8Array): number | null | undefined {
  if (bytes.length < 6) return undefined;
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  if (view.readUInt32LE(0) !== ZSTD_FRAME_MAGIC) return undefined;
  const descriptor = view[4]!;
  if (descriptor & 0x08) return undefined; // the reserved bit must be zero
  const sizeFlag = descriptor >> 6;
  const singleSegment = (descriptor >> 5) & 1;
  const dictionaryIdBytes = [0, 1, 2, 4][descriptor & 3]!;
  const sizeBytes = [singleSegment ? 1 : 0, 2, 4, 8][sizeFlag]!;
  if (sizeBytes === 0) return null;
  const at = 5 + (singleSegment ? 0 : 1) + dictionaryIdBytes;
  if (view.length < at + sizeBytes) return undefined;
  if (sizeBytes === 1) return view[at]!;
  if (sizeBytes === 2) return view.readUInt16LE(at) + 256;
  if (sizeBytes === 4) return view.readUInt32LE(at);
  const size = view.readBigUInt64LE(at);
  return size > BigInt(Number.MAX_SAFE_INTEGER) ? undefined : Number(size);
}

/**
 * The dictionary a zstd frame's header names (RFC 8878 §3.1.1.1.3): 0 when none (or unsaid),
 * `undefined` when the bytes do not start a frame.
 */
export function frameDictionaryId(bytes: Uint8Array): number | undefined {
  if (bytes.length < 6) return undefined;
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  if (view.readUInt32LE(0) !== ZSTD_FRAME_MAGIC) return undefined;
  const descriptor = view[4]!;
  const idBytes = [0, 1, 2, 4][descriptor & 3]!;
  const at = 5 + ((descriptor >> 5) & 1 ? 0 : 1);
  if (idBytes === 0) return 0;
  if (view.length < at + idBytes) return undefined;
  return idBytes === 1 ? view[at]! : idBytes === 2 ? view.readUInt16LE(at) : view.readUInt32LE(at);
}

/** Whether the bytes start a skippable frame (RFC 8878 §3.1.2: magic 0x184D2A50 to 0x184D2A5F). */
export function isSkippableFrame(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && (bytes[0]! & 0xf0) === 0x50 && bytes[1] === 0x2a && bytes[2] === 0x4d && bytes[3] === 0x18;
}

/**
 * Where the first zstd frame starts, past the skippable frames before it (`pzstd` puts one before
 * each frame); `undefined` when the bytes end first.
 */
export function firstFrameOffset(bytes: Uint8Array): number | undefined {
  let at = 0;
  while (isSkippableFrame(bytes.subarray(at))) {
    if (bytes.length < at + SKIPPABLE_HEADER_SIZE) return undefined;
    at += SKIPPABLE_HEADER_SIZE + Buffer.from(bytes.buffer, bytes.byteOffset + at + 4, 4).readUInt32LE(0);
  }
  return at < bytes.length ? at : undefined;
}

/**
 * The window a zstd frame's decoder must hold (RFC 8878 §3.1.1.1.2), from its header: the
 * Window_Descriptor, or the content size of a single-segment frame. `undefined` when the bytes do
 * not start a frame, or it cannot be told.
 */
export function frameWindowSize(bytes: Uint8Array): number | undefined {
  if (bytes.length < 6 || Buffer.from(bytes.buffer, bytes.byteOffset, 4).readUInt32LE(0) !== ZSTD_FRAME_MAGIC) return undefined;
  if ((bytes[4]! >> 5) & 1) return frameContentSize(bytes) ?? undefined;
  const windowBase = 2 ** (10 + (bytes[5]! >> 3));
  return windowBase + (windowBase / 8) * (bytes[5]! & 7);
}

/** The seek table that ends every blocked `.tar.zst`: one entry per frame, no checksums. */
export function encodeSeekTable(frames: readonly FrameSizes[]): Buffer {
  const contentSize = frames.length * ENTRY_SIZE + SEEK_TABLE_FOOTER_SIZE;
  const table = Buffer.alloc(SKIPPABLE_HEADER_SIZE + contentSize);
  table.writeUInt32LE(SEEK_TABLE_FRAME_MAGIC, 0);
  table.writeUInt32LE(contentSize, 4);
  frames.forEach((frame, i) => {
    table.writeUInt32LE(frame.stored, SKIPPABLE_HEADER_SIZE + i * ENTRY_SIZE);
    table.writeUInt32LE(frame.raw, SKIPPABLE_HEADER_SIZE + i * ENTRY_SIZE + 4);
  });
  const footer = SKIPPABLE_HEADER_SIZE + frames.length * ENTRY_SIZE;
  table.writeUInt32LE(frames.length, footer);
  table[footer + 4] = 0; // descriptor: no per-frame checksums (each frame carries its own)
  table.writeUInt32LE(SEEKABLE_MAGIC, footer + 5);
  return table;
}

/**
 * What the seek table ending with `footer`'s last bytes holds: its frame count and whole size
 * (entries carry a checksum when another tool wrote them so); `undefined` if no table ends there.
 */
export function seekTableAt(footer: Uint8Array): { frames: number; size: number; checksums: boolean } | undefined {
  if (footer.length < SEEK_TABLE_FOOTER_SIZE) return undefined;
  const view = Buffer.from(footer.buffer, footer.byteOffset + footer.length - SEEK_TABLE_FOOTER_SIZE, SEEK_TABLE_FOOTER_SIZE);
  if (view.readUInt32LE(5) !== SEEKABLE_MAGIC || (view[4]! & 0x7c) !== 0) return undefined;
  const frames = view.readUInt32LE(0);
  const checksums = (view[4]! & 0x80) !== 0;
  const entrySize = checksums ? ENTRY_SIZE + 4 : ENTRY_SIZE;
  return { frames, size: SKIPPABLE_HEADER_SIZE + frames * entrySize + SEEK_TABLE_FOOTER_SIZE, checksums };
}

/** The frames a whole seek table lists, or `undefined` when the bytes are not one. */
export function decodeSeekTable(table: Uint8Array): FrameSizes[] | undefined {
  const found = seekTableAt(table);
  if (found === undefined || table.length !== found.size) return undefined;
  const view = Buffer.from(table.buffer, table.byteOffset, table.length);
  if (view.readUInt32LE(0) !== SEEK_TABLE_FRAME_MAGIC || view.readUInt32LE(4) !== table.length - SKIPPABLE_HEADER_SIZE) return undefined;
  const entrySize = (table.length - SKIPPABLE_HEADER_SIZE - SEEK_TABLE_FOOTER_SIZE) / Math.max(1, found.frames);
  return Array.from({ length: found.frames }, (_, i) => ({
    stored: view.readUInt32LE(SKIPPABLE_HEADER_SIZE + i * entrySize),
    raw: view.readUInt32LE(SKIPPABLE_HEADER_SIZE + i * entrySize + 4),
  }));
}
