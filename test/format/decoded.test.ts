import { expect } from 'chai';
import { setTimeout as sleep } from 'node:timers/promises';
import * as zlib from 'node:zlib';
import { OUTPUT_CHUNK, decoded } from '../../src/format/decoded.js';

describe('format/decoded: what a decoder makes of a piece, taken as it comes', () => {
  it('a piece that inflates 1000-fold is not decoded ahead of its reader: the decoder waits while its output is not taken', async () => {
    const zeros = 64 * 1024 * 1024;
    const piece = zlib.deflateRawSync(Buffer.alloc(zeros), { level: 9 });
    expect(piece.length).to.be.below(128 * 1024);
    const inflate = zlib.createInflateRaw({ chunkSize: OUTPUT_CHUNK });
    const output = decoded(inflate, piece);
    const first = await output.next();
    expect(first.done).to.equal(false);
    let taken = (first.value as Buffer).length;
    // Left alone for a while, the decoder makes no more than a piece or two ahead.
    await sleep(100);
    expect(inflate.readableLength, 'bytes decoded and not taken').to.be.at.most(2 * OUTPUT_CHUNK);
    for await (const chunk of output) {
      expect(chunk.every((byte) => byte === 0)).to.equal(true);
      taken += chunk.length;
    }
    const end = decoded(inflate, undefined);
    for await (const chunk of end) taken += chunk.length;
    expect(taken).to.equal(zeros);
    expect(inflate.bytesWritten).to.equal(piece.length);
  });

  it('damage is thrown once what the decoder passed on before it was taken; a decoder that had ended is ended at once', async () => {
    const good = zlib.deflateRawSync(Buffer.from('good bytes '.repeat(100_000)));
    // Blocks that are not the last (a sync flush), then a block of the reserved type 3.
    const damaged = Buffer.concat([zlib.deflateRawSync(Buffer.from('good bytes '.repeat(100_000)), { finishFlush: zlib.constants.Z_SYNC_FLUSH }), Buffer.from([0x07])]);
    const inflate = zlib.createInflateRaw({ chunkSize: OUTPUT_CHUNK });
    let taken = 0;
    const failure = await (async () => {
      for await (const chunk of decoded(inflate, damaged)) taken += chunk.length;
    })().catch((error: unknown) => error as NodeJS.ErrnoException);
    expect(failure?.code).to.equal('Z_DATA_ERROR');
    expect(failure?.message).to.match(/invalid block type/);
    expect(taken, "what it passed on before the damage").to.be.above(0).and.below(1_100_000);

    const whole = zlib.createInflateRaw({ chunkSize: OUTPUT_CHUNK });
    let size = 0;
    for await (const chunk of decoded(whole, Buffer.concat([good, Buffer.from('after the deflate data')]))) size += chunk.length;
    expect(size).to.equal(1_100_000);
    expect(whole.bytesWritten).to.equal(good.length);
    const ended: Buffer[] = [];
    for await (const chunk of decoded(whole, undefined)) ended.push(chunk);
    expect(ended).to.deep.equal([]);
  });
});
