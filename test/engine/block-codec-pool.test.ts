import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { crc32, deflateRawSync } from 'node:zlib';
import { BlockCodecPool, type BlockRange, type DecompressedBlock } from '../../src/engine/block-codec-pool.js';
import { encodeMemberHeader, encodeMemberTrailer } from '../../src/format/blocked-gzip.js';
import { gzipCodec } from '../../src/format/codecs/gzip-codec.js';

/** One blocked-gzip member holding `raw`, in an ArrayBuffer of its own (the pool transfers it). */
function member(raw: Buffer): { frame: ArrayBuffer; length: number } {
  const deflated = deflateRawSync(raw);
  const bytes = Buffer.concat([encodeMemberHeader(deflated.length, raw.length), deflated, encodeMemberTrailer(crc32(raw), raw.length)]);
  return { frame: new Uint8Array(bytes).buffer, length: bytes.length };
}

const digestsOf = (block: DecompressedBlock) => (block.data ? block.digests : undefined);

/** Worker threads this process runs now (Node's diagnostic report lists them). */
function runningWorkers(): number {
  return (process.report.getReport() as { workers: unknown[] }).workers.length;
}

describe('engine/BlockCodecPool: reading', () => {
  const small = Buffer.from('a small backup: a few files of text\n'.repeat(100));
  const ranges: BlockRange[] = [
    [0, 36],
    [36, 3564],
  ];
  const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

  it('inflates the blocks of a small backup on this thread, without starting a worker, with what a worker gives: bytes, digests, damage, a digest it cannot take', async () => {
    const workersBefore = runningWorkers();
    const fresh = new BlockCodecPool(2);
    const started = new BlockCodecPool(2);
    try {
      // A block larger than what is inflated here starts a worker in `started`.
      const large = Buffer.alloc(1024 * 1024, 'large');
      const { frame, length } = member(large);
      expect((await started.decompress(gzipCodec, frame, length, large.length)).data?.equals(large)).to.equal(true);
      expect(runningWorkers()).to.equal(workersBefore + 1);

      const results = [];
      for (const pool of [fresh, started]) {
        const intact = member(small);
        const damaged = member(small);
        const bytes = new Uint8Array(damaged.frame);
        bytes[damaged.length - 12] = bytes[damaged.length - 12]! ^ 0xff; // a byte of the deflated data
        results.push({
          intact: await pool.decompress(gzipCodec, intact.frame, intact.length, small.length, ranges, ['sha256', 'md5']),
          damaged: await pool.decompress(gzipCodec, damaged.frame, damaged.length, small.length),
          wrongLength: await pool.decompress(gzipCodec, member(small).frame, member(small).length, small.length - 1),
          // A digest that cannot be taken fails the block, not the run (it threw out of verify once).
          unknownDigest: await pool.decompress(gzipCodec, member(small).frame, member(small).length, small.length, ranges, ['no-such-digest']),
        });
      }
      expect(runningWorkers(), 'the fresh pool started no worker').to.equal(workersBefore + 1);
      const [here, inWorker] = results;
      expect(here!.intact.data?.equals(small)).to.equal(true);
      expect(digestsOf(here!.intact)?.[1]?.[0]).to.equal(sha256(small.subarray(36, 3600)));
      expect(digestsOf(here!.intact)).to.deep.equal(digestsOf(inWorker!.intact));
      expect(here!.damaged.error).to.be.a('string').and.equal(inWorker!.damaged.error);
      expect(here!.wrongLength.error).to.be.a('string').and.equal(inWorker!.wrongLength.error);
      expect(here!.unknownDigest.error).to.be.a('string').and.equal(inWorker!.unknownDigest.error);
    } finally {
      await fresh.close();
      await started.close();
    }
  });

  it('gives each inflated block an ArrayBuffer of its own, which readers free once used: a small one that zlib left in Node’s shared pool is copied out', async () => {
    const pool = new BlockCodecPool(1);
    try {
      for (const size of [1536, 3000, 10_240, 400_000]) {
        const raw = Buffer.alloc(size, 7);
        const { frame, length } = member(raw);
        const { data } = await pool.decompress(gzipCodec, frame, length, size);
        expect(data?.equals(raw)).to.equal(true);
        expect(data!.byteOffset, `${size} bytes`).to.equal(0);
        expect(data!.buffer.byteLength, `${size} bytes`).to.be.at.most(size + 1);
      }
    } finally {
      await pool.close();
    }
  });
});
