/**
 * Reads an archive's gzip members in order, inflates them in parallel on the codec pool and hands
 * back each block's tar bytes (or why it is damaged) in order. The whole file is hashed on the way.
 *
 * With the manifest's block index, member i is exactly `[offsets[i], offsets[i + 1])`, whatever its
 * header says: a damaged member spoils one block and the reader goes on with the next. Without an
 * index, the reader hops from header to header; a damaged header there ends the walk.
 */
import { createHash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { END_MARKER, MEMBER_HEADER_SIZE, decodeMemberHeader } from '../format/blocked-gzip.js';
import type { BlockCodecPool, InflatedMember } from './block-codec-pool.js';

export interface BlockIndex {
  blockSize: number;
  /** Archive offsets of the members, then of the end marker. */
  offsets: number[];
  /** Length of the whole tar stream. */
  tarBytes: number;
}

export interface ReadBlock {
  index: number;
  /** Offset of the block's first byte in the tar stream. */
  tarOffset: number;
  /** Bytes the block should inflate to. */
  rawLength: number;
  archiveOffset: number;
  data?: Buffer;
  /** Why the block could not be read; `data` is then undefined. */
  error?: string;
}

export interface ArchiveEnd {
  /** SHA-256 of every byte of the file, in order (undefined when the walk stopped early). */
  sha256: string | undefined;
  fileSize: number;
  /** What is wrong with the end of the file: missing end marker (truncated), trailing bytes… */
  problems: string[];
}

export interface ReadOptions {
  /** Read only these blocks (ascending; needs the block index): random access for restore. */
  only?: readonly number[];
  /** Members inflating at once, bounding memory. */
  maxInFlight: number;
  signal?: AbortSignal;
  /** Called with every byte count read, for progress. */
  onRead?: (bytes: number) => void;
}

export class ArchiveReader {
  private readonly hash = createHash('sha256');
  private hashedUpTo = 0;
  readonly end: ArchiveEnd;

  constructor(
    private readonly handle: FileHandle,
    private readonly fileSize: number,
    private readonly pool: BlockCodecPool,
    private readonly index: BlockIndex | undefined,
  ) {
    this.end = { sha256: undefined, fileSize, problems: [] };
  }

  /** Yields every block in order; `end` is filled in once the generator is done. */
  async *blocks(options: ReadOptions): AsyncGenerator<ReadBlock> {
    const pending: Array<Promise<ReadBlock>> = [];
    for await (const member of this.members(options.only)) {
      options.signal?.throwIfAborted();
      options.onRead?.(member.length);
      const result = this.inflate(member);
      result.catch(() => {});
      pending.push(result);
      while (pending.length >= options.maxInFlight) yield await pending.shift()!;
    }
    while (pending.length > 0) yield await pending.shift()!;
  }

  private async inflate(member: MemberRead): Promise<ReadBlock> {
    const base = { index: member.index, tarOffset: member.tarOffset, rawLength: member.rawLength, archiveOffset: member.archiveOffset };
    if (member.error !== undefined) return { ...base, error: member.error };
    const result: InflatedMember = await this.pool.inflate(member.bytes!.buffer as ArrayBuffer, member.length, member.rawLength);
    return result.data ? { ...base, data: result.data } : { ...base, error: `gzip member at byte ${member.archiveOffset}: ${result.error}` };
  }

  /** Reads `length` bytes at `position` into a buffer of its own (transferable), hashing in file order. */
  private async readAt(position: number, length: number): Promise<Buffer> {
    const bytes = Buffer.from(new ArrayBuffer(length));
    let filled = 0;
    while (filled < length) {
      const { bytesRead } = await this.handle.read(bytes, filled, length - filled, position + filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    const read = bytes.subarray(0, filled);
    if (position === this.hashedUpTo) {
      this.hash.update(read);
      this.hashedUpTo += filled;
    }
    return read;
  }

  /** A plain `.tar` (codec none): blocks are read as they are, and the file is the tar stream. */
  async *plainBlocks(blockSize: number, tarBytes: number | undefined): AsyncGenerator<ReadBlock> {
    for (let i = 0, position = 0; position < this.fileSize; i++, position += blockSize) {
      const data = await this.readAt(position, Math.min(blockSize, this.fileSize - position));
      yield { index: i, tarOffset: position, rawLength: data.length, archiveOffset: position, data };
    }
    if (tarBytes !== undefined && this.fileSize < tarBytes) this.end.problems.push(`the archive was cut short at byte ${this.fileSize}`);
    if (tarBytes !== undefined && this.fileSize > tarBytes) this.end.problems.push(`${this.fileSize - tarBytes} unexpected bytes after the tar stream`);
    this.end.sha256 = this.hash.digest('hex');
  }

  private async *members(only: readonly number[] | undefined): AsyncGenerator<MemberRead> {
    if (this.index) yield* this.indexedMembers(this.index, only);
    else if (only) throw new Error('reading chosen blocks needs the block index');
    else yield* this.walkedMembers();
  }

  private async *indexedMembers(index: BlockIndex, only: readonly number[] | undefined): AsyncGenerator<MemberRead> {
    const count = index.offsets.length - 1;
    for (const i of only ?? Array.from({ length: count }, (_, n) => n)) {
      const archiveOffset = index.offsets[i]!;
      const length = index.offsets[i + 1]! - archiveOffset;
      const tarOffset = i * index.blockSize;
      const rawLength = Math.min(index.blockSize, index.tarBytes - tarOffset);
      const base = { index: i, archiveOffset, length, tarOffset, rawLength };
      if (archiveOffset >= this.fileSize) {
        yield { ...base, error: `missing: the archive ends at byte ${this.fileSize}, before this block (truncated)` };
        continue;
      }
      const bytes = await this.readAt(archiveOffset, length);
      const header = decodeMemberHeader(bytes);
      if (bytes.length < length) yield { ...base, error: `cut short at byte ${this.fileSize} (truncated archive)` };
      else if (!header || header.memberLength !== length || header.rawLength !== rawLength) {
        yield { ...base, error: `damaged gzip member header at byte ${archiveOffset}` };
      } else yield { ...base, bytes };
    }
    if (!only) await this.checkEndMarker(index.offsets[count]!);
  }

  private async *walkedMembers(): AsyncGenerator<MemberRead> {
    let position = 0;
    let tarOffset = 0;
    for (let i = 0; ; i++) {
      if (position >= this.fileSize) {
        this.end.problems.push(`no end marker: the archive was cut short at byte ${this.fileSize}`);
        return;
      }
      const head = await this.readAt(position, Math.min(MEMBER_HEADER_SIZE, this.fileSize - position));
      const header = decodeMemberHeader(head);
      if (!header) {
        this.end.problems.push(
          position === 0
            ? 'not a gulp-backup archive (no GB subfield in the first gzip header)'
            : `damaged gzip member header at byte ${position}; without the manifest the rest of the archive cannot be located`,
        );
        return;
      }
      if (header.rawLength === 0) {
        await this.checkEndMarker(position);
        return;
      }
      const rest = await this.readAt(position + head.length, header.memberLength - head.length);
      const bytes = Buffer.from(new ArrayBuffer(head.length + rest.length));
      head.copy(bytes);
      rest.copy(bytes, head.length);
      const base = { index: i, archiveOffset: position, length: bytes.length, tarOffset, rawLength: header.rawLength };
      if (bytes.length < header.memberLength) {
        yield { ...base, error: `cut short at byte ${this.fileSize} (truncated archive)` };
        this.end.problems.push(`no end marker: the archive was cut short at byte ${this.fileSize}`);
        return;
      }
      yield { ...base, bytes };
      position += header.memberLength;
      tarOffset += header.rawLength;
    }
  }

  private async checkEndMarker(position: number): Promise<void> {
    const tail = await this.readAt(position, Math.max(0, this.fileSize - position));
    if (tail.length < END_MARKER.length || !tail.subarray(0, END_MARKER.length).equals(END_MARKER)) {
      this.end.problems.push(
        tail.length < END_MARKER.length
          ? `no end marker: the archive was cut short at byte ${this.fileSize}`
          : `damaged end marker at byte ${position}`,
      );
    } else if (tail.length > END_MARKER.length) {
      this.end.problems.push(`${tail.length - END_MARKER.length} unexpected bytes after the end marker`);
    }
    if (this.hashedUpTo === this.fileSize) this.end.sha256 = this.hash.digest('hex');
  }
}

interface MemberRead {
  index: number;
  archiveOffset: number;
  length: number;
  tarOffset: number;
  rawLength: number;
  bytes?: Buffer;
  error?: string;
}
