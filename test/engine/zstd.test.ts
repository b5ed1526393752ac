/**
 * codec zstd: `.tar.zst` of independent frames, one per block, with the seekable format's seek
 * table at the end. Where Node has zstd (22.15+), what we write is proven with the zstd and GNU tar
 * tools and read back by every reader; on an older Node, the clear refusal is what is tested.
 */
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { copyFile, mkdir, readFile, readdir, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as zlib from 'node:zlib';
import { pipeline } from 'node:stream/promises';
import gulp from 'gulp';
import { BackupError, backup as backupPlugin, backupTask, createBackup, previewRestore, restore, restoreBackup, verify, verifyBackup, type BackupResult, type VerifyReport } from '../../src/index.js';
import { encodeManifest } from '../../src/format/manifest.js';
import { decodeSeekTable, encodeSeekTable, frameContentSize, seekTableAt } from '../../src/format/zstd-frames.js';
import { editManifestEntry, loadManifest } from '../helpers/archive.js';
import { runCli } from '../helpers/cli.js';
import { describeTree } from '../helpers/exact-tree.js';
import { SeededRandom } from '../helpers/mutate.js';
import { pseudoRandomBytes, run, tempDir, writeTree } from '../helpers/tree.js';

const NODE_HAS_ZSTD = 'zstdCompressSync' in zlib;

const TREE = {
  'tree/log.txt': Array.from({ length: 30_000 }, (_, i) => `line ${i} of a compressible log\n`).join(''),
  'tree/noise.bin': pseudoRandomBytes(300_000, 7),
  'tree/zeros.bin': Buffer.alloc(200_000),
  'tree/deep/a/b/c/small.txt': 'small',
  'tree/empty': '',
  'tree/link': { symlink: 'log.txt' },
};

// One suite or the other runs, by the Node.js running the tests: nothing is skipped.
if (NODE_HAS_ZSTD) {
describe('codec zstd (Node.js with zstd)', () => {
  let root: string;
  let backup: BackupResult;

  before(async () => {
    root = await tempDir();
    await writeTree(root, TREE);
    backup = await createBackup({ sources: ['tree'], cwd: root, out: join(root, 'out'), name: 'z', codec: 'zstd', blockSize: '64KB' });
  });

  it('writes NAME.tar.zst of one zstd frame per block, each declaring its size, ended by a seek table listing them', async () => {
    expect(backup.archivePath).to.match(/z\.tar\.zst$/);
    const manifest = await loadManifest(backup.manifestPath);
    expect(manifest.header.options).to.include({ codec: 'zstd', level: 3 });
    const archive = await readFile(backup.archivePath);
    const { offsets } = manifest.footer.blocks;
    const tarBytes = manifest.footer.totals.tarBytes;
    expect(offsets.length).to.be.greaterThan(10);
    for (let i = 0; i < offsets.length - 1; i++) {
      const expected = Math.min(64 * 1024, tarBytes - i * 64 * 1024);
      expect(frameContentSize(archive.subarray(offsets[i]!, offsets[i + 1]!)), `frame ${i}`).to.equal(expected);
      expect((zlib as unknown as { zstdDecompressSync(b: Buffer): Buffer }).zstdDecompressSync(archive.subarray(offsets[i]!, offsets[i + 1]!)).length).to.equal(expected);
    }
    const table = archive.subarray(offsets.at(-1)!);
    expect(seekTableAt(table)?.size).to.equal(table.length);
    const frames = decodeSeekTable(table)!;
    expect(frames.map((f) => f.stored)).to.deep.equal(offsets.slice(1).map((end, i) => end - offsets[i]!));
    expect(frames.reduce((sum, f) => sum + f.raw, 0)).to.equal(tarBytes);
  });

  it('is read by zstd -t, zstd -dc | tar -x and tar --zstd -x, which extract the tree exactly', async () => {
    await run('zstd', ['-q', '-t', backup.archivePath]);
    const piped = await tempDir();
    await run('sh', ['-c', `zstd -dc '${backup.archivePath}' | tar -xf - -C '${piped}'`]);
    const direct = await tempDir();
    await run('tar', ['--zstd', '-xf', backup.archivePath, '-C', direct]);
    const original = describeTree(join(root, 'tree'));
    expect(describeTree(join(piped, 'tree'))).to.deep.equal(original);
    expect(describeTree(join(direct, 'tree'))).to.deep.equal(original);
  });

  it('gives the same bytes at any concurrency', async () => {
    const out = await tempDir();
    const one = await createBackup({ sources: ['tree'], cwd: root, out, name: 'one', codec: 'zstd', blockSize: '64KB', concurrency: 1 });
    const four = await createBackup({ sources: ['tree'], cwd: root, out, name: 'four', codec: 'zstd', blockSize: '64KB', concurrency: 4 });
    expect((await readFile(four.archivePath)).equals(await readFile(one.archivePath))).to.equal(true);
    expect((await readFile(one.archivePath)).equals(await readFile(backup.archivePath))).to.equal(true);
  });

  it('takes levels 1 to 19: a higher level gives a smaller archive; 0 and 20 are refused', async () => {
    const out = await tempDir();
    // Words drawn at random from a small vocabulary: level 19 is ~20% smaller than level 1 whatever
    // the tar header before it. (On the log's numbered lines it is not: zstd -19 makes them three
    // times larger than -1, and the ratio moved with the header's nanosecond mtime, a flaky test.)
    const random = new SeededRandom(7);
    const vocabulary = 'the of and to in is was that for on are with as by at from this be or an have not which but were all their has one its more other may than into some these only they between such first would over most time after new can any made used where each two three many'.split(' ');
    await writeTree(root, { 'levels/words.txt': Array.from({ length: 40_000 }, () => random.pick(vocabulary)).join(' ') });
    const fast = await createBackup({ sources: ['levels/words.txt'], cwd: root, out, name: 'l1', codec: 'zstd', level: 1 });
    const small = await createBackup({ sources: ['levels/words.txt'], cwd: root, out, name: 'l19', codec: 'zstd', level: 19 });
    expect(small.statistics.archiveBytes).to.be.lessThan(fast.statistics.archiveBytes);
    await run('zstd', ['-q', '-t', small.archivePath]);
    for (const level of [0, 20]) {
      const error = await createBackup({ sources: ['tree'], cwd: root, out, codec: 'zstd', level }).then(
        () => undefined,
        (e: unknown) => e as BackupError,
      );
      expect(error?.message).to.equal(`Expected \`level\` to be an integer from 1 to 19, got \`${level}\``);
    }
  });

  it('verifies and restores through the manifest, reading only the blocks a chosen file needs', async () => {
    const report = await verifyBackup(backup.manifestPath);
    expect(report.problems).to.deep.equal([]);
    expect(report.ok).to.equal(true);
    const target = await tempDir();
    const restored = await restoreBackup(backup.manifestPath, { to: target });
    expect(restored.ok).to.equal(true);
    expect(describeTree(join(target, 'tree'))).to.deep.equal(describeTree(join(root, 'tree')));
    const one = await restoreBackup(backup.manifestPath, { to: await tempDir(), include: ['tree/deep/a/b/c/small.txt'] });
    expect(one.ok).to.equal(true);
    expect(one.blocksRead).to.equal(1);
    expect(one.blocksTotal).to.be.greaterThan(10);
  });

  it('small files are proven by the SHA-256 the inflating worker takes: many to a block restore exactly; a hash the manifest lies about is refused', async () => {
    const many = await tempDir();
    const files = Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`many/f${i}.txt`, `file ${i} `.repeat(1 + ((i * 37) % 800))]));
    await writeTree(many, files);
    const made = await createBackup({ sources: ['many'], cwd: many, out: join(many, 'out'), name: 'm', codec: 'zstd', blockSize: '64KB' });
    const target = await tempDir();
    const restored = await restoreBackup(made.manifestPath, { to: target });
    expect(restored.ok, JSON.stringify(restored.failures)).to.equal(true);
    expect(describeTree(join(target, 'many'))).to.deep.equal(describeTree(join(many, 'many')));
    await editManifestEntry(made.manifestPath, 'many/f7.txt', (entry) => ({ ...entry, hashes: { sha256: 'f'.repeat(64) } }));
    const lied = await tempDir();
    const refused = await restoreBackup(made.manifestPath, { to: lied });
    expect(refused.failures.map((failure) => failure.path)).to.deep.equal(['many/f7.txt']);
    expect(refused.failures[0]!.reason).to.match(/does not match its SHA-256/);
    expect(await readdir(join(lied, 'many'))).to.have.length(59);
  });

  it('without its manifest: verify walks the frames by the seek table; restore and ls read it', async () => {
    const folder = await tempDir();
    const alone = join(folder, 'z.tar.zst');
    await copyFile(backup.archivePath, alone);
    const report = await verifyBackup(alone);
    expect(report.ok).to.equal(true);
    expect(report.counts.blocks).to.equal(backup.statistics.blocks);
    const target = await tempDir();
    expect((await restoreBackup(alone, { to: target })).ok).to.equal(true);
    expect(describeTree(join(target, 'tree'))).to.deep.equal(describeTree(join(root, 'tree')));
    const ls = await runCli(['ls', alone]);
    expect(ls.code).to.equal(0);
    expect(ls.stdout).to.include('tree/deep/a/b/c/small.txt');
  });

  it('a damaged frame spoils its block alone: verify names it, restore brings back every other file', async () => {
    const folder = await tempDir();
    await copyFile(backup.archivePath, join(folder, 'z.tar.zst'));
    await copyFile(backup.manifestPath, join(folder, 'z.manifest.jsonl'));
    const manifest = await loadManifest(backup.manifestPath);
    const noise = manifest.entries.find((e) => e.path === 'tree/noise.bin')!;
    const block = Math.floor((noise.dataOffset! + 100_000) / (64 * 1024));
    const archive = await readFile(join(folder, 'z.tar.zst'));
    const at = Math.floor((manifest.footer.blocks.offsets[block]! + manifest.footer.blocks.offsets[block + 1]!) / 2);
    archive[at]! ^= 0xff;
    await writeFile(join(folder, 'z.tar.zst'), archive);
    const report = await verifyBackup(join(folder, 'z.manifest.jsonl'));
    expect(report.ok).to.equal(false);
    expect(report.counts.damagedBlocks).to.equal(1);
    expect(report.entries.filter((e) => e.status !== 'ok').map((e) => e.path)).to.deep.equal(['tree/noise.bin']);
    const target = await tempDir();
    const restored = await restoreBackup(join(folder, 'z.manifest.jsonl'), { to: target });
    expect(restored.failures.map((f) => f.path)).to.deep.equal(['tree/noise.bin']);
    expect(await readFile(join(target, 'tree/log.txt'), 'utf8')).to.equal(TREE['tree/log.txt']);
  });

  it("another tool's .tar.zst with a damaged frame: restore, verify and the restore() plugin report it (a zlib error was thrown past them)", async () => {
    const folder = await tempDir();
    const archive = join(folder, 'foreign.tar.zst');
    execFileSync('sh', ['-c', `tar -cf - tree | zstd -q -o ${archive}`], { cwd: root });
    const bytes = await readFile(archive);
    bytes[bytes.length - 1]! ^= 0xff; // the frame's checksum, its last four bytes
    await writeFile(archive, bytes);
    const restored = await restoreBackup(archive, { to: await tempDir() });
    expect(restored.ok).to.equal(false);
    expect(JSON.stringify(restored.failures)).to.match(/doesn't match checksum/);
    const report = await verifyBackup(archive);
    expect(report.ok).to.equal(false);
    expect(report.problems.join('\n')).to.match(/doesn't match checksum/);
    // The plugin's error is a BackupError's (ARCHIVE_DAMAGED), not zlib's own.
    const error = await pipeline(gulp.src(archive, { read: false }), restore(), gulp.dest(await tempDir())).catch((e: unknown) => e);
    expect(error).to.include({ plugin: 'gulp-backup', code: 'ARCHIVE_DAMAGED', name: 'ZstdFormatError' });
    expect((error as Error).message).to.match(/doesn't match checksum/);
  });

  it("a .tar.zst made with zstd --long is refused as needing memory, never called damaged; maxMemory reads it", async () => {
    const folder = await tempDir();
    const archive = join(folder, 'long.tar.zst');
    // From a pipe the size is unknown, so the frame keeps the 256 MiB window --long=28 asks for (zstd's own default limit is
    // 128 MiB); pax keeps the times whole, to compare the restored tree exactly.
    execFileSync('sh', ['-c', `tar --format=posix -cf - tree | zstd -q --long=28 -c > ${archive}`], { cwd: root });
    const needsMemory = (error: unknown) => {
      expect(error).to.include({ code: 'ARCHIVE_NEEDS_MEMORY' }); // a BackupError, or the plugin's PluginError carrying its code
      expect((error as Error).message).to.include('a zstd window of 256MB (zstd --long)').and.include('--max-memory 256MB');
    };
    const restoreError = await restoreBackup(archive, { to: await tempDir() }).catch((e: unknown) => e);
    expect(restoreError).to.be.instanceOf(BackupError);
    needsMemory(restoreError);
    needsMemory(await verifyBackup(archive).catch((e: unknown) => e));
    const pluginError = await pipeline(gulp.src(archive, { read: false }), restore(), gulp.dest(await tempDir())).catch((e: unknown) => e);
    needsMemory(pluginError);
    expect(pluginError).to.include({ plugin: 'gulp-backup' });
    for (const command of [['verify', archive], ['ls', archive], ['restore', archive, '-t', join(folder, 'cli')]]) {
      const cli = await runCli(command);
      expect(cli.code, command[0]).to.equal(2);
      expect(cli.stderr).to.include('--max-memory 256MB').and.not.match(/damaged/i);
    }
    const target = await tempDir();
    expect((await restoreBackup(archive, { to: target, maxMemory: '256MB' })).ok).to.equal(true);
    expect(describeTree(join(target, 'tree'))).to.deep.equal(describeTree(join(root, 'tree')));
    expect((await verifyBackup(archive, { maxMemory: '256MB' })).ok).to.equal(true);
    const viaPlugin = await tempDir();
    await pipeline(gulp.src(archive, { encoding: false }), restore({ maxMemory: '256MB' }), gulp.dest(viaPlugin));
    expect((await readFile(join(viaPlugin, 'tree/log.txt'), 'utf8'))).to.equal(TREE['tree/log.txt']);
    const cli = await runCli(['ls', archive, '--max-memory', '256MB']);
    expect(cli.code).to.equal(0);
    expect(cli.stdout).to.include('tree/noise.bin');
  });

  it('a cut-short .tar.zst is found truncated, with and without its manifest', async () => {
    const folder = await tempDir();
    const cut = join(folder, 'z.tar.zst');
    await copyFile(backup.archivePath, cut);
    await copyFile(backup.manifestPath, join(folder, 'z.manifest.jsonl'));
    await truncate(cut, backup.statistics.archiveBytes - 20);
    const withManifest = await verifyBackup(join(folder, 'z.manifest.jsonl'));
    expect(withManifest.ok).to.equal(false);
    expect(withManifest.problems.join('\n')).to.match(/end marker/);
    await mkdir(join(folder, 'alone'));
    await copyFile(cut, join(folder, 'alone', 'z.tar.zst'));
    const alone = await verifyBackup(join(folder, 'alone', 'z.tar.zst'));
    expect(alone.ok).to.equal(false);
  });

  it('kept decompressed under its name (zstd -d, a download that undid Content-Encoding: zstd): read as its tar stream, every file proven', async () => {
    const folder = await tempDir();
    await copyFile(backup.manifestPath, join(folder, 'z.manifest.jsonl'));
    execFileSync('sh', ['-c', 'zstd -qdc "$1" > "$2"', 'sh', backup.archivePath, join(folder, 'z.tar.zst')]);
    const verified = await verifyBackup(folder);
    expect(verified.ok, verified.problems.join('\n')).to.equal(true);
    expect(verified.warnings.join('\n')).to.match(/without its zstd compression/);
    const target = await tempDir();
    const restored = await restoreBackup(folder, { to: target });
    expect(restored.ok, JSON.stringify(restored.failures)).to.equal(true);
    expect(describeTree(join(target, 'tree'))).to.deep.equal(describeTree(join(root, 'tree')));
  });

  it('a seek table that claims a huge frame is damage, never read into memory', async () => {
    const folder = await tempDir();
    const alone = join(folder, 'z.tar.zst');
    const archive = await readFile(backup.archivePath);
    const manifest = await loadManifest(backup.manifestPath);
    archive.writeUInt32LE(0xf000_0000, manifest.footer.blocks.offsets.at(-1)! + 8); // frame 0's stored size
    await writeFile(alone, archive);
    const report = await verifyBackup(alone);
    expect(report.ok).to.equal(false);
    expect(report.problems.join('\n')).to.match(/the seek table is damaged \(a frame it claims to take 4026531840 bytes/);
  });

  it("another tool's seekable .tar.zst (frames without a declared size; a table with checksums) is read, never called damaged", async () => {
    const folder = await tempDir();
    const tarPath = join(folder, 'plain.tar');
    await run('tar', ['--format=posix', '-cf', tarPath, '-C', root, 'tree']);
    const tar = await readFile(tarPath);
    const z = zlib as unknown as { zstdCompressSync(b: Buffer, o: object): Buffer; constants: Record<string, number> };
    const frames: Buffer[] = [];
    const sizes: { stored: number; raw: number }[] = [];
    for (let at = 0; at < tar.length; at += 100_000) {
      const raw = tar.subarray(at, at + 100_000);
      const frame = z.zstdCompressSync(raw, { params: { [z.constants.ZSTD_c_contentSizeFlag!]: 0 } });
      expect(frameContentSize(frame)).to.equal(null);
      frames.push(frame);
      sizes.push({ stored: frame.length, raw: raw.length });
    }
    const plain = join(folder, 'seekable.tar.zst');
    await writeFile(plain, Buffer.concat([...frames, encodeSeekTable(sizes)]));
    // The same frames with a seek table that carries per-frame checksums (descriptor bit 7).
    const checksummed = Buffer.alloc(8 + sizes.length * 12 + 9);
    checksummed.writeUInt32LE(0x184d2a5e, 0);
    checksummed.writeUInt32LE(checksummed.length - 8, 4);
    sizes.forEach((size, i) => {
      checksummed.writeUInt32LE(size.stored, 8 + i * 12);
      checksummed.writeUInt32LE(size.raw, 12 + i * 12);
    });
    checksummed.writeUInt32LE(sizes.length, checksummed.length - 9);
    checksummed[checksummed.length - 5] = 0x80;
    checksummed.writeUInt32LE(0x8f92eab1, checksummed.length - 4);
    const withChecksums = join(folder, 'checksummed.tar.zst');
    await writeFile(withChecksums, Buffer.concat([...frames, checksummed]));
    for (const archive of [plain, withChecksums]) {
      await run('zstd', ['-q', '-t', archive]);
      const report = await verifyBackup(archive);
      expect(report.problems, archive).to.deep.equal([]);
      expect(report.ok).to.equal(true);
      const target = await tempDir();
      expect((await restoreBackup(archive, { to: target })).ok).to.equal(true);
      expect(describeTree(join(target, 'tree'))).to.deep.equal(describeTree(join(root, 'tree')));
    }
    // Ours-like (no checksums): read block by block through the table.
    expect((await verifyBackup(plain)).counts.blocks).to.equal(sizes.length);
  });

  it('a chain may mix codecs: a gzip full backup, a zstd incremental on it; restore and verify read both', async () => {
    const tree = await tempDir();
    await writeTree(tree, { 'site/a.txt': 'first a', 'site/b.bin': pseudoRandomBytes(150_000, 2) });
    const out = await tempDir();
    const full = await createBackup({ sources: ['site'], cwd: tree, out, name: 'full' });
    await writeFile(join(tree, 'site/c.txt'), 'new c');
    const inc = await createBackup({ sources: ['site'], cwd: tree, out, name: 'inc', codec: 'zstd', kind: 'incremental', since: full.manifestPath });
    expect((await readdir(out)).sort()).to.include.members(['full.tar.gz', 'inc.tar.zst']);
    expect((await verifyBackup(inc.manifestPath)).ok).to.equal(true);
    const target = await tempDir();
    expect((await restoreBackup(inc.manifestPath, { to: target })).ok).to.equal(true);
    expect(describeTree(join(target, 'site'))).to.deep.equal(describeTree(join(tree, 'site')));
  });

  it('the gulp plugins: backup({ codec: "zstd" }) into gulp.dest, then verify() and restore() read it', async () => {
    const out = await tempDir();
    await pipeline(gulp.src('tree/**', { cwd: root, encoding: false, dot: true, resolveSymlinks: false }), backupPlugin({ name: 'g', codec: 'zstd' }), gulp.dest(out));
    expect((await readdir(out)).sort()).to.deep.equal(['g.manifest.jsonl', 'g.tar.zst', 'g.tar.zst.sha256']);
    await run('zstd', ['-q', '-t', join(out, 'g.tar.zst')]);
    const reports: VerifyReport[] = [];
    await pipeline(gulp.src('*.manifest.jsonl', { cwd: out, read: false }), verify({ onReport: (report) => reports.push(report) }), gulp.dest(await tempDir()));
    expect(reports.map((r) => r.ok)).to.deep.equal([true]);
    const target = await tempDir();
    await pipeline(gulp.src('g.manifest.jsonl', { cwd: out, read: false }), restore(), gulp.dest(target));
    // Paths in the archive are relative to the glob's base, tree/.
    expect(await readFile(join(target, 'log.txt'), 'utf8')).to.equal(TREE['tree/log.txt']);
    expect((await readFile(join(target, 'noise.bin'))).equals(TREE['tree/noise.bin'])).to.equal(true);
  });

  it('the CLI writes it with --codec zstd', async () => {
    const out = await tempDir();
    const cli = await runCli(['create', 'tree', '--cwd', root, '--out', out, '--name', 'cli', '--codec', 'zstd', '--level', '5', '-q']);
    expect(cli.stderr).to.equal('');
    expect(cli.code).to.equal(0);
    expect((await loadManifest(join(out, 'cli.manifest.jsonl'))).header.options).to.include({ codec: 'zstd', level: 5 });
    await run('zstd', ['-q', '-t', join(out, 'cli.tar.zst')]);
  });
});
} else {
describe('codec zstd (Node.js without zstd)', () => {
  it(`is refused up front, naming the Node.js it needs (this is ${process.version}), and nothing is written`, async () => {
    const root = await tempDir();
    await writeTree(root, TREE);
    const out = join(root, 'out');
    const error = await createBackup({ sources: ['tree'], cwd: root, out, codec: 'zstd' }).then(
      () => undefined,
      (e: unknown) => e as BackupError,
    );
    expect(error).to.be.instanceOf(BackupError);
    expect(error?.code).to.equal('CODEC_UNAVAILABLE');
    expect(error?.message).to.equal(`codec zstd needs Node.js 22.15 or later (for its built-in zstd); this is Node.js ${process.version}. Use codec gzip, or a newer Node.js.`);
    expect(await readdir(out).catch(() => 'no folder')).to.equal('no folder');
    const cli = await runCli(['create', 'tree', '--cwd', root, '--out', out, '--codec', 'zstd']);
    expect(cli.code).to.equal(2);
    expect(cli.stderr).to.match(/codec zstd needs Node\.js 22\.15 or later/);
  });

  it('restore --dry-run of a zstd backup is refused as the restore is, naming the Node.js it needs', async () => {
    const root = await tempDir();
    await writeTree(root, TREE);
    // A zstd backup's manifest, as a newer Node.js would have written it (its digest computed again).
    const made = await createBackup({ sources: ['tree'], cwd: root, out: join(root, 'out'), name: 'z' });
    const manifest = await loadManifest(made.manifestPath);
    await writeFile(made.manifestPath, [...encodeManifest({ ...manifest.header, options: { ...manifest.header.options, codec: 'zstd' } }, manifest.entries, manifest.footer)].join(''));
    const error = await previewRestore(made.manifestPath, { to: join(root, 'restored') }).then(
      () => undefined,
      (e: unknown) => e as BackupError,
    );
    expect(error?.code).to.equal('ARCHIVE_UNSUPPORTED');
    expect(error?.message).to.match(/is zstd-compressed; reading it needs Node\.js 22\.15 or later/);
  });

  it('a gulpfile with a zstd task still loads (its other tasks run); the zstd task and plugin fail when run', async () => {
    const root = await tempDir();
    await writeTree(root, TREE);
    const task = backupTask({ sources: ['tree'], cwd: root, out: join(root, 'out'), codec: 'zstd' }); // the gulpfile loads
    const error = await (task as () => Promise<unknown>)().then(
      () => undefined,
      (e: unknown) => e as BackupError,
    );
    expect(error?.code).to.equal('CODEC_UNAVAILABLE');
    expect(() => backupPlugin({ codec: 'zstd' })).to.throw(/codec zstd needs Node\.js 22\.15 or later/);
  });
});
}
