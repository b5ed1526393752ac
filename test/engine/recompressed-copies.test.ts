/**
 * An archive that another tool recompressed (`gunzip -c | gzip -9` to save room, `| zstd`): the
 * same tar stream in other framing. It was DAMAGED in every block and restored nothing; it is
 * read as one stream and every file proven against the manifest.
 */
import { expect } from 'chai';
import { copyFile, mkdir, readFile, readdir, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import * as zlib from 'node:zlib';
import gulp from 'gulp';
import { createBackup, restore, restoreBackup, verifyBackup, type BackupResult } from '../../src/index.js';
import { runCli } from '../helpers/cli.js';
import { loggedWhile } from '../helpers/gulp-log.js';
import { pseudoRandomBytes, run, snapshotTree, tempDir, writeTree } from '../helpers/tree.js';

const NODE_HAS_ZSTD = 'zstdCompressSync' in zlib;
const RECOMPRESSED = /is not the archive this backup wrote but the same tar stream recompressed by another tool/;

/** `archive` decompressed and compressed again by `command` (a shell pipeline stage), in place. */
async function recompress(archive: string, command: string): Promise<void> {
  await run('sh', ['-c', `gzip -dc "$1" | ${command} > "$1.new" && mv "$1.new" "$1"`, 'sh', archive]);
}

/** A copy of a backup's files in a folder of their own. */
async function copyOf(made: BackupResult): Promise<string> {
  const folder = await tempDir();
  for (const path of [made.archivePath, made.manifestPath, `${made.archivePath}.sha256`]) await copyFile(path, join(folder, path.split('/').at(-1)!));
  return folder;
}

describe('engine: archives recompressed by another tool', () => {
  let root: string;
  let made: BackupResult;

  before(async () => {
    root = await tempDir();
    await writeTree(root, {
      'site/index.html': '<h1>hi</h1>',
      'site/big.bin': pseudoRandomBytes(400_000, 3),
      'site/text.txt': 'words '.repeat(30_000),
      'site/late/last.txt': 'in the last block',
      'site/link': { symlink: 'index.html' },
    });
    made = await createBackup({ sources: ['site'], cwd: root, out: join(root, 'backups'), name: 'b', blockSize: '64KB' });
  });

  it('gzip -9: verify proves every file and says what it could not check; restore gives the tree back, one file too (was DAMAGED in every block)', async () => {
    const copy = await copyOf(made);
    const archive = join(copy, 'b.tar.gz');
    await recompress(archive, 'gzip -9');
    // The premises: another file than the one written, which GNU tar reads as it read ours.
    await run('sh', ['-c', 'sha256sum -c b.tar.gz.sha256 && exit 1 || exit 0'], copy);
    expect((await run('tar', ['-tzf', archive])).split('\n')).to.include('site/late/last.txt');

    const verified = await verifyBackup(copy);
    expect(verified.ok, verified.problems.join('\n')).to.equal(true);
    expect(verified.counts).to.include({ entries: 7, ok: 7, damaged: 0, missing: 0 });
    expect(verified.layout).to.equal('gzip');
    expect(verified.warnings.join('\n')).to.match(RECOMPRESSED).and.match(/sha256sum -c/);

    const target = await tempDir();
    const restored = await restoreBackup(copy, { to: target });
    expect(restored.ok, JSON.stringify(restored.failures)).to.equal(true);
    expect(restored.warnings.join('\n')).to.match(RECOMPRESSED);
    expect(await snapshotTree(join(target, 'site'))).to.deep.equal(await snapshotTree(join(root, 'site')));

    const one = await tempDir();
    const single = await restoreBackup(copy, { to: one, include: 'site/late/last.txt' });
    expect(single.ok).to.equal(true);
    expect(await readFile(join(one, 'site/late/last.txt'), 'utf8')).to.equal('in the last block');

    const cli = await runCli(['verify', copy]);
    expect(cli.code, cli.stdout + cli.stderr).to.equal(0);
  });

  it('damage in a recompressed archive is still damage, named file by file (exit 1)', async () => {
    const copy = await copyOf(made);
    const archive = join(copy, 'b.tar.gz');
    await recompress(archive, 'gzip -1');
    const bytes = await readFile(archive);
    // Inside big.bin's deflate data (its random bytes take most of the stream): inflate goes on
    // with other bytes, which its SHA-256 catches; the stream's CRC-32 fails at its end.
    const at = Math.floor(bytes.length * 0.5);
    bytes[at] = bytes[at]! ^ 0x55;
    await writeFile(archive, bytes);
    const verified = await verifyBackup(copy);
    expect(verified.ok).to.equal(false);
    expect(verified.entries.filter((entry) => entry.status !== 'ok').map((entry) => entry.path)).to.deep.equal(['site/big.bin']);
    expect(verified.problems.join('\n')).to.match(/the gzip stream is damaged/);
    const target = await tempDir();
    const restored = await restoreBackup(copy, { to: target });
    expect(restored.ok).to.equal(false);
    expect(restored.failures.map((failure) => failure.path)).to.deep.equal(['site/big.bin']);
    expect(await readFile(join(target, 'site/late/last.txt'), 'utf8')).to.equal('in the last block');
    expect((await runCli(['verify', copy])).code).to.equal(1);
  });

  it('an archive of ours cut short or grown is still read block by block, not taken for a recompressed one', async () => {
    const cut = await copyOf(made);
    const archive = join(cut, 'b.tar.gz');
    const size = (await readFile(archive)).length;
    await truncate(archive, size - 5000);
    const verified = await verifyBackup(cut);
    expect(verified.ok).to.equal(false);
    expect(verified.layout).to.equal('blocked');
    expect(verified.problems.join('\n')).to.match(/the archive is \d+ bytes, the manifest says/);
    expect(verified.warnings.join('\n')).to.not.match(RECOMPRESSED);
    expect(verified.counts.ok).to.be.greaterThan(0);

    const grown = await copyOf(made);
    await writeFile(join(grown, 'b.tar.gz'), Buffer.concat([await readFile(made.archivePath), Buffer.from('more')]));
    const report = await verifyBackup(grown);
    expect(report.layout).to.equal('blocked');
    expect(report.warnings.join('\n')).to.not.match(RECOMPRESSED);
  });

  it('recompressed with xz (kept as .tar.gz): refused as xz, exit 2, never called damaged', async () => {
    const copy = await copyOf(made);
    await recompress(join(copy, 'b.tar.gz'), 'xz -1');
    const cli = await runCli(['verify', copy]);
    expect(cli.code, cli.stdout + cli.stderr).to.equal(2);
    expect(cli.stderr).to.match(/xz-compressed/).and.not.match(/damaged/i);
    const restored = await runCli(['restore', copy, '-t', join(copy, 'out')]);
    expect(restored.code).to.equal(2);
  });

  it(NODE_HAS_ZSTD ? 'recompressed with zstd (kept as .tar.gz): read as zstd, every file proven' : 'recompressed with zstd, on a Node without zstd: refused naming the Node it needs (exit 2), never damaged', async () => {
    const copy = await copyOf(made);
    await recompress(join(copy, 'b.tar.gz'), 'zstd -q -3');
    const cli = await runCli(['verify', copy]);
    if (NODE_HAS_ZSTD) {
      expect(cli.code, cli.stdout + cli.stderr).to.equal(0);
      expect(cli.stdout).to.match(RECOMPRESSED);
      const target = await tempDir();
      expect((await restoreBackup(copy, { to: target })).ok).to.equal(true);
      expect(await snapshotTree(join(target, 'site'))).to.deep.equal(await snapshotTree(join(root, 'site')));
    } else {
      expect(cli.code, cli.stdout + cli.stderr).to.equal(2);
      expect(cli.stderr).to.match(/Node\.js 22\.15/).and.not.match(/damaged/i);
    }
  });

  it(NODE_HAS_ZSTD ? 'a zstd backup recompressed with zstd -19 is read so; one of ours cut short (its seek table gone) is still read block by block' : 'a zstd backup, on a Node without zstd: refused up front naming the Node it needs', async () => {
    const dir = await tempDir();
    await writeTree(dir, { 'site/a.txt': 'a', 'site/b.bin': pseudoRandomBytes(300_000, 9), 'site/c.txt': 'c'.repeat(100_000) });
    const making = createBackup({ sources: ['site'], cwd: dir, out: join(dir, 'backups'), name: 'z', codec: 'zstd', blockSize: '64KB' });
    if (!NODE_HAS_ZSTD) {
      await making.then(
        () => expect.fail('a zstd backup was made on a Node without zstd'),
        (error: Error) => expect(error.message).to.match(/Node\.js 22\.15/),
      );
      return;
    }
    const zstdMade = await making;
    const copy = await copyOf(zstdMade);
    await run('sh', ['-c', 'zstd -q -dc z.tar.zst | zstd -q -19 > z.new && mv z.new z.tar.zst'], copy);
    const verified = await verifyBackup(copy);
    expect(verified.ok, verified.problems.join('\n')).to.equal(true);
    expect(verified.warnings.join('\n')).to.match(RECOMPRESSED);
    const target = await tempDir();
    expect((await restoreBackup(copy, { to: target })).ok).to.equal(true);
    expect(await snapshotTree(join(target, 'site'))).to.deep.equal(await snapshotTree(join(dir, 'site')));

    const cut = await copyOf(zstdMade);
    await truncate(join(cut, 'z.tar.zst'), (await readFile(zstdMade.archivePath)).length - 100);
    const report = await verifyBackup(cut);
    expect(report.ok).to.equal(false);
    expect(report.layout).to.equal('blocked');
    expect(report.warnings.join('\n')).to.not.match(RECOMPRESSED);
    expect(report.counts.ok).to.be.greaterThan(0);
  });

  it('a new incremental builds on a full backup kept decompressed, recompressed or zero-padded (it was refused: "could not be restored"), not on one cut short', async () => {
    for (const [kind, change] of [
      ['decompressed', (archive: string) => run('sh', ['-c', 'gzip -dc "$1" > "$1.new" && mv "$1.new" "$1"', 'sh', archive])],
      ['recompressed', (archive: string) => recompress(archive, 'gzip -9')],
      ['followed by zero padding', async (archive: string) => writeFile(archive, Buffer.concat([await readFile(archive), Buffer.alloc(4096)]))],
    ] as const) {
      const dir = await tempDir();
      await writeTree(dir, { 'site/a.txt': 'a', 'site/b.bin': pseudoRandomBytes(150_000, 2) });
      const options = { sources: ['site'], cwd: dir, out: join(dir, 'backups'), blockSize: '64KB' };
      const full = await createBackup({ ...options, name: 'full' });
      await change(full.archivePath);
      await writeTree(dir, { 'site/a.txt': 'a2' });
      const inc = await createBackup({ ...options, name: 'inc', kind: 'incremental' });
      expect(inc.kind, kind).to.equal('incremental');
      expect(inc.warnings.join('\n'), kind).to.match(new RegExp(`full\\.tar\\.gz, an archive of the chain, is (stored without its compression|${kind})`));
      const target = await tempDir();
      const restored = await restoreBackup(inc.manifestPath, { to: target });
      expect(restored.ok, `${kind}: ${JSON.stringify(restored.failures)}`).to.equal(true);
      expect(await snapshotTree(join(target, 'site'))).to.deep.equal(await snapshotTree(join(dir, 'site')));
    }
    const dir = await tempDir();
    await writeTree(dir, { 'site/a.txt': 'a' });
    const options = { sources: ['site'], cwd: dir, out: join(dir, 'backups') };
    const full = await createBackup({ ...options, name: 'full' });
    await truncate(full.archivePath, (await readFile(full.archivePath)).length - 10);
    const refused = await createBackup({ ...options, name: 'inc', kind: 'incremental' }).catch((error: unknown) => error);
    expect(refused).to.include({ code: 'PARENT_MISSING' });
    expect((refused as Error).message).to.match(/could not be restored/);
  });

  it('in a chain: an incremental whose full backup was recompressed restores and verifies, the restore() plugin too', async () => {
    const dir = await tempDir();
    await writeTree(dir, { 'site/a.txt': 'a', 'site/b.bin': pseudoRandomBytes(200_000, 5), 'site/c.txt': 'c' });
    const options = { sources: ['site'], cwd: dir, out: join(dir, 'backups'), blockSize: '64KB' };
    const full = await createBackup({ ...options, name: 'full' });
    await writeTree(dir, { 'site/a.txt': 'a2' });
    await createBackup({ ...options, name: 'inc', kind: 'incremental' });
    await recompress(full.archivePath, 'gzip -9');
    const verified = await runCli(['verify', join(dir, 'backups/inc.manifest.jsonl')]);
    expect(verified.code, verified.stdout + verified.stderr).to.equal(0);
    expect(verified.stdout).to.match(/full\.tar\.gz \(held content\): .*recompressed by another tool/);
    const target = join(dir, 'restored');
    await mkdir(target);
    const restored = await restoreBackup(join(dir, 'backups'), { to: target });
    expect(restored.ok, JSON.stringify(restored.failures)).to.equal(true);
    expect(restored.warnings.join('\n')).to.match(RECOMPRESSED);
    expect(await snapshotTree(join(target, 'site'))).to.deep.equal(await snapshotTree(join(dir, 'site')));

    const emitted = join(dir, 'emitted');
    const warned = await loggedWhile('warn', () => pipeline(gulp.src(join(dir, 'backups/inc.manifest.jsonl'), { read: false }), restore(), gulp.dest(emitted)));
    expect(await readFile(join(emitted, 'site/b.bin'))).to.deep.equal(await readFile(join(dir, 'site/b.bin')));
    expect(warned.join('\n')).to.match(RECOMPRESSED);
    expect((await readdir(join(emitted, 'site'))).sort()).to.deep.equal(['a.txt', 'b.bin', 'c.txt']);
  });
});
