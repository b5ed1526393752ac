/** restoreBackup: whole and partial restores, metadata, random access, existing files, damage. */
import { expect } from 'chai';
import { copyFile, lstat, readFile, readdir, readlink, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { createBackup, restoreBackup, verifyBackup, type BackupError, type BackupProgress, type BackupResult } from '../../src/index.js';
import { runCli } from '../helpers/cli.js';
import { craftTarGz } from '../helpers/craft-tar.js';
import { loadManifest } from '../helpers/archive.js';
import { formatRestoreResult } from '../../src/report/restore-report.js';
import { pseudoRandomBytes, run, snapshotTree, tempDir, writeTree } from '../helpers/tree.js';

/** Every name under `root`, to prove no temporary or partial file was left. */
async function allNames(root: string): Promise<string[]> {
  return (await readdir(root, { recursive: true })).map(String).sort();
}

describe('engine/restoreBackup', () => {
  let root: string;
  let backup: BackupResult;

  before(async () => {
    root = await tempDir();
    await writeTree(root, {
      'site/index.html': { content: '<h1>hi</h1>', mode: 0o640, mtime: 1_500_000_000.25 },
      'site/bin/run.sh': { content: '#!/bin/sh\n', mode: 0o755 },
      'site/big.bin': pseudoRandomBytes(1_500_000, 9),
      'site/deep/er/x.txt': 'x',
      'site/empty-dir': { dir: true, mode: 0o750, mtime: 1_400_000_000 },
      'site/link': { symlink: 'index.html' },
      'site/hard.html': { hardlinkTo: 'site/index.html' },
      'site/deep': { dir: true, mode: 0o711, mtime: 1_300_000_000 },
    });
    backup = await createBackup({ sources: ['site'], cwd: root, out: join(root, 'out'), name: 'b', blockSize: '64KB' });
  });

  it('restores the whole tree: content, modes, mtimes, links and empty folders', async () => {
    const target = await tempDir();
    const result = await restoreBackup(backup.manifestPath, { to: target });
    expect(result.ok, JSON.stringify(result.failures)).to.equal(true);
    expect(result.hashesChecked).to.equal(true);
    expect(result.restored).to.include({ files: 4, directories: 5, symlinks: 1, hardlinks: 1 });
    expect(await snapshotTree(join(target, 'site'))).to.deep.equal(await snapshotTree(join(root, 'site')));
    expect((await lstat(join(target, 'site/hard.html'))).ino).to.equal((await lstat(join(target, 'site/index.html'))).ino);
    expect(await readlink(join(target, 'site/link'))).to.equal('index.html');
  });

  it('modes and owners come out exact whatever the umask takes away, and in a set-group-ID target folder', async () => {
    const dir = await tempDir();
    const modes = { 'm/group-writable.txt': 0o664, 'm/all-writable.txt': 0o666, 'm/private.txt': 0o600, 'm/read-only.txt': 0o444, 'm/setuid.sh': 0o4755, 'm/setgid.sh': 0o2755 };
    await writeTree(dir, { ...Object.fromEntries(Object.entries(modes).map(([path, mode]) => [path, { content: path, mode }])), 'm/link': { symlink: 'private.txt' } });
    execFileSync('chown', ['1234:5678', join(dir, 'm/private.txt')]);
    execFileSync('chmod', ['0600', join(dir, 'm/private.txt')]);
    const made = await createBackup({ sources: ['m'], cwd: dir, out: join(dir, 'out') });
    const target = await tempDir();
    // New files beneath a set-group-ID folder take its group: the archive's group must still win.
    execFileSync('chown', ['0:4321', target]);
    execFileSync('chmod', ['2775', target]);
    const result = await restoreBackup(made.manifestPath, { to: target });
    expect(result.ok, JSON.stringify(result.failures)).to.equal(true);
    for (const [path, mode] of Object.entries(modes)) {
      const restored = await lstat(join(target, path));
      const owner = path === 'm/private.txt' ? [1234, 5678] : [0, 0];
      expect([restored.mode & 0o7777, restored.uid, restored.gid], path).to.deep.equal([mode, ...owner]);
    }
    const link = await lstat(join(target, 'm/link'));
    expect([link.isSymbolicLink(), link.uid, link.gid]).to.deep.equal([true, 0, 0]);
  });

  it('sparse: whole pages of zeros in files over 1 MiB are left as holes, with or without a manifest; the bytes read back the same', async () => {
    const dir = await tempDir();
    const MiB = 1024 * 1024;
    // Data with an unaligned end, 8 MiB of zeros, data, and zeros to the end (a hole at the end too).
    const image = Buffer.alloc(16 * MiB);
    pseudoRandomBytes(1_000_003, 1).copy(image, 0);
    pseudoRandomBytes(3 * MiB, 2).copy(image, 10 * MiB + 5);
    let zeroPages = 0;
    for (let at = 0; at < image.length; at += 4096) if (image.subarray(at, at + 4096).every((byte) => byte === 0)) zeroPages++;
    const zeroBytes = image.filter((byte) => byte === 0).length;
    await writeTree(dir, { 's/image.bin': image, 's/small-zeros.bin': Buffer.alloc(900_000) });
    const made = await createBackup({ sources: ['s'], cwd: dir, out: join(dir, 'out') });
    const allocated = async (path: string) => (await lstat(path)).blocks * 512;
    const dense = await tempDir();
    const denseResult = await restoreBackup(made.manifestPath, { to: dense });
    expect(denseResult.restored.holeBytes).to.equal(0);
    expect(await allocated(join(dense, 's/image.bin'))).to.be.at.least(16 * MiB);
    for (const archive of [made.manifestPath, made.archivePath]) {
      const target = await tempDir();
      const result = await restoreBackup(archive, { to: target, sparse: true });
      expect(result.ok, JSON.stringify(result.failures)).to.equal(true);
      expect((await readFile(join(target, 's/image.bin'))).equals(image)).to.equal(true);
      // Every page of zeros is a hole, those that block boundaries cut too; zeros beside data may be skipped as well.
      expect(result.restored.holeBytes).to.be.within(zeroPages * 4096, zeroBytes);
      expect(await allocated(join(target, 's/image.bin'))).to.be.at.most(image.length - zeroPages * 4096 + 8 * 1024);
      expect(await allocated(join(target, 's/small-zeros.bin')), 'a file up to 1 MiB is written whole').to.be.at.least(900_000);
      expect(formatRestoreResult(result, false)[0], formatRestoreResult(result, false)[0]).to.match(/: 2 files \(16\.9 MB, 1\d(\.\d)? MB of it left as holes\)/);
    }
  });

  it('sets times to the microsecond at or before the original, never into the next second; before 1970, to the nearest', async () => {
    const dir = await tempDir();
    await writeTree(dir, { 't/late.txt': 'late', 't/early.txt': 'early', 't/old.txt': 'old' });
    execFileSync('touch', ['-d', '@1700000000.999999700', join(dir, 't/late.txt')]);
    execFileSync('touch', ['-d', '@1700000000.000000400', join(dir, 't/early.txt')]);
    execFileSync('touch', ['-d', '@-1000.999999700', join(dir, 't/old.txt')]);
    const made = await createBackup({ sources: ['t'], cwd: dir, out: join(dir, 'out') });
    const target = await tempDir();
    expect((await restoreBackup(made.manifestPath, { to: target })).ok).to.equal(true);
    // In microseconds: Node 22 and later keep the quarter microsecond restore adds, Node 20 does not.
    const us = async (path: string) => (await lstat(path, { bigint: true })).mtimeNs / 1000n;
    expect(await us(join(target, 't/late.txt'))).to.equal(1_700_000_000_999_999n);
    expect(await us(join(target, 't/early.txt'))).to.equal(1_700_000_000_000_000n);
    // -1000.9999997 s: the nearest microsecond is -1001.000000 s (Node 20 sets it exactly; later
    // Node a quarter of a microsecond before it).
    const old = (await lstat(join(target, 't/old.txt'), { bigint: true })).mtimeNs;
    expect(Number(old - -1_001_000_000_000n)).to.be.within(-250, 0);
  });

  it('says what the backup left out when it was made (too large, a FIFO): restore, verify and stats name it (restore was silent)', async () => {
    const root = await tempDir();
    await writeTree(root, { 'kept/small.txt': 'small', 'kept/deep/large.bin': pseudoRandomBytes(5_000, 3) });
    execFileSync('mkfifo', [join(root, 'kept/pipe')]);
    const made = await createBackup({ sources: ['kept'], cwd: root, out: join(root, 'out'), maxFileSize: 1024 });
    expect(made.skipped.map((s) => s.path).sort()).to.deep.equal(['kept/deep/large.bin', 'kept/pipe']);
    const restored = await restoreBackup(made.manifestPath, { to: await tempDir() });
    expect(restored.ok).to.equal(true);
    expect(restored.warnings).to.deep.equal([
      'the backup left out 2 files when it was made, so they are not in it: "kept/deep/large.bin" (larger than maxFileSize (5000 > 1024 bytes)), …; gulp-backup stats lists them',
    ]);
    // Only what the restore chose: include that leaves the skipped files out leaves the warning out.
    expect((await restoreBackup(made.manifestPath, { to: await tempDir(), include: 'small.txt' })).warnings).to.deep.equal([]);
    expect((await restoreBackup(made.manifestPath, { to: await tempDir(), include: 'deep/' })).warnings[0]).to.match(/^the backup left out 1 file when it was made, so it is not in it: "kept\/deep\/large\.bin"/);
    const verified = await verifyBackup(made.manifestPath);
    expect(verified.ok).to.equal(true);
    expect(verified.warnings[0]).to.match(/^the backup left out 2 files when it was made/);
    const stats = await runCli(['stats', made.manifestPath]);
    expect(stats.stdout).to.match(/^ {2}skipped kept\/pipe: not a regular file/m);
    expect((JSON.parse((await runCli(['stats', made.manifestPath, '--json'])).stdout) as { skippedFiles: unknown[] }).skippedFiles).to.have.length(2);
  });

  it('reports progress: entries and bytes restored, with exact totals, ending at 100%', async () => {
    const events: BackupProgress[] = [];
    await restoreBackup(backup.manifestPath, { to: await tempDir(), onProgress: (p) => events.push(p) });
    expect(events[0]).to.include({ phase: 'restore', filesTotal: 11 });
    expect(events.at(-1)).to.include({ phase: 'done', percentage: 100, filesDone: 11, bytesDone: events[0]!.bytesTotal });
  });

  it('restores one file by reading only the blocks it spans, with its folders and their metadata', async () => {
    const target = await tempDir();
    const result = await restoreBackup(backup.manifestPath, { to: target, include: ['site/deep/er/x.txt'] });
    expect(result.ok).to.equal(true);
    expect(result.blocksRead).to.equal(1);
    expect(result.blocksTotal).to.be.greaterThan(20);
    expect(await allNames(target)).to.deep.equal(['site', 'site/deep', 'site/deep/er', 'site/deep/er/x.txt']);
    const deep = await lstat(join(target, 'site/deep'));
    expect(deep.mode & 0o777).to.equal(0o711);
    expect(Math.floor(deep.mtimeMs)).to.equal(1_300_000_000_000);
  });

  it('restores a whole folder when the pattern names the folder', async () => {
    const target = await tempDir();
    const result = await restoreBackup(backup.manifestPath, { to: target, include: ['site/deep'] });
    expect(result.ok).to.equal(true);
    expect(await allNames(target)).to.deep.equal(['site', 'site/deep', 'site/deep/er', 'site/deep/er/x.txt']);
  });

  it('an AbortSignal cancels the restore with an AbortError', async () => {
    const error = await restoreBackup(backup.manifestPath, { to: await tempDir(), signal: AbortSignal.abort() }).catch((e: unknown) => e);
    expect(error).to.have.property('code', 'ABORTED');
  });

  it('leaves existing files alone unless overwrite: refused up front with a manifest, named one by one without', async () => {
    const target = await tempDir();
    await writeTree(target, { 'site/index.html': 'mine' });
    const refused = await restoreBackup(backup.manifestPath, { to: target }).catch((error: unknown) => error as BackupError);
    expect(refused).to.have.property('code', 'OUTPUT_EXISTS');
    expect((refused as Error).message).to.match(/^1 file to restore already exists in .* \(site\/index\.html\); nothing was restored\./);
    expect(await allNames(target)).to.deep.equal(['site', 'site/index.html']);
    // An archive alone is read once, as it goes: each name in the way is named and left alone.
    const plain = join(await tempDir(), 'plain.tar.gz');
    execFileSync('tar', ['-czf', plain, '-C', root, 'site']);
    const result = await restoreBackup(plain, { to: target });
    expect(result.ok).to.equal(false);
    expect(result.failures).to.deep.include({ path: 'site/index.html', reason: 'site/index.html exists; pass --overwrite (overwrite: true) to replace it' });
    expect(await readFile(join(target, 'site/index.html'), 'utf8')).to.equal('mine');
    const replaced = await restoreBackup(backup.manifestPath, { to: target, include: ['site/index.html'], overwrite: true });
    expect(replaced.ok).to.equal(true);
    expect(await readFile(join(target, 'site/index.html'), 'utf8')).to.equal('<h1>hi</h1>');
    expect((await allNames(target)).filter((name) => name.includes('partial'))).to.deep.equal([]);
  });

  it('a file or symlink where a folder goes, a folder where a file goes: refused up front; with overwrite replaced as GNU tar does, never through the link', async () => {
    const target = await tempDir();
    const elsewhere = await tempDir();
    await writeTree(target, {
      'site/bin': 'a file where the backup has a folder',
      'site/deep': { symlink: elsewhere },
      'site/big.bin': { dir: true },
      'site/index.html/mine.txt': 'a folder with contents where the backup has a file',
    });
    // Without overwrite: every name in the way counted once, up front (site/bin/run.sh lies under a
    // file; site/deep is the symlink, site/index.html the folder).
    const refused = await restoreBackup(backup.manifestPath, { to: target }).catch((error: unknown) => error as BackupError);
    expect(refused).to.have.property('code', 'OUTPUT_EXISTS');
    expect((refused as Error).message).to.match(/^5 files to restore already exist in .* \(site\/big\.bin, site\/bin, site\/bin\/run\.sh, …\); nothing was restored\./);
    const result = await restoreBackup(backup.manifestPath, { to: target, overwrite: true });
    expect(result.failures).to.deep.equal([
      { path: 'site/index.html', reason: 'site/index.html is in the way: it is a folder with contents in the target; move it away and restore again' },
    ]);
    expect(await readFile(join(target, 'site/bin/run.sh'), 'utf8')).to.equal('#!/bin/sh\n');
    expect((await lstat(join(target, 'site/deep'))).isDirectory()).to.equal(true);
    expect(await readFile(join(target, 'site/deep/er/x.txt'), 'utf8')).to.equal('x');
    expect(await readdir(elsewhere)).to.deep.equal([]); // the link was replaced, not followed
    expect((await readFile(join(target, 'site/big.bin'))).equals(pseudoRandomBytes(1_500_000, 9))).to.equal(true);
    expect(await readFile(join(target, 'site/index.html/mine.txt'), 'utf8')).to.match(/^a folder with contents/);
  });

  it('restores a plain .tar (codec none) through its manifest, and any archive without one', async () => {
    const plain = await createBackup({ sources: ['site'], cwd: root, out: await tempDir(), name: 'p', codec: 'none' });
    const target = await tempDir();
    expect((await restoreBackup(plain.manifestPath, { to: target })).ok).to.equal(true);
    expect(await snapshotTree(join(target, 'site'))).to.deep.equal(await snapshotTree(join(root, 'site')));
    const alone = join(await tempDir(), 'alone.tar.gz');
    await copyFile(backup.archivePath, alone);
    const sequential = await restoreBackup(alone, { to: await tempDir() });
    expect(sequential).to.deep.include({ ok: true, hashesChecked: false });
    expect(sequential.restored.files).to.equal(4);
  });

  it('restores a plain .tar.gz made by GNU tar, sequentially', async () => {
    const archive = join(await tempDir(), 'gnu.tar.gz');
    await run('tar', ['-czf', archive, '-C', root, 'site']);
    const target = await tempDir();
    const result = await restoreBackup(archive, { to: target });
    expect(result.ok, JSON.stringify(result.failures)).to.equal(true);
    expect(result.hashesChecked).to.equal(false);
    // GNU tar's default format keeps whole seconds: compare with what tar itself extracts.
    const byTar = await tempDir();
    await run('tar', ['-xzf', archive, '-C', byTar]);
    expect(await snapshotTree(join(target, 'site'))).to.deep.equal(await snapshotTree(join(byTar, 'site')));
  });

  it('a name longer than the file system takes is named with what limits it and what to do (it said only ENAMETOOLONG), and the rest is restored', async () => {
    const archive = join(await tempDir(), 'long-name.tar.gz');
    await writeFile(archive, craftTarGz([{ path: 'ok.txt', body: 'ok' }, { path: `dir/${'n'.repeat(300)}.txt`, body: 'too long a name' }]));
    const target = await tempDir();
    const result = await restoreBackup(archive, { to: target });
    expect(result.failures.map((failure) => failure.path)).to.deep.equal([`dir/${'n'.repeat(300)}.txt`]);
    expect(result.failures[0]!.reason).to.match(/^ENAMETOOLONG: .*: its name or path is longer than the target's file system takes \(a name: 255 bytes on most, 143 on eCryptfs; a path: 4,096 bytes on Linux\): restore onto another file system, or with --strip-components for a long path$/);
    expect(await readFile(join(target, 'ok.txt'), 'utf8')).to.equal('ok');
    expect(await allNames(target), 'no temporary file is left').to.deep.equal(['dir', 'ok.txt']);
  });

  it('restored into a folder named as the one folder it holds (site into site), it says where the files are', async () => {
    const parent = await tempDir();
    const nested = await restoreBackup(backup.manifestPath, { to: join(parent, 'site') });
    expect(nested.ok).to.equal(true);
    expect(nested.warnings).to.include(
      `every entry lies under site/, and the folder restored into is itself named site: the files are in ${join(parent, 'site/site')}. To put them back where they were, restore into the folder above (--to ${parent}), or with --strip-components 1`,
    );
    const archive = join(await tempDir(), 'gnu.tar.gz');
    await run('tar', ['-czf', archive, '-C', root, 'site']);
    const foreign = await restoreBackup(archive, { to: join(await tempDir(), 'site') });
    expect(foreign.warnings.join('\n')).to.match(/every entry lies under site\//);
    const elsewhere = await restoreBackup(backup.manifestPath, { to: join(await tempDir(), 'restored') });
    expect(elsewhere.warnings.join('\n')).not.to.match(/every entry lies under/);
  });

  it('stripComponents leaves out leading parts as tar --strip-components does: with a manifest (hard links too) and for a GNU tar archive of .', async () => {
    const stripped = await tempDir();
    const result = await restoreBackup(backup.manifestPath, { to: stripped, stripComponents: 1 });
    expect(result.ok, JSON.stringify(result.failures)).to.equal(true);
    expect(await snapshotTree(stripped)).to.deep.equal(await snapshotTree(join(root, 'site')));
    expect((await lstat(join(stripped, 'hard.html'))).ino).to.equal((await lstat(join(stripped, 'index.html'))).ino);
    // The same as GNU tar extracts from the same tree archived as `tar -C site -cf x.tar .` (./ is a part).
    const archive = join(await tempDir(), 'dot.tar');
    await run('tar', ['-C', join(root, 'site'), '-cf', archive, '.']);
    for (const count of [1, 2, 3]) {
      const byTar = await tempDir();
      await run('tar', ['-xf', archive, `--strip-components=${count}`, '-C', byTar]);
      const ours = await tempDir();
      const restored = await restoreBackup(archive, { to: ours, stripComponents: count });
      expect(restored.ok, JSON.stringify(restored.failures)).to.equal(true);
      expect(await allNames(ours), `strip ${count}`).to.deep.equal(await allNames(byTar));
      // A file with no parts left is said, not dropped without a word (GNU tar says nothing).
      if (count === 2) expect(restored.skipped.map((skip) => skip.path)).to.include.members(['./index.html', './big.bin']);
    }
    const refused = await restoreBackup(backup.manifestPath, { to: stripped, overwrite: true, delete: true, stripComponents: 1 }).catch((error: unknown) => error as BackupError);
    expect((refused as BackupError).code).to.equal('INVALID_OPTION');
    expect((refused as BackupError).message).to.match(/cannot be combined with --strip-components/);
  });

  it('a damaged block: the files in it are not restored (and no partial file is left); the others are', async () => {
    const folder = await tempDir();
    const archive = join(folder, 'b.tar.gz');
    await copyFile(backup.manifestPath, join(folder, 'b.manifest.jsonl'));
    const manifest = await loadManifest(backup.manifestPath);
    const big = manifest.entries.find((e) => e.path === 'site/big.bin')!;
    const block = Math.floor((big.dataOffset! + 500_000) / manifest.footer.blocks.blockSize);
    const bytes = await readFile(backup.archivePath);
    const at = manifest.footer.blocks.offsets[block]! + 100;
    bytes[at] = bytes[at]! ^ 0xff;
    await writeFile(archive, bytes);
    const target = await tempDir();
    const result = await restoreBackup(archive, { to: target });
    expect(result.ok).to.equal(false);
    expect(result.failures.map((f) => f.path)).to.deep.equal(['site/big.bin']);
    expect(result.failures[0]!.reason).to.match(new RegExp(`damaged block ${block}`));
    expect(result.restored.files).to.equal(3);
    expect(await allNames(join(target, 'site'))).to.not.include('big.bin');
    expect((await allNames(target)).filter((name) => name.includes('partial'))).to.deep.equal([]);
  });

  it('a truncated archive: the files past the cut are reported, the earlier ones restored', async () => {
    const tree = await tempDir();
    await writeTree(tree, { 'a.bin': pseudoRandomBytes(300_000, 1), 'z.bin': pseudoRandomBytes(300_000, 2) });
    const made = await createBackup({ sources: ['.'], cwd: tree, out: await tempDir(), name: 't', blockSize: '64KB' });
    const manifest = await loadManifest(made.manifestPath);
    await truncate(made.archivePath, manifest.footer.blocks.offsets[7]!); // inside z.bin
    const target = await tempDir();
    const result = await restoreBackup(made.manifestPath, { to: target });
    expect(result.ok).to.equal(false);
    expect(result.failures.map((f) => f.path)).to.deep.equal(['z.bin']);
    expect(await readFile(join(target, 'a.bin'))).to.deep.equal(pseudoRandomBytes(300_000, 1));
    expect(await allNames(target)).to.deep.equal(['a.bin']);
  });
});
