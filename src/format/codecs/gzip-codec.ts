/** Blocked gzip (docs/FORMAT.md §2): one gzip member per block, each naming its own lengths. */
import { END_MARKER, MEMBER_HEADER_SIZE, decodeMemberHeader, encodeMemberHeader, encodeMemberTrailer } from '../blocked-gzip.js';
import { implausibleBlock, type ArchiveBytes, type BlockCodec, type LocatedBlock } from './block-codec.js';

export const gzipCodec: BlockCodec = {
  name: 'gzip',
  suffix: '.tar.gz',
  // deflate's window is 32 KiB: 1 MiB blocks lose almost nothing (docs/BENCHMARKS.md)
  defaultBlockSize: 1024 * 1024,
  decompressesFast: false,
  compresses: true,
  levels: { min: 0, max: 9, default: 6 },
  unavailable: () => undefined,
  workerSource: `({
    compress(input, level) {
      // One output chunk of deflate's worst-case size: no concatenation inside zlib.
      const chunkSize = Math.max(64 * 1024, input.length + (input.length >> 10) + 1024);
      return { output: zlib.deflateRawSync(input, { level, chunkSize }), check: zlib.crc32(input) };
    },
    decompress(input, rawLength) {
      // zlib checks the member's CRC-32 and ISIZE; the cap stops a member that inflates past the
      // length its header declares (a gzip bomb) as soon as it does. One byte more than the block:
      // a chunk that fills up exactly makes zlib allocate another.
      return zlib.gunzipSync(input, { maxOutputLength: Math.max(1, rawLength), chunkSize: Math.max(64, rawLength + 1) });
    },
  })`,
  frame: (deflated, rawLength, crc32) => [encodeMemberHeader(deflated.length, rawLength), deflated, encodeMemberTrailer(crc32, rawLength)],
  frameProblem(bytes, rawLength) {
    const header = decodeMemberHeader(bytes);
    return header && header.memberLength === bytes.length && header.rawLength === rawLength ? undefined : 'damaged gzip member header';
  },
  endMarker: () => END_MARKER,
  async recognizes(archive) {
    return decodeMemberHeader(await archive.read(0, MEMBER_HEADER_SIZE)) !== undefined;
  },
  walk: walkMembers,
};

/** Hops from member header to member header; a damaged header ends the walk. */
async function* walkMembers(archive: ArchiveBytes, problems: string[]): AsyncGenerator<LocatedBlock, number | undefined> {
  let position = 0;
  let tarOffset = 0;
  for (let index = 0; ; index++) {
    if (position >= archive.size) {
      problems.push(`no end marker: the archive was cut short at byte ${archive.size}`);
      return undefined;
    }
    const head = await archive.read(position, MEMBER_HEADER_SIZE);
    const header = decodeMemberHeader(head);
    if (!header) {
      problems.push(
        position === 0
          ? 'not a gulp-backup archive (no GB subfield in the first gzip header)'
          : `damaged gzip member header at byte ${position}; without the manifest the rest of the archive cannot be located`,
      );
      return undefined;
    }
    if (header.rawLength === 0) return position;
    const implausible = implausibleBlock(header.memberLength, header.rawLength);
    if (implausible) {
      problems.push(`damaged gzip member header at byte ${position} (${implausible}); without the manifest the rest of the archive cannot be located`);
      return undefined;
    }
    const rest = await archive.read(position + head.length, header.memberLength - head.length);
    // A buffer of its own, not Buffer.concat's pooled one: it is transferred to a worker.
    const bytes = Buffer.from(new ArrayBuffer(head.length + rest.length));
    head.copy(bytes);
    rest.copy(bytes, head.length);
    const block = { index, archiveOffset: position, length: bytes.length, tarOffset, rawLength: header.rawLength };
    if (bytes.length < header.memberLength) {
      yield { ...block, error: `cut short at byte ${archive.size} (truncated archive)` };
      problems.push(`no end marker: the archive was cut short at byte ${archive.size}`);
      return undefined;
    }
    yield { ...block, bytes };
    position += header.memberLength;
    tarOffset += header.rawLength;
  }
}
