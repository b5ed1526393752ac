/** The parent's files as an incremental run keeps them: columns that give back exactly what the records said, and distrust odd records. */
import { expect } from 'chai';
import type { ManifestEntry } from '../../src/format/manifest.js';
import { ParentFileIndex } from '../../src/engine/chain/parent-files.js';

const sha = (i: number) => i.toString(16).padStart(64, '0');

const fileRecord = (i: number, extra: Partial<ManifestEntry> = {}): ManifestEntry => ({
  record: 'entry',
  path: `dir/f${i}`,
  type: 'file',
  size: i * 10,
  mode: 0o644,
  uid: 0,
  gid: 0,
  mtimeNs: String(1_700_000_000_000_000_000n + BigInt(i)),
  ctimeNs: String(1_700_000_000_500_000_000n + BigInt(i)),
  ino: String(18_446_744_073_709_540_000n + BigInt(i)), // near 2^64: inode numbers are unsigned 64-bit
  offset: i * 1024,
  dataOffset: i * 1024 + 512,
  hashes: { sha256: sha(i) },
  ...extra,
});

describe('engine: parent file index', () => {
  it('gives back each file as its record had it, past the first growth of its columns', () => {
    const index = new ParentFileIndex();
    index.add({ ...fileRecord(0), path: 'dir', type: 'directory', size: 0 });
    for (let i = 1; i <= 3000; i++) index.add(fileRecord(i, i % 7 === 0 ? { heldBy: `backup-${i % 3}`, hashes: { sha256: sha(i), md5: sha(i).slice(0, 32) } } : {}));
    expect(index.files).to.equal(3000);
    expect(index.find('dir')).to.equal(-1); // only files can be unchanged
    for (const i of [1, 7, 1024, 1025, 2048, 3000]) {
      const file = index.find(`dir/f${i}`);
      const record = fileRecord(i);
      expect(index.size(file)).to.equal(record.size);
      expect(index.mtimeNs(file)).to.equal(BigInt(record.mtimeNs));
      expect(index.ctimeNs(file)).to.equal(BigInt(record.ctimeNs));
      expect(index.ino(file)).to.equal(BigInt(record.ino));
      expect([index.offset(file), index.dataOffset(file)]).to.deep.equal([record.offset, record.dataOffset]);
      expect(index.comparable(file)).to.equal(true);
      expect(index.digest(file, 'sha256')).to.equal(sha(i));
      expect(index.digest(file, 'md5')).to.equal(i % 7 === 0 ? sha(i).slice(0, 32) : undefined);
      expect(index.heldByOf(file, 'parent')).to.equal(i % 7 === 0 ? `backup-${i % 3}` : 'parent');
    }
    expect(index.fileAt('dir/f14')).to.deep.equal({ size: 140, hashes: { sha256: sha(14), md5: sha(14).slice(0, 32) } });
    expect(index.fileAt('dir/none')).to.equal(undefined);
  });

  it('does not trust a record edited by hand: stat fields that are not numbers, no data offset, a path listed twice', () => {
    const index = new ParentFileIndex();
    index.add(fileRecord(1, { mtimeNs: 'yesterday' }));
    index.add(fileRecord(2, { ino: '1.5' }));
    index.add(fileRecord(7, { ino: String(2n ** 64n + 7n) }));
    index.add(fileRecord(3, { dataOffset: undefined }));
    index.add(fileRecord(4));
    index.add({ ...fileRecord(4), type: 'directory' });
    index.add(fileRecord(5, { changedDuringBackup: true }));
    index.add(fileRecord(6));
    for (const i of [1, 2, 3, 4, 5, 7]) expect(index.comparable(index.find(`dir/f${i}`)), `f${i}`).to.equal(false);
    expect(index.comparable(index.find('dir/f6'))).to.equal(true);
  });

  it('keeps only digests that are hex of the right length', () => {
    const index = new ParentFileIndex();
    index.add(fileRecord(1, { hashes: { sha256: 'z'.repeat(64) } }));
    index.add(fileRecord(2, { hashes: { sha256: sha(2).slice(1) } }));
    index.add(fileRecord(3, { hashes: { sha256: 42 as unknown as string } }));
    index.add(fileRecord(4, { hashes: undefined }));
    for (const i of [1, 2, 3, 4]) expect(index.hasDigest(index.find(`dir/f${i}`), 'sha256'), `f${i}`).to.equal(false);
  });
});
