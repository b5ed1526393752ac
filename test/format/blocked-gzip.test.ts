import { expect } from 'chai';
import { crc32, deflateRawSync, gunzipSync, gzipSync } from 'node:zlib';
import {
  END_MARKER,
  MEMBER_HEADER_SIZE,
  decodeMemberHeader,
  encodeMemberHeader,
  encodeMemberTrailer,
} from '../../src/format/blocked-gzip.js';

function member(data: Buffer, level = 6): Buffer {
  const deflated = deflateRawSync(data, { level });
  return Buffer.concat([encodeMemberHeader(deflated.length, data.length), deflated, encodeMemberTrailer(crc32(data), data.length)]);
}

describe('format/blocked-gzip', () => {
  it('writes members that any gzip reader inflates, alone and concatenated', () => {
    const a = Buffer.from('first block '.repeat(1000));
    const b = Buffer.from('second block '.repeat(500));
    expect(gunzipSync(member(a)).equals(a)).to.equal(true);
    expect(gunzipSync(Buffer.concat([member(a), member(b), END_MARKER])).equals(Buffer.concat([a, b]))).to.equal(true);
  });

  it('records the member length and the block length in the GB subfield', () => {
    const data = Buffer.from('x'.repeat(70_000));
    const bytes = member(data);
    expect(decodeMemberHeader(bytes)).to.deep.equal({ memberLength: bytes.length, rawLength: data.length });
    expect(decodeMemberHeader(Buffer.concat([Buffer.alloc(3), bytes]), 3)).to.deep.equal({ memberLength: bytes.length, rawLength: data.length });
  });

  it('ends with an empty member that inflates to nothing', () => {
    expect(gunzipSync(END_MARKER).length).to.equal(0);
    expect(decodeMemberHeader(END_MARKER)).to.deep.equal({ memberLength: END_MARKER.length, rawLength: 0 });
  });

  it('keeps no time, name or OS in the header, so equal input gives equal bytes', () => {
    const header = encodeMemberHeader(100, 200);
    expect(header.length).to.equal(MEMBER_HEADER_SIZE);
    expect(header.readUInt32LE(4)).to.equal(0); // MTIME
    expect(header[8]).to.equal(0); // XFL
    expect(header[9]).to.equal(255); // OS unknown
    expect(member(Buffer.from('same')).equals(member(Buffer.from('same')))).to.equal(true);
  });

  it('does not mistake a plain gzip member or damaged bytes for one of its own', () => {
    expect(decodeMemberHeader(gzipSync(Buffer.from('plain')))).to.equal(undefined);
    const damaged = Buffer.from(member(Buffer.from('abc')));
    damaged[12] = 0x58; // subfield id
    expect(decodeMemberHeader(damaged)).to.equal(undefined);
    expect(decodeMemberHeader(Buffer.alloc(5))).to.equal(undefined);
  });
});
