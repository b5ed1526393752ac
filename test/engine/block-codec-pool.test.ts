import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { crc32, deflateRawSync } from 'node:zlib';
import { readFile, rename, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { BlockCodecPool, type BlockRange, type DecompressedBlock } from '../../src/engine/block-codec-pool.js';
import { LONG_MANIFEST, locateBackup } from '../../src/engine/chain/locate-backup.js';
import { defaultStores } from '../../src/store/stores.js';
import { createBackup, restoreBackup, verifyBackup } from '../../src/index.js';
import { loadManifest } from '../helpers/archive.js';
import { pseudoRandomBytes, snapshotTree, tempDir, writeTree } from '../helpers/tree.js';
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

/** Workers started while `run` runs (Node emits 'worker' on process for each). */
async function workersStartedBy(run: () => Promise<unknown>): Promise<number> {
  let started = 0;
  const count = () => started++;
  process.on('worker', count);
  try {
    await run();
  } finally {
    process.off('worker', count);
  }
  return started;
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

describe('engine/BlockCodecPool: closing', () => {
  it('closing with blocks in flight rejects their jobs and stops every worker, a long block too; a pool closed takes no more jobs', async () => {
    const workersBefore = runningWorkers();
    const pool = new BlockCodecPool(2);
    // Level 9 over 8 MiB of random bytes: a block that runs for a while after close is called.
    const long = pseudoRandomBytes(8 * 1024 * 1024, 3);
    const jobs = [long, Buffer.alloc(64 * 1024, 1)].map((raw) => {
      const block = new Uint8Array(raw).buffer;
      return pool.compress(gzipCodec, 9, block, raw.length).then(
        () => 'compressed',
        (error: unknown) => (error as Error).message,
      );
    });
    await pool.close();
    expect(await Promise.all(jobs)).to.deep.equal(['compression pool closed', 'compression pool closed']);
    expect(runningWorkers(), 'every worker stopped').to.equal(workersBefore);
    const late = await pool.compress(gzipCodec, 6, new ArrayBuffer(16), 16).catch((error: unknown) => (error as Error).message);
    expect(late).to.equal('compression pool closed');
  });
});

describe('engine: which reads start a worker', () => {
  it('one block to read (a file restored from a large backup, a backup of one block) is inflated on this thread, whatever its size; more start workers', async () => {
    const root = await tempDir();
    // 1.2 MB of incompressible files in 64 KB blocks, and a small file in one of them.
    const files: Record<string, Buffer | string> = { 'site/a-small.txt': 'small\n' };
    for (let i = 0; i < 12; i++) files[`site/big-${i}.bin`] = pseudoRandomBytes(100_000, i);
    await writeTree(root, files);
    const many = await createBackup({ sources: ['site'], cwd: root, out: join(root, 'out'), name: 'many', blockSize: '64KB' });
    // One block of 1 MiB: more than the 512 KiB a run inflates here before it starts a worker.
    await writeTree(root, { 'one/big.bin': pseudoRandomBytes(1_000_000, 99) });
    const one = await createBackup({ sources: ['one'], cwd: root, out: join(root, 'out'), name: 'one', blockSize: '1MB' });
    expect((await loadManifest(one.manifestPath)).footer.blocks.count).to.equal(1);

    const alone = join(root, 'alone');
    expect(await workersStartedBy(() => restoreBackup(many.manifestPath, { to: alone, include: ['site/a-small.txt'] }))).to.equal(0);
    expect(await readFile(join(alone, 'site/a-small.txt'), 'utf8')).to.equal('small\n');
    expect(await workersStartedBy(() => verifyBackup(one.manifestPath))).to.equal(0);
    const oneRestored = join(root, 'one-restored');
    expect(await workersStartedBy(() => restoreBackup(one.manifestPath, { to: oneRestored }))).to.equal(0);
    expect((await readFile(join(oneRestored, 'one/big.bin'))).equals(pseudoRandomBytes(1_000_000, 99))).to.equal(true);

    const whole = join(root, 'whole');
    expect(await workersStartedBy(() => restoreBackup(many.manifestPath, { to: whole, concurrency: 2 }))).to.equal(2);
    expect(await snapshotTree(join(whole, 'site'))).to.deep.equal(await snapshotTree(join(root, 'site')));
    expect(await workersStartedBy(async () => expect((await verifyBackup(many.manifestPath, { concurrency: 2 })).ok).to.equal(true))).to.equal(2);
  });
});

describe('engine: a long manifest starts its worker while it is read', () => {
  it('tells the reader once a manifest passes 1 MiB, not before: verify and a whole restore then start one worker early, a restore of chosen files none, and every one is stopped', async () => {
    const root = await tempDir();
    // 400 files in a folder 12 names deep, each name 250 bytes: a manifest of over 1 MiB, and an
    // archive of one block (which a read would otherwise inflate on its own thread, starting no worker).
    const deep = Array.from({ length: 12 }, (_, i) => `${String(i)}${'d'.repeat(249)}`).join('/');
    const files: Record<string, string> = { 'site/a-small.txt': 'small\n' };
    for (let i = 0; i < 400; i++) files[`site/${deep}/${String(i).padStart(3, '0')}.txt`] = `file ${i}\n`;
    await writeTree(root, files);
    const long = await createBackup({ sources: ['site'], cwd: root, out: join(root, 'out'), name: 'long', blockSize: '16MB' });
    const short = await createBackup({ sources: ['site/a-small.txt'], cwd: root, out: join(root, 'out'), name: 'short' });
    expect((await stat(long.manifestPath)).size).to.be.above(LONG_MANIFEST);
    expect((await loadManifest(long.manifestPath)).footer.blocks.count).to.equal(1);

    let told = 0;
    const tell = () => told++;
    await locateBackup(short.manifestPath, defaultStores, { onLongManifest: tell });
    expect(told, 'a short manifest').to.equal(0);
    await locateBackup(long.manifestPath, defaultStores, { onLongManifest: tell });
    expect(told, 'a long manifest').to.equal(1);
    await locateBackup(long.archivePath, defaultStores, { onLongManifest: tell });
    expect(told, 'the manifest beside an archive named').to.equal(2);

    const workersBefore = runningWorkers();
    expect(await workersStartedBy(async () => expect((await verifyBackup(long.manifestPath)).ok).to.equal(true)), 'verify').to.equal(1);
    expect(await workersStartedBy(async () => expect((await verifyBackup(short.manifestPath)).ok).to.equal(true)), 'verify, short').to.equal(0);
    const whole = join(root, 'whole');
    expect(await workersStartedBy(() => restoreBackup(long.manifestPath, { to: whole })), 'a whole restore').to.equal(1);
    expect(await snapshotTree(join(whole, 'site'))).to.deep.equal(await snapshotTree(join(root, 'site')));
    const one = join(root, 'one');
    expect(await workersStartedBy(() => restoreBackup(long.manifestPath, { to: one, include: ['site/a-small.txt'] })), 'chosen files').to.equal(0);
    expect(await readFile(join(one, 'site/a-small.txt'), 'utf8')).to.equal('small\n');

    // Runs that fail after the worker started: the archive gone, the run aborted.
    await rename(long.archivePath, `${long.archivePath}.away`);
    const gone = await restoreBackup(long.manifestPath, { to: join(root, 'gone') });
    expect(gone.failures.map((failure) => failure.reason)).to.have.length(401).and.include(`${long.archivePath}, the archive that long.manifest.jsonl names, is missing: put it back beside its manifest to restore the files it holds.`);
    expect((await verifyBackup(long.manifestPath)).ok).to.equal(false);
    await rename(`${long.archivePath}.away`, long.archivePath);
    const refused = await verifyBackup(long.manifestPath, { signal: AbortSignal.abort() }).catch((thrown: unknown) => thrown);
    expect((refused as Error).name).to.equal('AbortError');
    expect(runningWorkers(), 'every worker started was stopped').to.equal(workersBefore);
  });
});
