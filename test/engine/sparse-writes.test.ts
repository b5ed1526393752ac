/** restore's `sparse`: zeros left unwritten, at any chunking, read back as the bytes they were. */
import { expect } from 'chai';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { RestoreWriter } from '../../src/engine/read/restore-writer.js';
import { tempDir } from '../helpers/tree.js';

/** A deterministic generator (xorshift), so that a failure can be replayed from its seed. */
function generator(seed: number): (below: number) => number {
  let x = seed >>> 0 || 1;
  return (below) => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % below;
  };
}

describe('engine/RestoreWriter: writeLeavingHoles', () => {
  it('any mix of zeros and data, cut into chunks of any size: the file reads back the same, and its zero pages are holes', async () => {
    const root = await tempDir();
    const writer = new RestoreWriter(root, false);
    await writer.ensureFolder('');
    let holePages = 0;
    for (let seed = 1; seed <= 40; seed++) {
      const next = generator(seed);
      // Runs of zeros and of data, from a few bytes to several pages.
      const parts: Buffer[] = [];
      for (let size = 0; size < 400_000; ) {
        const length = 1 + next(next(2) === 0 ? 100 : 40_000);
        parts.push(next(2) === 0 ? Buffer.alloc(length) : Buffer.alloc(length, 1 + next(255)));
        size += length;
      }
      const content = Buffer.concat(parts);
      const file = await writer.createFile(`f${seed}.bin`);
      for (let at = 0; at < content.length; ) {
        const length = Math.min(content.length - at, 1 + next(next(3) === 0 ? 5000 : 150_000));
        await file.writeLeavingHoles(content.subarray(at, at + length));
        at += length;
      }
      await file.commit({ size: content.length, digest: undefined, record: 'the manifest' }, { mode: 0o644, mtime: '1600000000.000000', uid: 0, gid: 0 });
      const path = join(root, `f${seed}.bin`);
      expect((await readFile(path)).equals(content), `seed ${seed}`).to.equal(true);
      let zeroPages = 0;
      for (let at = 0; at + 4096 <= content.length; at += 4096) if (content.subarray(at, at + 4096).every((byte) => byte === 0)) zeroPages++;
      const zeroBytes = content.filter((byte) => byte === 0).length;
      expect(file.holeBytes, `seed ${seed}`).to.be.within(zeroPages * 4096, zeroBytes);
      holePages += zeroPages;
      expect((await stat(path)).blocks * 512, `seed ${seed}`).to.be.at.most(Math.ceil(content.length / 4096) * 4096 - zeroPages * 4096 + 8192);
    }
    expect(holePages, 'the cases hold pages of zeros to leave out').to.be.greaterThan(500);
  });
});
