/** The manifest records of a backup being written: kept as lines, in order, whatever order their digests come in. */
import { expect } from 'chai';
import { encodeManifestRecord, type ManifestEntry } from '../../src/format/manifest.js';
import { ManifestSpool } from '../../src/engine/write/manifest-spool.js';

const fileRecord = (i: number): ManifestEntry => ({
  record: 'entry',
  path: `f${String(i).padStart(6, '0')}.txt`,
  type: 'file',
  size: 1,
  mode: 0o644,
  uid: 0,
  gid: 0,
  mtimeNs: '1',
  ctimeNs: '1',
  ino: String(i),
  offset: i * 1024,
  dataOffset: i * 1024 + 512,
});

describe('engine: manifest spool', () => {
  it('keeps records in archive order although their digests settle in another order, telling each once settled', async () => {
    const settledOrder: string[] = [];
    const spool = new ManifestSpool((record) => settledOrder.push(record.path));
    const records = Array.from({ length: 5000 }, (_, i) => fileRecord(i));
    const settle: (() => void)[] = [];
    for (const [i, record] of records.entries()) {
      if (i % 3 === 0) {
        spool.add(record);
        continue;
      }
      settle.push(spool.addUnsettled(record));
      record.hashes = {};
    }
    // Digests come back to front: nothing after the first waiting record may be told of before it.
    expect(settledOrder).to.deep.equal([records[0]!.path]);
    for (const [i, done] of [...settle.entries()].reverse()) {
      records.filter((r) => r.hashes)[i]!.hashes!.sha256 = String(i);
      done();
    }
    await spool.settle();
    expect(settledOrder).to.deep.equal(records.map((r) => r.path));
    const text = Buffer.concat([...spool.lines()]).toString('utf8');
    expect(text).to.equal(records.map((r) => encodeManifestRecord(r)).join(''));
    expect([...spool.lines()].length).to.be.greaterThan(1); // cut into pieces of whole lines
    for (const piece of spool.lines()) expect(piece.toString('utf8').endsWith('\n')).to.equal(true);
  });

  it('a digest that failed fails settle, even while other records still wait', async () => {
    const spool = new ManifestSpool(() => {});
    spool.addUnsettled(fileRecord(0));
    spool.addUnsettled(fileRecord(1));
    spool.fail(new Error('the hasher thread died'));
    let caught: unknown;
    await spool.settle().catch((error: unknown) => (caught = error));
    expect((caught as Error).message).to.equal('the hasher thread died');
  });
});
