/** An archive kept without its compression (a download that undid Content-Encoding: gzip, a gunzip): read as its tar stream. */
import { expect } from 'chai';
import { copyFile, mkdir, readFile, rename, truncate, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import gulp from 'gulp';
import { loggedWhile } from '../helpers/gulp-log.js';
import { createBackup, restore, restoreBackup, verifyBackup, type BackupResult } from '../../src/index.js';
import { runCli } from '../helpers/cli.js';
import { pseudoRandomBytes, run, snapshotTree, tempDir, writeTree } from '../helpers/tree.js';

/** The system's gunzip, writing `from` decompressed to `to`. */
async function gunzip(from: string, to: string): Promise<void> {
  await run('sh', ['-c', 'gunzip -c "$1" > "$2"', 'sh', from, to]);
}

/** A copy of a backup whose archive is replaced by `gunzip -c` of it, as a browser download leaves it. */
async function gunzippedCopy(made: BackupResult): Promise<string> {
  const folder = await tempDir();
  await copyFile(made.manifestPath, join(folder, basename(made.manifestPath)));
  await gunzip(made.archivePath, join(folder, basename(made.archivePath)));
  return folder;
}

describe('engine: archives stored without their compression', () => {
  let root: string;
  let made: BackupResult;

  before(async () => {
    root = await tempDir();
    await writeTree(root, {
      'site/index.html': '<h1>hi</h1>',
      'site/big.bin': pseudoRandomBytes(300_000, 3),
      'site/late/last.txt': 'in the last block',
      'site/link': { symlink: 'index.html' },
    });
    made = await createBackup({ sources: ['site'], cwd: root, out: join(root, 'backups'), name: 'b', blockSize: '64KB' });
  });

  it('verify proves every file and says what it could not check; restore gives the tree back, a single file by random access', async () => {
    const copy = await gunzippedCopy(made);
    const archive = join(copy, 'b.tar.gz');
    expect((await readFile(archive)).subarray(257, 262).toString()).to.equal('ustar'); // a plain tar now
    const verified = await verifyBackup(copy);
    expect(verified.ok, verified.problems.join('\n')).to.equal(true);
    expect(verified.counts).to.include({ entries: 6, ok: 6, damaged: 0 });
    expect(verified.layout).to.equal('tar');
    expect(verified.warnings.join('\n')).to.match(/holds the backup's tar stream without its gzip compression .*every file checked against the manifest, but the archive's own SHA-256/);
    // GNU tar reads it as it is, as it reads the compressed one.
    expect((await run('tar', ['-tf', archive])).split('\n').filter(Boolean)).to.include('site/late/last.txt');

    const target = await tempDir();
    const restored = await restoreBackup(copy, { to: target });
    expect(restored.ok, JSON.stringify(restored.failures)).to.equal(true);
    expect(restored.warnings.join('\n')).to.match(/without its gzip compression/);
    expect(await snapshotTree(join(target, 'site'))).to.deep.equal(await snapshotTree(join(root, 'site')));

    const one = await tempDir();
    const single = await restoreBackup(copy, { to: one, include: 'site/late/last.txt' });
    expect(single.ok).to.equal(true);
    expect(single.blocksRead).to.be.lessThan(single.blocksTotal);
    expect(await readFile(join(one, 'site/late/last.txt'), 'utf8')).to.equal('in the last block');
  });

  it('renamed as well (predeploy.tar.gz, predeploy.manifest.jsonl): found by the size of its tar stream, and read so', async () => {
    const copy = await gunzippedCopy(made);
    await rename(join(copy, 'b.tar.gz'), join(copy, 'predeploy.tar.gz'));
    await rename(join(copy, 'b.manifest.jsonl'), join(copy, 'predeploy.manifest.jsonl'));
    const verified = await verifyBackup(copy);
    expect(verified.ok, verified.problems.join('\n')).to.equal(true);
    expect(verified.archivePath).to.equal(join(copy, 'predeploy.tar.gz'));
    expect(verified.warnings.join('\n')).to.match(/without its gzip compression/);
  });

  it('damage in such a copy is still found, file by file; a cut-short one is not taken for one', async () => {
    const copy = await gunzippedCopy(made);
    const archive = join(copy, 'b.tar.gz');
    const bytes = await readFile(archive);
    const at = bytes.indexOf('in the last block');
    bytes[at] = bytes[at]! ^ 0x20;
    await writeFile(archive, bytes);
    const damaged = await verifyBackup(copy);
    expect(damaged.ok).to.equal(false);
    expect(damaged.entries.filter((entry) => entry.status !== 'ok').map((entry) => entry.path)).to.deep.equal(['site/late/last.txt']);
    const target = await tempDir();
    const restored = await restoreBackup(copy, { to: target });
    expect(restored.failures.map((failure) => failure.path)).to.deep.equal(['site/late/last.txt']);

    await truncate(archive, bytes.length - 2048);
    const cut = await verifyBackup(copy);
    expect(cut.ok).to.equal(false);
    expect(cut.problems.join('\n')).to.match(/the archive is \d+ bytes, the manifest says/);
    expect(cut.warnings.join('\n')).not.to.match(/without its gzip compression/);
  });

  it('in a chain: an incremental whose full backup was downloaded so restores and verifies (CLI, exit 0, with the warning)', async () => {
    const dir = await tempDir();
    await writeTree(dir, { 'site/a.txt': 'a', 'site/b.bin': pseudoRandomBytes(100_000, 5) });
    const options = { sources: ['site'], cwd: dir, out: join(dir, 'backups') };
    const full = await createBackup({ ...options, name: 'full' });
    await writeTree(dir, { 'site/a.txt': 'a2' });
    await createBackup({ ...options, name: 'inc', kind: 'incremental' });
    await gunzip(full.archivePath, `${full.archivePath}.tar`);
    await rename(`${full.archivePath}.tar`, full.archivePath);
    const verified = await runCli(['verify', join(dir, 'backups')]);
    expect(verified.code, verified.stdout + verified.stderr).to.equal(0);
    expect(verified.stdout).to.match(/warning: full\.tar\.gz \(held content\): .*full\.tar\.gz holds the backup's tar stream without its gzip compression/);
    const target = join(dir, 'restored');
    await mkdir(target);
    const restored = await runCli(['restore', join(dir, 'backups'), '-t', target]);
    expect(restored.code, restored.stdout + restored.stderr).to.equal(0);
    expect(await snapshotTree(join(target, 'site'))).to.deep.equal(await snapshotTree(join(dir, 'site')));

    // The restore() plugin reads the chain the same way, and logs the same warning.
    const emitted = join(dir, 'emitted');
    const warned = await loggedWhile('warn', () => pipeline(gulp.src(join(dir, 'backups/inc.manifest.jsonl'), { read: false }), restore(), gulp.dest(emitted)));
    expect(await readFile(join(emitted, 'site/a.txt'), 'utf8')).to.equal('a2');
    expect(await readFile(join(emitted, 'site/b.bin'))).to.deep.equal(await readFile(join(dir, 'site/b.bin')));
    expect(warned.join('\n')).to.match(/full\.tar\.gz holds the backup's tar stream without its gzip compression/);
  });
});
