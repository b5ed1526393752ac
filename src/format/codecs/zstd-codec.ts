/**
 * Blocked zstd (docs/FORMAT.md §2): one zstd frame per block, each with its content size and
 * checksum, ended by the seek table of zstd's seekable format, which `zstd -d` skips.
 */
import * as zlib from 'node:zlib';
import { SEEK_TABLE_FOOTER_SIZE, decodeSeekTable, encodeSeekTable, frameContentSize, seekTableAt } from '../zstd-frames.js';
import { implausibleBlock, type ArchiveBytes, type BlockCodec, type LocatedBlock } from './block-codec.js';

export const zstdCodec: BlockCodec = {
  name: 'zstd',
  suffix: '.tar.zst',
  // zstd -3 looks back up to 2 MiB: 4 MiB blocks stay within 1% of one zstd -3 stream (docs/BENCHMARKS.md)
  defaultBlockSize: 4 * 1024 * 1024,
  decompressesFast: true,
  compresses: true,
  levels: { min: 1, max: 19, default: 3 },
  unavailable: () => ('zstdCompressSync' in zlib ? undefined : 'Node.js 22.15 or later (for its built-in zstd)'),
  workerSource: `({
    compress(input, level) {
      const { ZSTD_c_compressionLevel, ZSTD_c_checksumFlag, ZSTD_c_contentSizeFlag } = zlib.constants;
      const params = { [ZSTD_c_compressionLevel]: level, [ZSTD_c_checksumFlag]: 1, [ZSTD_c_contentSizeFlag]: 1 };
      // One output chunk of zstd's worst-case size (ZSTD_compressBound): no concatenation.
      const chunkSize = Math.max(64 * 1024, input.length + (input.length >> 8) + 1024);
      return { output: zlib.zstdCompressSync(input, { params, chunkSize, info: false }), check: 0 };
    },
    decompress(input, rawLength) {
      // zstd checks the frame's checksum; the cap stops a frame that grows past its block.
      return zlib.zstdDecompressSync(input, { maxOutputLength: Math.max(1, rawLength), chunkSize: Math.max(64, rawLength + 1) });
    },
  })`,
  frame: (output) => [output],
  frameProblem(bytes, rawLength) {
    // Ours always declare their size; another tool's seekable archive may not (then zstd's own
    // length and checksum checks, after decompressing, are what prove the frame).
    const declared = frameContentSize(bytes);
    return declared === rawLength || declared === null ? undefined : 'damaged zstd frame header';
  },
  endMarker: (blocks) => encodeSeekTable(blocks),
  async recognizes(archive) {
    const table = await seekTable(archive);
    return table !== undefined && (table.frames.length === 0 || frameContentSize(await archive.read(0, 18)) !== undefined);
  },
  walk: walkFrames,
};

/** The seek table at the end of `archive`, where it starts, and the frames it lists. */
async function seekTable(archive: ArchiveBytes): Promise<{ start: number; frames: { stored: number; raw: number }[] } | undefined> {
  if (archive.size < SEEK_TABLE_FOOTER_SIZE) return undefined;
  const found = seekTableAt(await archive.read(archive.size - SEEK_TABLE_FOOTER_SIZE, SEEK_TABLE_FOOTER_SIZE));
  // A table with per-frame checksums is another tool's layout: such an archive is read as one
  // zstd stream (which passes over the table) rather than called damaged for not being ours.
  if (!found || found.size > archive.size || found.checksums) return undefined;
  const start = archive.size - found.size;
  const frames = decodeSeekTable(await archive.read(start, found.size));
  return frames && { start, frames };
}

/** The frames the seek table lists, each checked against its own header. */
async function* walkFrames(archive: ArchiveBytes, problems: string[]): AsyncGenerator<LocatedBlock, number | undefined> {
  const table = await seekTable(archive);
  if (!table) {
    problems.push(`no seek table at the end: the archive was cut short at byte ${archive.size} or is not a gulp-backup archive`);
    return undefined;
  }
  const implausible = table.frames.map((frame) => implausibleBlock(frame.stored, frame.raw)).find((why) => why !== undefined);
  if (implausible) {
    problems.push(`the seek table is damaged (a frame ${implausible}); without the manifest the blocks cannot be located`);
    return undefined;
  }
  const listed = table.frames.reduce((sum, frame) => sum + frame.stored, 0);
  if (listed !== table.start) {
    problems.push(`the seek table lists ${listed} bytes of frames where ${table.start} precede it; without the manifest the blocks cannot be located`);
    return undefined;
  }
  let archiveOffset = 0;
  let tarOffset = 0;
  for (const [index, frame] of table.frames.entries()) {
    const bytes = await archive.read(archiveOffset, frame.stored);
    const problem = zstdCodec.frameProblem(bytes, frame.raw);
    const block = { index, archiveOffset, length: frame.stored, tarOffset, rawLength: frame.raw };
    yield problem ? { ...block, error: `${problem} at byte ${archiveOffset}` } : { ...block, bytes };
    archiveOffset += frame.stored;
    tarOffset += frame.raw;
  }
  return table.start;
}
