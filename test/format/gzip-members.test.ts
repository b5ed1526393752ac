import { execFileSync } from 'node:child_process';
import { gzipSync, crc32 } from 'node:zlib';
import { expect } from 'chai';
import { GzipFormatError, gunzipMembers, type GzipEnd } from '../../src/format/gzip-members.js';
import { pseudoRandomBytes } from '../helpers/tree.js';

async function gunzip(bytes: Buffer, chunkSize = bytes.length || 1): Promise<{ data: Buffer; end: GzipEnd }> {
  const chunks = async function* () {
    for (let at = 0; at < bytes.length; at += chunkSize) yield bytes.subarray(at, at + chunkSize);
  };
  const end: GzipEnd = { members: 0, trailingGarbage: false };
  const out: Buffer[] = [];
  for await (const chunk of gunzipMembers(chunks(), end)) out.push(chunk);
  return { data: Buffer.concat(out), end };
}

/** A member whose header carries every optional field (RFC 1952 FEXTRA, FNAME, FCOMMENT, FHCRC). */
function memberWithEveryHeaderField(data: Buffer): Buffer {
  const plain = gzipSync(data);
  const deflated = plain.subarray(10, plain.length - 8);
  const fixed = Buffer.from([0x1f, 0x8b, 8, 0x02 | 0x04 | 0x08 | 0x10, 0, 0, 0, 0, 0, 3]);
  const extra = Buffer.from([4, 0, 0x41, 0x42, 0, 0]);
  const name = Buffer.from('name.tar\0');
  const comment = Buffer.from('a comment\0');
  const header = Buffer.concat([fixed, extra, name, comment]);
  const headerCrc = Buffer.alloc(2);
  headerCrc.writeUInt16LE(crc32(header) & 0xffff);
  return Buffer.concat([header, headerCrc, deflated, plain.subarray(plain.length - 8)]);
}

describe('format/gzip-members (gzip -d, member by member)', () => {
  const data = pseudoRandomBytes(200_000, 5);

  it('reads what gzip writes, whatever the chunk boundaries, and counts members', async () => {
    for (const [sample, sizes] of [
      [data.subarray(0, 5000), [1, 2, 3]],
      [data, [7, 512, 65_536, Infinity]],
    ] as const) {
      const fromGzip = execFileSync('gzip', ['-c', '-6'], { input: sample });
      for (const size of sizes) {
        const { data: out, end } = await gunzip(fromGzip, Math.min(size, fromGzip.length));
        expect(out.equals(sample), `chunks of ${size}`).to.equal(true);
        expect(end).to.deep.equal({ members: 1, trailingGarbage: false });
      }
    }
  });

  it('reads concatenated members and every optional header field', async () => {
    const parts = [data.subarray(0, 1000), data.subarray(1000, 1000), data.subarray(1000, 9000)];
    const bytes = Buffer.concat([gzipSync(parts[0]!), memberWithEveryHeaderField(parts[1]!), memberWithEveryHeaderField(parts[2]!)]);
    for (const size of [1, 100, bytes.length]) {
      const { data: out, end } = await gunzip(bytes, size);
      expect(out.equals(data.subarray(0, 9000))).to.equal(true);
      expect(end.members).to.equal(3);
    }
  });

  it('many members of every size (split pieces, empty ones, one that inflates past 1 MiB between small ones): what gzip -d gives, in any chunks', async () => {
    const pieces: Buffer[] = [];
    for (let at = 0, i = 0; at < data.length; i++) {
      const length = [0, 1, 777, 20, 30_000, 5][i % 6]!;
      pieces.push(data.subarray(at, at + length));
      at += length;
    }
    pieces.splice(7, 0, Buffer.alloc(3 * 1024 * 1024, 7)); // 3 KB of deflate data that inflates to 3 MiB
    const bytes = Buffer.concat(pieces.map((piece, i) => (i % 5 === 4 ? memberWithEveryHeaderField(piece) : gzipSync(piece))));
    const expected = execFileSync('gzip', ['-dc'], { input: bytes, maxBuffer: 64 * 1024 * 1024 });
    for (const size of [100, 4096, 65_536, bytes.length]) {
      const { data: out, end } = await gunzip(bytes, size);
      expect(out.equals(expected), `chunks of ${size}`).to.equal(true);
      expect(end).to.deep.equal({ members: pieces.length, trailingGarbage: false });
    }
  });

  it('a damaged small member among many is named as damage, wherever it lies', async () => {
    const members = Array.from({ length: 40 }, (_, i) => gzipSync(data.subarray(i * 100, i * 100 + 100)));
    for (const [what, at] of [
      ['CRC-32', (m: Buffer) => m.length - 8],
      ['length', (m: Buffer) => m.length - 3],
      ['deflate data', () => 12],
    ] as const) {
      for (const which of [0, 17, 39]) {
        const bad = members.map((member) => Buffer.from(member));
        const target = bad[which]!;
        target[at(target)] = target[at(target)]! ^ 0x55;
        const error = await gunzip(Buffer.concat(bad), 4096).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error, `${what} of member ${which}`).to.be.instanceOf(GzipFormatError);
        expect((error as GzipFormatError).code, `${what} of member ${which}`).to.equal('ARCHIVE_DAMAGED');
      }
    }
  });

  it('ignores zero padding silently and other trailing bytes with a flag, keeping all the data', async () => {
    const padded = await gunzip(Buffer.concat([gzipSync(data), Buffer.alloc(10_240)]), 4096);
    expect(padded.data.equals(data)).to.equal(true);
    expect(padded.end.trailingGarbage).to.equal(false);
    const garbage = await gunzip(Buffer.concat([gzipSync(data), Buffer.from('\0\0GARBAGE')]), 4096);
    expect(garbage.data.equals(data)).to.equal(true);
    expect(garbage.end.trailingGarbage).to.equal(true);
  });

  it('a stream cut anywhere fails with ARCHIVE_TRUNCATED (never hangs, never another error)', async () => {
    const whole = gzipSync(data.subarray(0, 1000));
    for (let cut = 1; cut < whole.length; cut++) {
      const error = await gunzip(whole.subarray(0, cut), 64).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error, `cut at ${cut}`).to.be.instanceOf(GzipFormatError);
      expect((error as GzipFormatError).code, `cut at ${cut}`).to.equal('ARCHIVE_TRUNCATED');
    }
  });

  it('a damaged CRC-32, length or deflate stream fails with ARCHIVE_DAMAGED', async () => {
    const whole = gzipSync(data);
    for (const [what, at] of [
      ['CRC-32', whole.length - 8],
      ['length', whole.length - 4],
      ['deflate data', 20],
    ] as const) {
      const bad = Buffer.from(whole);
      bad[at] = bad[at]! ^ 0x55;
      const error = await gunzip(bad).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error, what).to.be.instanceOf(GzipFormatError);
      expect((error as GzipFormatError).code, what).to.equal('ARCHIVE_DAMAGED');
    }
  });
});
