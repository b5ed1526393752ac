import { execFileSync } from 'node:child_process';
import { expect } from 'chai';
import { ZstdFrameWalker } from '../../src/format/zstd-frame-walker.js';
import { encodeSeekTable } from '../../src/format/zstd-frames.js';
import { pseudoRandomBytes } from '../helpers/tree.js';

/** Frames as the zstd CLI writes them (no Node zstd needed: this runs on Node 20 too). */
function zstd(input: Buffer, ...flags: string[]): Buffer {
  return execFileSync('zstd', ['-q', '-c', ...flags], { input });
}

/** A skippable frame (as pzstd writes before each frame). */
function skippable(content: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header.writeUInt32LE(0x184d2a50, 0);
  header.writeUInt32LE(content.length, 4);
  return Buffer.concat([header, content]);
}

describe('format/zstd-frame-walker (where frames end, without decompressing)', () => {
  const text = Buffer.from('a line of text\n'.repeat(20_000));
  const noise = pseudoRandomBytes(300_000, 9);
  const frames = [
    zstd(text), // checksum, content size
    zstd(noise, '--no-check', '--no-content-size', '-19'), // raw blocks
    zstd(Buffer.alloc(1_000_000)), // RLE blocks
    skippable(Buffer.from('pzstd says how long the next frame is')),
    zstd(Buffer.alloc(0)), // an empty frame
    encodeSeekTable([{ stored: 10, raw: 20 }]),
  ];
  const stream = Buffer.concat(frames);
  const ends = new Set<number>([0]);
  let at = 0;
  for (const frame of frames) ends.add((at += frame.length));

  it('says the stream ends where a frame does, and only there, wherever the pieces are cut', () => {
    for (let cut = 0; cut <= stream.length; cut += cut < 200 || stream.length - cut < 200 ? 1 : 997) {
      const walker = new ZstdFrameWalker();
      walker.update(stream.subarray(0, cut));
      expect(walker.atFrameEnd, `cut at ${cut}`).to.equal(ends.has(cut));
    }
    for (const end of ends) {
      const walker = new ZstdFrameWalker();
      walker.update(stream.subarray(0, end));
      expect(walker.atFrameEnd, `frame end ${end}`).to.equal(true);
    }
  });

  it('reads the same in pieces of any size', () => {
    for (const size of [1, 3, 7, 4096, stream.length]) {
      const walker = new ZstdFrameWalker();
      for (let from = 0; from < stream.length; from += size) walker.update(stream.subarray(from, from + size));
      expect(walker.atFrameEnd, `pieces of ${size}`).to.equal(true);
    }
  });

  it('gives up on bytes that are no zstd frame (the decoder names them), never claiming a cut', () => {
    const walker = new ZstdFrameWalker();
    walker.update(Buffer.concat([frames[0]!, Buffer.from('GARBAGE after the frame')]));
    expect(walker.atFrameEnd).to.equal(true);
  });
});
