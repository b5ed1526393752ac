/** Incremental and differential backups: what is read, what is stored, and how chains fail. */
import { createHash } from 'node:crypto';
import { readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'chai';
import { runCli } from '../helpers/cli.js';
import { createBackup, restoreBackup, verifyBackup, type BackupOptions } from '../../src/index.js';
import { loadManifest } from '../helpers/archive.js';
import { encodeManifest } from '../../src/format/manifest.js';
import { openSyncFailing, recordOpens } from '../helpers/faults.js';
import { formatBackupSummary } from '../../src/report/backup-summary.js';
import { pseudoRandomBytes, rewriteInPlace, run, snapshotTree, tempDir, writeTree } from '../helpers/tree.js';

const OLD = 1_600_000_000; // seconds: mtimes far outside any racy window

describe('engine: incremental and differential backups', () => {
  let root: string;
  let out: string;
  let options: BackupOptions;

  beforeEach(async () => {
    root = await tempDir();
    out = join(root, 'backups');
    await writeTree(root, {
      'data/a.txt': { content: 'alpha', mtime: OLD },
      'data/b.bin': { content: pseudoRandomBytes(3_000_000, 3), mtime: OLD },
      'data/sub/c.txt': { content: 'gamma', mtime: OLD },
      'data/sub/link': { symlink: 'c.txt' },
      'data/hard': { hardlinkTo: 'data/a.txt' },
    });
    options = { sources: ['data'], cwd: root, out, concurrency: 2 };
  });

  it('a no-change incremental run opens no file and stores no content, yet lists the whole tree', async () => {
    const full = await createBackup({ ...options, name: 'full' });
    const opened: string[] = [];
    const inc = await createBackup({ ...options, name: 'inc', kind: 'incremental', fileSystem: recordOpens(opened) });
    expect(opened).to.deep.equal([]);
    expect(inc.statistics).to.include({ storedFiles: 0, unchangedFiles: 3, bytesRead: 0, contentBytes: 0 });
    const manifest = await loadManifest(inc.manifestPath);
    expect(manifest.header).to.deep.include({ kind: 'incremental', parent: { id: full.id, manifest: 'full.manifest.jsonl', manifestSha256: sha256(await readFile(full.manifestPath)) } });
    expect(manifest.entries.map((e) => e.path)).to.deep.equal(['data', 'data/a.txt', 'data/b.bin', 'data/hard', 'data/sub', 'data/sub/c.txt', 'data/sub/link']);
    expect(manifest.entries.filter((e) => e.type === 'file').every((e) => e.heldBy === full.id)).to.equal(true);
    // The archive holds the folders and links only; GNU tar reads it.
    expect((await run('tar', ['-tzf', inc.archivePath])).split('\n').filter(Boolean)).to.deep.equal(['data/', 'data/hard', 'data/sub/', 'data/sub/link']);
    expect(inc.statistics.archiveBytes).to.be.below(full.statistics.archiveBytes / 100);
  });

  it('stores what changed and records deletions, renames, type changes and mode-only changes exactly', async () => {
    await createBackup({ ...options, name: 'full' });
    const before = await snapshotTree(join(root, 'data'));
    await writeFile(join(root, 'data/a.txt'), 'alpha, longer'); // size change (the hard link sees it too)
    await rename(join(root, 'data/sub/c.txt'), join(root, 'data/c-moved.txt'));
    await rm(join(root, 'data/sub/link'));
    await writeTree(root, { 'data/sub/link': { dir: true }, 'data/sub/link/inside.txt': 'now a folder' });
    await run('chmod', ['700', join(root, 'data/b.bin')]);
    const inc = await createBackup({ ...options, name: 'inc', kind: 'incremental' });
    const manifest = await loadManifest(inc.manifestPath);
    const byPath = new Map(manifest.entries.map((e) => [e.path, e]));
    expect(byPath.has('data/sub/c.txt')).to.equal(false);
    expect(byPath.get('data/b.bin')).to.include({ mode: 0o700 }); // chmod moves the ctime: read again, compared, held
    expect(byPath.get('data/c-moved.txt')!.heldBy).to.equal(undefined); // a new path is stored
    expect(byPath.get('data/sub/link')).to.include({ type: 'directory' });
    const target = await tempDir();
    const restored = await restoreBackup(inc.manifestPath, { to: target });
    expect(restored.failures).to.deep.equal([]);
    expect(await snapshotTree(join(target, 'data'))).to.deep.equal(await snapshotTree(join(root, 'data')));
    // The full backup still restores the tree as it was.
    const older = await tempDir();
    await restoreBackup(join(out, 'full.manifest.jsonl'), { to: older });
    expect(await snapshotTree(join(older, 'data'))).to.deep.equal(before);
  });

  it('GNU tar extracting the full archive and then the incremental one gets the changed tree (less deletions)', async () => {
    const full = await createBackup({ ...options, name: 'full' });
    await writeFile(join(root, 'data/sub/c.txt'), 'gamma 2');
    const inc = await createBackup({ ...options, name: 'inc', kind: 'incremental' });
    const target = await tempDir();
    await run('tar', ['-xzf', full.archivePath, '-C', target]);
    await run('tar', ['-xzf', inc.archivePath, '-C', target]);
    const contents = async (folder: string) => Object.fromEntries(Object.entries(await snapshotTree(folder)).map(([path, s]) => [path, s.content ?? s.target ?? s.type]));
    expect(await contents(join(target, 'data'))).to.deep.equal(await contents(join(root, 'data')));
  });

  it('restore of a point reads each file once, from the archive that holds it', async () => {
    const full = await createBackup({ ...options, name: 'full' });
    await writeFile(join(root, 'data/sub/c.txt'), 'gamma 2');
    const inc = await createBackup({ ...options, name: 'inc', kind: 'incremental' });
    const restored = await restoreBackup(inc.manifestPath, { to: await tempDir(), include: ['data/b.bin'] });
    // b.bin spans the three 1 MiB blocks of the full archive; the incremental one is not opened.
    expect(restored.blocksRead).to.equal(3);
    expect(restored.blocksTotal).to.equal(full.statistics.blocks);
    expect(inc.statistics.storedFiles).to.equal(1);
  });

  it('a differential backup builds on the full one, whatever came after it', async () => {
    const full = await createBackup({ ...options, name: 'full' });
    await writeFile(join(root, 'data/a.txt'), 'alpha 2');
    await createBackup({ ...options, name: 'inc', kind: 'incremental' });
    await writeFile(join(root, 'data/sub/c.txt'), 'gamma 2');
    const diff = await createBackup({ ...options, name: 'diff', kind: 'differential' });
    const manifest = await loadManifest(diff.manifestPath);
    expect(manifest.header.parent!.id).to.equal(full.id);
    expect(diff.statistics.storedFiles).to.equal(2); // both changes since the full backup
  });

  it('a parent in another folder is linked by its relative path, and the chain restores from there', async () => {
    await createBackup({ ...options, name: 'full' });
    await writeFile(join(root, 'data/a.txt'), 'alpha 2');
    const elsewhere = join(root, 'elsewhere');
    const inc = await createBackup({ ...options, out: elsewhere, name: 'inc', kind: 'incremental', since: out });
    expect((await loadManifest(inc.manifestPath)).header.parent).to.include({ manifest: '../backups/full.manifest.jsonl' });
    const target = await tempDir();
    expect((await restoreBackup(inc.manifestPath, { to: target })).failures).to.deep.equal([]);
    expect(await snapshotTree(join(target, 'data'))).to.deep.equal(await snapshotTree(join(root, 'data')));
  });

  it('auto: full when there is none, incremental until fullEvery, then full again; fullMaxAge too', async () => {
    const kinds: string[] = [];
    for (let i = 0; i < 4; i++) kinds.push((await createBackup({ ...options, name: `auto-${i}`, kind: 'auto', fullEvery: 3 })).kind);
    expect(kinds).to.deep.equal(['full', 'incremental', 'incremental', 'full']);
    const aged = await createBackup({ ...options, name: 'aged', kind: 'auto', fullMaxAge: 0 });
    expect(aged.kind).to.equal('full');
    expect(aged.kindReason).to.match(/fullMaxAge/);
  });

  it('two trees backed up into one folder: each builds on its own newest backup (every run was full before)', async () => {
    const root = await tempDir();
    await writeTree(root, { 'src/a.txt': 'a', 'docs/d.md': 'd' });
    const out = join(root, 'out');
    const made: string[] = [];
    for (let i = 0; i < 3; i++) {
      for (const tree of ['src', 'docs']) {
        const result = await createBackup({ sources: [tree], cwd: root, out, name: `${tree}-${i}`, kind: 'auto' });
        made.push(`${tree}-${i} ${result.kind}${result.parent ? ` on ${result.parent.manifestPath.split('/').at(-1)}` : ''}`);
      }
    }
    expect(made).to.deep.equal([
      'src-0 full',
      'docs-0 full',
      'src-1 incremental on src-0.manifest.jsonl',
      'docs-1 incremental on docs-0.manifest.jsonl',
      'src-2 incremental on src-1.manifest.jsonl',
      'docs-2 incremental on docs-1.manifest.jsonl',
    ]);
    // An explicit incremental too; a differential builds on its own tree's full backup.
    expect((await createBackup({ sources: ['src'], cwd: root, out, name: 'src-3', kind: 'incremental' })).parent?.manifestPath).to.equal(join(out, 'src-2.manifest.jsonl'));
    expect((await createBackup({ sources: ['docs'], cwd: root, out, name: 'docs-3', kind: 'differential' })).parent?.manifestPath).to.equal(join(out, 'docs-0.manifest.jsonl'));
    // A tree with no backup of its own there: auto says why it is full; incremental refuses, naming the other tree.
    await writeTree(root, { 'other/o.txt': 'o' });
    expect((await createBackup({ sources: ['other'], cwd: root, out, name: 'other-0', kind: 'auto' })).kindReason).to.equal(
      `no earlier backup of this tree in ${out} (the newest there is of another: sources ["docs"], not ["other"])`,
    );
    await writeTree(root, { 'fourth/f.txt': 'f' });
    const refused = await createBackup({ sources: ['fourth'], cwd: root, out, name: 'fourth-0', kind: 'incremental' }).catch((error: unknown) => error as Error);
    expect(refused).to.have.property('code', 'PARENT_OTHER_TREE');
  });

  it('a content-only change that keeps size and mtime is missed by the stat rule without ctime; checksum mode catches it', async () => {
    await createBackup({ ...options, name: 'full' });
    rewriteInPlace(join(root, 'data/sub/c.txt'), Buffer.from('GAMMA'), true);
    const statOnly = await createBackup({ ...options, name: 'stat', kind: 'incremental', compareCtime: false });
    expect(statOnly.statistics.storedFiles).to.equal(0); // the documented limitation
    const withCtime = await createBackup({ ...options, name: 'ctime', kind: 'incremental', since: join(out, 'full.manifest.jsonl') });
    expect(withCtime.statistics.storedFiles).to.equal(1); // the default rule sees the ctime move
    const checksum = await createBackup({ ...options, name: 'sum', kind: 'incremental', checksum: true, compareCtime: false, since: join(out, 'full.manifest.jsonl') });
    expect(checksum.statistics.storedFiles).to.equal(1);
    expect(checksum.statistics.bytesRead).to.equal(3_000_000 + 5 + 5 + 5); // all read to compare, the changed one read again
    const target = await tempDir();
    await restoreBackup(checksum.manifestPath, { to: target });
    expect(await readFile(join(target, 'data/sub/c.txt'), 'utf8')).to.equal('GAMMA');
  });

  it('reads a file again when the parent recorded it inside its racy window', async () => {
    await writeFile(join(root, 'data/sub/c.txt'), 'gamma'); // mtime: now, as the full backup starts
    await createBackup({ ...options, name: 'full' });
    rewriteInPlace(join(root, 'data/sub/c.txt'), Buffer.from('GAMMA'), true);
    const inc = await createBackup({ ...options, name: 'inc', kind: 'incremental', compareCtime: false, compareInode: false });
    expect(inc.statistics).to.include({ storedFiles: 1, racyFiles: 1 });
    const target = await tempDir();
    await restoreBackup(inc.manifestPath, { to: target });
    expect(await readFile(join(target, 'data/sub/c.txt'), 'utf8')).to.equal('GAMMA');
  });

  it('a mode-only change without ctime comparison keeps the content in the chain and restores the new mode', async () => {
    await createBackup({ ...options, name: 'full' });
    await run('chmod', ['700', join(root, 'data/b.bin')]);
    const inc = await createBackup({ ...options, name: 'inc', kind: 'incremental', compareCtime: false });
    expect(inc.statistics.storedFiles).to.equal(0);
    const target = await tempDir();
    await restoreBackup(inc.manifestPath, { to: target });
    expect(await snapshotTree(join(target, 'data'))).to.deep.equal(await snapshotTree(join(root, 'data')));
  });

  it('a file whose ctime or inode moved is read and compared by hash: the same content stays in the chain', async () => {
    const full = await createBackup({ ...options, name: 'full' });
    await run('chmod', ['600', join(root, 'data/b.bin')]); // 3 MB: read in chunks
    await run('cp', ['-p', join(root, 'data/sub/c.txt'), join(root, 'c.tmp')]);
    await rename(join(root, 'c.tmp'), join(root, 'data/sub/c.txt')); // a new inode, the same mtime
    rewriteInPlace(join(root, 'data/a.txt'), Buffer.from('ALPHA'), true); // the same size and mtime, other bytes
    const inc = await createBackup({ ...options, name: 'inc', kind: 'incremental' });
    expect(inc.statistics).to.include({ comparedFiles: 3, storedFiles: 1, unchangedFiles: 2, bytesRead: 3_000_000 + 5 + 5 + 5, racyFiles: 0 });
    expect(inc.changes).to.deep.equal({ new: 0, changed: 1, deleted: 0, unchanged: 2, notComparable: 0 });
    const byPath = new Map((await loadManifest(inc.manifestPath)).entries.map((e) => [e.path, e]));
    expect(byPath.get('data/b.bin')).to.include({ heldBy: full.id, mode: 0o600 });
    expect(byPath.get('data/sub/c.txt')).to.include({ heldBy: full.id });
    expect(byPath.get('data/a.txt')!.heldBy).to.equal(undefined);
    expect(formatBackupSummary(inc)[1]).to.match(/files 0 new, 1 changed, 0 deleted, 2 unchanged .*; 3 compared by hash$/);
    const target = await tempDir();
    expect((await restoreBackup(inc.manifestPath, { to: target })).failures).to.deep.equal([]);
    expect(await snapshotTree(join(target, 'data'))).to.deep.equal(await snapshotTree(join(root, 'data')));
  });

  it('a large file whose mtime moved is stored again without comparing, and the summary says its content was the same', async () => {
    await createBackup({ ...options, name: 'full' });
    await run('touch', [join(root, 'data/b.bin')]);
    const inc = await createBackup({ ...options, name: 'inc', kind: 'incremental' });
    expect(inc.statistics).to.include({ storedFiles: 1, comparedFiles: 0, bytesRead: 3_000_000 });
    expect(inc.changes).to.deep.include({ changed: 0, unchanged: 3 });
    expect(formatBackupSummary(inc)[1]).to.match(/3 unchanged \(.* held by earlier backups, 1 stored again with the same content\)/);
  });

  it('a tree that gulp-backup restored (times to the microsecond) is compared by hash, large files too: nothing is stored again', async () => {
    const files = ['data/a.txt', 'data/b.bin', 'data/sub/c.txt'];
    for (const path of files) await run('touch', ['-d', '@1600000000.123456789', join(root, path)]);
    const full = await createBackup({ ...options, name: 'full' });
    const restored = await tempDir();
    expect((await restoreBackup(full.manifestPath, { to: restored })).failures).to.deep.equal([]);
    await rm(join(root, 'data'), { recursive: true });
    await rename(join(restored, 'data'), join(root, 'data'));
    const mtime = async (path: string) => (await stat(join(root, path), { bigint: true })).mtimeNs;
    for (const path of files) expect(Number((await mtime(path)) - 1_600_000_000_123_456_789n), path).to.be.within(-999, 999).and.not.equal(0);
    const inc = await createBackup({ ...options, name: 'inc', kind: 'incremental' });
    expect(inc.statistics).to.include({ storedFiles: 0, unchangedFiles: 3, comparedFiles: 3, bytesRead: 3_000_010 });
    const byPath = new Map((await loadManifest(inc.manifestPath)).entries.map((e) => [e.path, e]));
    for (const path of files) expect(byPath.get(path)!.heldBy, path).to.equal(full.id);
    const target = await tempDir();
    expect((await restoreBackup(inc.manifestPath, { to: target })).failures).to.deep.equal([]);
    expect(await snapshotTree(join(target, 'data'))).to.deep.equal(await snapshotTree(join(root, 'data')));
  });

  it('a tree put back with new mtimes and inodes (a fresh checkout): small files are hashed as they are stored and, being the same, taken out again', async () => {
    const full = await createBackup({ ...options, name: 'full' });
    const saved = join(root, 'saved');
    await run('cp', ['-a', join(root, 'data'), saved]);
    await rm(join(root, 'data'), { recursive: true });
    await run('cp', ['-r', saved, join(root, 'data')]); // no -p: new mtimes, inodes and ctimes
    await writeFile(join(root, 'data/sub/c.txt'), 'GAMMA'); // the same size, other bytes
    const opened: string[] = [];
    const inc = await createBackup({ ...options, name: 'inc', kind: 'incremental', fileSystem: recordOpens(opened) });
    // a.txt is compared (and held), c.txt compared and stored; cp -r made the hard link a file of its own: new.
    expect(inc.statistics).to.include({ storedFiles: 3, unchangedFiles: 1, comparedFiles: 2 });
    expect(inc.changes).to.deep.include({ new: 1, changed: 1, unchanged: 2 }); // b.bin: stored, its content the same
    const byPath = new Map((await loadManifest(inc.manifestPath)).entries.map((e) => [e.path, e]));
    expect(byPath.get('data/a.txt')!.heldBy).to.equal(full.id);
    expect(byPath.get('data/hard')).to.include({ type: 'file' }).and.not.have.property('heldBy');
    expect(byPath.get('data/sub/c.txt')!.heldBy).to.equal(undefined);
    expect(byPath.get('data/b.bin')!.heldBy).to.equal(undefined); // over 1 MiB: stored without comparing
    expect(opened.filter((path) => path.endsWith('a.txt'))).to.have.length(1); // read once: hashed as it was stored
    // Taken out of the archive again: GNU tar lists only what is stored.
    expect((await run('tar', ['-tzf', inc.archivePath])).split('\n').filter(Boolean).sort()).to.deep.equal(['data/', 'data/b.bin', 'data/hard', 'data/sub/', 'data/sub/c.txt', 'data/sub/link']);
    const target = await tempDir();
    expect((await restoreBackup(inc.manifestPath, { to: target })).failures).to.deep.equal([]);
    expect(await snapshotTree(join(target, 'data'))).to.deep.equal(await snapshotTree(join(root, 'data')));
    expect((await verifyBackup(inc.manifestPath)).ok).to.equal(true);
  });

  it('a same-content file that crosses a block boundary as it is stored stays stored (its bytes are gone to the compressor)', async () => {
    const files: Record<string, Buffer> = {};
    for (let i = 0; i < 6; i++) files[`many/f${i}.bin`] = pseudoRandomBytes(40_000, 10 + i);
    await writeTree(root, files);
    const many = { ...options, sources: ['many'], blockSize: '64KB' };
    const full = await createBackup({ ...many, name: 'full' });
    await run('touch', ['-d', '2001-01-01', ...Object.keys(files).map((path) => join(root, path))]);
    rewriteInPlace(join(root, 'many/f0.bin'), pseudoRandomBytes(40_000, 99), true); // changed: stored, 40 KB into the first 64 KB block
    const inc = await createBackup({ ...many, name: 'inc', kind: 'incremental' });
    // f1 starts in that block and ends in the next one, which was cut and sent to compression before f1's digest was known.
    expect(inc.statistics).to.include({ comparedFiles: 6, storedFiles: 2, unchangedFiles: 4 });
    expect(inc.changes).to.deep.include({ changed: 1, unchanged: 5 });
    const held = (await loadManifest(inc.manifestPath)).entries.filter((e) => e.heldBy === full.id).map((e) => e.path);
    expect(held).to.deep.equal(['many/f2.bin', 'many/f3.bin', 'many/f4.bin', 'many/f5.bin']);
    const target = await tempDir();
    expect((await restoreBackup(inc.manifestPath, { to: target })).failures).to.deep.equal([]);
    expect(await snapshotTree(join(target, 'many'))).to.deep.equal(await snapshotTree(join(root, 'many')));
    expect((await verifyBackup(inc.manifestPath)).ok).to.equal(true);
  });

  it('a racy file whose content is the same is compared and stays in the chain', async () => {
    await writeFile(join(root, 'data/sub/c.txt'), 'gamma'); // mtime: now, as the full backup starts
    await createBackup({ ...options, name: 'full' });
    const inc = await createBackup({ ...options, name: 'inc', kind: 'incremental', compareCtime: false, compareInode: false });
    expect(inc.statistics).to.include({ storedFiles: 0, racyFiles: 1, comparedFiles: 1, bytesRead: 5 });
    expect(formatBackupSummary(inc)[1]).to.match(/; 1 compared by hash \(1 as modified within 2 s before the last backup\)$/);
  });

  it('a file that vanishes before it is compared is skipped as vanished, as the store path says', async () => {
    await createBackup({ ...options, name: 'full' });
    await run('chmod', ['600', join(root, 'data/sub/c.txt')]);
    const inc = await createBackup({ ...options, name: 'inc', kind: 'incremental', fileSystem: { openSync: openSyncFailing('c.txt', 'ENOENT') } });
    expect(inc.skipped).to.deep.equal([{ path: 'data/sub/c.txt', reason: 'vanished after the scan' }]);
    expect(inc.statistics).to.include({ comparedFiles: 1, storedFiles: 0, unchangedFiles: 2 });
  });

  it('compares by the hash both backups have when the parent lacks one the new backup records, and records the new one', async () => {
    await createBackup({ ...options, name: 'full' });
    const inc = await createBackup({ ...options, name: 'inc', kind: 'incremental', hashes: ['sha256', 'md5'] });
    expect(inc.statistics).to.include({ storedFiles: 0, comparedFiles: 3 });
    const b = (await loadManifest(inc.manifestPath)).entries.find((e) => e.path === 'data/b.bin')!;
    expect(b.hashes!.md5).to.equal(createHash('md5').update(await readFile(join(root, 'data/b.bin'))).digest('hex'));
    const verified = await verifyBackup(inc.manifestPath);
    expect(verified.ok).to.equal(true);
  });

  it('a parent with no digest of the kinds the new backup records: its files are stored again and counted so, not as changed', async () => {
    await createBackup({ ...options, name: 'full', hashes: ['md5'] });
    const inc = await createBackup({ ...options, name: 'inc', kind: 'incremental' });
    expect(inc.changes).to.deep.equal({ new: 0, changed: 0, deleted: 0, unchanged: 0, notComparable: 3 });
    expect(formatBackupSummary(inc)[1]).to.match(/files 0 new, 0 changed, 0 deleted, 0 unchanged, 3 stored again \(the parent recorded no digest of the kinds this backup records\)/);
    expect((await createBackup({ ...options, name: 'inc2', kind: 'incremental' })).changes).to.deep.include({ unchanged: 3, notComparable: 0 });
  });

  describe('broken chains', () => {
    it('a missing middle manifest: restore and verify bridge it by id, proven by hashes, and say so', async () => {
      await createBackup({ ...options, name: 'full' });
      await createBackup({ ...options, name: 'inc1', kind: 'incremental' });
      await writeFile(join(root, 'data/a.txt'), 'alpha 2');
      const inc2 = await createBackup({ ...options, name: 'inc2', kind: 'incremental' });
      await rm(join(out, 'inc1.manifest.jsonl'));
      const target = await tempDir();
      const result = await restoreBackup(inc2.manifestPath, { to: target });
      expect(result.failures).to.deep.equal([]);
      expect(result.warnings[0]).to.match(/^broken chain: .*inc1\.manifest\.jsonl is missing/);
      expect(await snapshotTree(join(target, 'data'))).to.deep.equal(await snapshotTree(join(root, 'data')));
      const report = await verifyBackup(inc2.manifestPath);
      expect(report.ok).to.equal(false); // the chain is broken, though every file is there
      expect(report.problems[0]).to.match(/^broken chain: .*inc1\.manifest\.jsonl is missing/);
      expect(report.counts).to.include({ missing: 0, damaged: 0 });
    });

    it('a missing middle archive: restore and verify keep going, name each missing file, and new backups do not build on it', async () => {
      await createBackup({ ...options, name: 'full' });
      await writeTree(root, { 'data/a.txt': { content: 'alpha 2', mtime: OLD + 10 } }); // old: outside the racy window
      await createBackup({ ...options, name: 'inc1', kind: 'incremental' });
      await writeFile(join(root, 'data/c.txt'), 'gamma 2');
      const inc2 = await createBackup({ ...options, name: 'inc2', kind: 'incremental' });
      await rm(join(out, 'inc1.tar.gz'));
      const target = await tempDir();
      const result = await restoreBackup(inc2.manifestPath, { to: target });
      expect(result.ok).to.equal(false);
      expect(result.failures.map((f) => f.path)).to.deep.equal(['data/a.txt', 'data/hard']); // and the hard link to it
      expect(result.failures[0]!.reason).to.match(/inc1\.tar\.gz, the archive that inc1\.manifest\.jsonl names, is missing: put it back beside its manifest/);
      expect(await readFile(join(target, 'data/c.txt'), 'utf8')).to.equal('gamma 2'); // its own archive
      expect(await readFile(join(target, 'data/b.bin'))).to.deep.equal(await readFile(join(root, 'data/b.bin'))); // the full one
      const report = await verifyBackup(inc2.manifestPath);
      expect(report.ok).to.equal(false);
      expect(report.entries.filter((e) => e.status !== 'ok').map((e) => [e.path, e.status])).to.deep.equal([['data/a.txt', 'missing']]);
      const cli = await runCli(['restore', inc2.manifestPath, '--to', await tempDir()]);
      expect(cli.code).to.equal(1);
      expect(cli.stdout + cli.stderr).to.match(/data\/a\.txt/);
      const incremental = await createBackup({ ...options, name: 'inc3', kind: 'incremental' }).catch((e: unknown) => e);
      expect(incremental).to.include({ code: 'PARENT_MISSING' });
      expect((incremental as Error).message).to.match(/inc1\.tar\.gz.*is missing/);
      const auto = await createBackup({ ...options, name: 'auto', kind: 'auto' });
      expect(auto.kind).to.equal('full');
      expect(auto.kindReason).to.match(/inc1\.tar\.gz.*is missing/);
    });

    it('an unreadable or empty manifest in the folder is skipped with a warning; auto starts a new chain', async () => {
      await createBackup({ ...options, name: 'full' });
      await writeFile(join(out, 'empty.manifest.jsonl'), '');
      await writeFile(join(out, 'junk.manifest.jsonl'), 'not json\n');
      const incremental = await createBackup({ ...options, name: 'inc', kind: 'incremental' });
      expect(incremental.kind).to.equal('incremental');
      expect(incremental.warnings.join('\n')).to.match(/empty\.manifest\.jsonl: .*empty/).and.match(/junk\.manifest\.jsonl/);
      const auto = await createBackup({ ...options, name: 'auto', kind: 'auto' });
      expect(auto.kind).to.equal('full');
      expect(auto.kindReason).to.match(/2 manifest\(s\) .* cannot be read/);
      const listed = await runCli(['ls', out]);
      expect(listed.code).to.equal(0);
      expect(listed.stdout).to.match(/full\.manifest\.jsonl/);
      expect(listed.stdout + listed.stderr).to.match(/junk\.manifest\.jsonl/);
    });

    it('a manifest edited with its digest computed again, its createdAt no time: skipped with a warning, never taken for the newest; auto starts a new chain', async () => {
      const full = await createBackup({ ...options, name: 'full' });
      const manifest = await loadManifest(full.manifestPath);
      await writeFile(join(out, 'odd.manifest.jsonl'), [...encodeManifest({ ...manifest.header, id: 'odd', createdAt: 'yesterday' }, manifest.entries, manifest.footer)].join(''));
      const incremental = await createBackup({ ...options, name: 'inc', kind: 'incremental' });
      expect(incremental.parent?.manifestPath).to.equal(full.manifestPath); // 'yesterday' sorted after every date
      expect(incremental.warnings.join('\n')).to.match(/odd\.manifest\.jsonl: Its header's createdAt \("yesterday"\) is not a time/);
      const auto = await createBackup({ ...options, name: 'auto', kind: 'auto' });
      expect(auto.kind).to.equal('full');
      expect(auto.kindReason).to.match(/1 manifest\(s\) .* cannot be read, so a new chain starts/);
    });

    it('an edited parent: PARENT_CHANGED when building on it; restore names the files it held', async () => {
      await createBackup({ ...options, name: 'full' });
      const inc = await createBackup({ ...options, name: 'inc', kind: 'incremental' });
      const fullManifest = join(out, 'full.manifest.jsonl');
      await writeFile(fullManifest, (await readFile(fullManifest, 'utf8')).replace('"mode":420', '"mode":511'));
      const result = await restoreBackup(inc.manifestPath, { to: await tempDir() });
      expect(result.ok).to.equal(false);
      expect(result.failures.length).to.be.greaterThan(0);
      expect(result.failures[0]!.reason).to.match(/not the manifest that inc\.manifest\.jsonl was built on/);
      const building = await createBackup({ ...options, name: 'inc2', kind: 'incremental' }).catch((e: unknown) => e);
      expect(building).to.include({ code: 'PARENT_CHANGED' });
      // auto does not build on a broken chain: it starts a new one, and says why.
      const auto = await createBackup({ ...options, name: 'auto', kind: 'auto' });
      expect(auto.kind).to.equal('full');
      expect(auto.kindReason).to.match(/not the manifest that inc\.manifest\.jsonl was built on/);
    });

    it('a parent of another tree: PARENT_OTHER_TREE', async () => {
      await createBackup({ ...options, name: 'full' });
      await writeTree(root, { 'other/x.txt': 'x' });
      const error = await createBackup({ ...options, sources: ['other'], name: 'inc', kind: 'incremental' }).catch((e: unknown) => e);
      expect(error).to.include({ code: 'PARENT_OTHER_TREE' });
      expect((error as Error).message).to.match(/sources \["data"\], not \["other"\]/);
    });

    it('nothing to build on: PARENT_MISSING, for an empty folder and a missing since', async () => {
      const empty = await createBackup({ ...options, kind: 'incremental' }).catch((e: unknown) => e);
      expect(empty).to.include({ code: 'PARENT_MISSING' });
      const missing = await createBackup({ ...options, kind: 'incremental', since: join(root, 'nope.manifest.jsonl') }).catch((e: unknown) => e);
      expect(missing).to.include({ code: 'PARENT_MISSING' });
    });

    it('a damaged block of the full archive shows in the verify of an incremental that needs it', async () => {
      const full = await createBackup({ ...options, name: 'full' });
      const inc = await createBackup({ ...options, name: 'inc', kind: 'incremental' });
      const bytes = await readFile(full.archivePath);
      bytes[1_500_000] = bytes[1_500_000]! ^ 0xff; // inside b.bin's blocks
      await writeFile(full.archivePath, bytes);
      const report = await verifyBackup(inc.manifestPath);
      expect(report.ok).to.equal(false);
      expect(report.entries.find((e) => e.path === 'data/b.bin')).to.include({ status: 'damaged' });
      expect(report.entries.find((e) => e.path === 'data/a.txt')).to.include({ status: 'ok' });
      expect(report.problems.some((p) => p.startsWith('full.tar.gz (held content): '))).to.equal(true);
      expect(report.archives).to.deep.equal([inc.archivePath, full.archivePath]);
    });
  });
});

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}
