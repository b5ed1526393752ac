/** verify() and restore() through the real gulp, and the verify/restore task factories. */
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import gulp from 'gulp';
import { loggedWhile } from '../helpers/gulp-log.js';
import { createBackup, restore, restoreTask, verify, verifyTask, type BackupResult, type VerifyReport } from '../../src/index.js';
import { pseudoRandomBytes, run, snapshotTree, tempDir, writeTree } from '../helpers/tree.js';
import { editManifestEntry } from '../helpers/archive.js';

describe('gulp/verify() and restore() plugins, verifyTask and restoreTask', () => {
  let root: string;
  let made: BackupResult;
  before(async () => {
    root = await tempDir();
    await writeTree(root, {
      'app/index.js': 'console.log(1)',
      'app/logo.bin': pseudoRandomBytes(150_000, 4),
      'app/empty': { dir: true },
      'app/link': { symlink: 'index.js' },
    });
    made = await createBackup({ sources: ['app'], cwd: root, out: join(root, 'backups'), name: 'app' });
  });

  it('verify() passes intact backups through and reports them', async () => {
    const reports: VerifyReport[] = [];
    const seen: string[] = [];
    await pipeline(gulp.src('backups/*.manifest.jsonl', { cwd: root, read: false }), verify({ onReport: (report) => reports.push(report) }), async (files: AsyncIterable<{ relative: string }>) => {
      for await (const file of files) seen.push(file.relative);
    });
    expect(seen).to.deep.equal(['app.manifest.jsonl']);
    expect(reports.map((r) => r.ok)).to.deep.equal([true]);
  });

  it('verify() fails with a PluginError naming the damaged file', async () => {
    const folder = await tempDir();
    const bytes = await readFile(made.archivePath);
    bytes[bytes.length >> 1] = bytes[bytes.length >> 1]! ^ 0xff;
    await writeFile(join(folder, 'app.tar.gz'), bytes);
    await writeFile(join(folder, 'app.manifest.jsonl'), await readFile(made.manifestPath));
    const error = await pipeline(gulp.src('*.manifest.jsonl', { cwd: folder, read: false }), verify(), gulp.dest(join(folder, 'x'))).catch((e: unknown) => e);
    expect(error).to.have.property('plugin', 'gulp-backup');
    expect((error as Error).message).to.match(/DAMAGED[\s\S]*damaged app\/logo\.bin/);
  });

  /** What gulp.dest wrote into `out` is the tree backed up: its names, the binary's bytes, the link. */
  async function expectRestoredApp(out: string): Promise<void> {
    const restored = await snapshotTree(join(out, 'app'));
    const original = await snapshotTree(join(root, 'app'));
    expect(Object.keys(restored)).to.deep.equal(Object.keys(original));
    expect(restored['logo.bin']!.content).to.equal(original['logo.bin']!.content);
    expect(restored['link']).to.deep.equal(original['link']);
  }

  it('restore() turns an archive into files that gulp.dest writes, hash-checked', async () => {
    const out = await tempDir();
    await pipeline(gulp.src('backups/app.tar.gz', { cwd: root, read: false }), restore(), gulp.dest(out));
    await expectRestoredApp(out);
  });

  it('restore() takes the manifest as gulp.src reads it (contents and all) for its backup, as restoreTask does', async () => {
    const out = await tempDir();
    await pipeline(gulp.src('backups/app.manifest.jsonl', { cwd: root, encoding: false }), restore(), gulp.dest(out));
    await expectRestoredApp(out);
  });

  it('restore() of a manifest whose archive is gone names the missing archive (was a bare ENOENT)', async () => {
    const folder = await tempDir();
    await writeFile(join(folder, 'app.manifest.jsonl'), await readFile(made.manifestPath));
    const error = await pipeline(gulp.src('*.manifest.jsonl', { cwd: folder, read: false }), restore(), gulp.dest(join(folder, 'x'))).catch((e: unknown) => e);
    expect(error).to.include({ plugin: 'gulp-backup', code: 'SOURCE_NOT_FOUND' });
    expect((error as Error).message).to.include(join(folder, 'app.tar.gz'));
  });

  it('restore() refuses, by name, an entry whose name is not UTF-8 (gulp.dest would write it under another name)', async () => {
    const tree = await tempDir();
    execFileSync('python3', ['-c', "import os; os.makedirs(b'src'); open(b'src/caf\\xe9', 'wb').write(b'latin-1'); open(b'src/plain.txt', 'wb').write(b'fine')"], { cwd: tree });
    const backup = await createBackup({ sources: ['src'], cwd: tree, out: join(tree, 'backups'), name: 'b' });
    const out = await tempDir();
    const error = await pipeline(gulp.src(backup.archivePath, { read: false }), restore(), gulp.dest(out)).catch((e: unknown) => e);
    expect((error as Error).message).to.match(/entries not restored:\nsrc\/caf.: its name \(or link target\) is not UTF-8/);
    const written = (await readdir(out, { recursive: true })).map(String);
    expect(written.filter((name) => name.includes('\ufffd')), 'no file under a mangled name').to.deep.equal([]);
  });

  it('restore() of a .tar.gz without a manifest reads the gzip stream to its end: a cut-short trailer or a bad CRC fails, as restore does', async () => {
    const folder = await tempDir();
    await run('tar', ['-czf', join(folder, 'good.tar.gz'), '-C', root, 'app']);
    const good = await readFile(join(folder, 'good.tar.gz'));
    await writeFile(join(folder, 'cut-trailer.tar.gz'), good.subarray(0, good.length - 4));
    const badCrc = Buffer.from(good);
    badCrc[badCrc.length - 8] = badCrc[badCrc.length - 8]! ^ 1;
    await writeFile(join(folder, 'bad-crc.tar.gz'), badCrc);
    const fine = await tempDir();
    await pipeline(gulp.src('good.tar.gz', { cwd: folder, read: false }), restore(), gulp.dest(fine));
    expect((await readFile(join(fine, 'app/logo.bin'))).equals(await readFile(join(root, 'app/logo.bin')))).to.equal(true);
    for (const [name, why] of [
      ['cut-trailer.tar.gz', /unexpected end of file/],
      ['bad-crc.tar.gz', /CRC-32 mismatch/],
    ] as const) {
      const error = await pipeline(gulp.src(name, { cwd: folder, read: false }), restore(), gulp.dest(await tempDir())).then(
        () => undefined,
        (e: unknown) => e as Error,
      );
      expect(error, name).to.have.property('plugin', 'gulp-backup');
      expect(error?.message, name).to.match(why);
    }
  });

  it('restore() refuses, by name, a file too large to hold as a vinyl buffer (a sparse one that expands to 3 GiB), never holding it', async () => {
    const folder = await tempDir();
    await writeTree(folder, { 'tree/small.txt': 'small' });
    execFileSync('truncate', ['-s', '3G', join(folder, 'tree/huge.img')]);
    execFileSync('tar', ['--sparse', '-czf', 'sparse.tar.gz', 'tree'], { cwd: folder });
    const out = await tempDir();
    const error = await pipeline(gulp.src('sparse.tar.gz', { cwd: folder, read: false }), restore(), gulp.dest(out)).catch((e: unknown) => e);
    expect((error as Error).message).to.match(/entries not restored:\ntree\/huge\.img: 3 GB is more than a vinyl file holds in memory here \(2 GB\); restore it with restoreTask or gulp-backup restore/);
  });

  it('restore() refuses entries that climb out and names them', async () => {
    const { craftTarGz } = await import('../helpers/craft-tar.js');
    const folder = await tempDir();
    await writeFile(join(folder, 'evil.tar.gz'), craftTarGz([{ path: '../../evil.txt', body: 'x' }, { path: 'fine.txt', body: 'ok' }]));
    const error = await pipeline(gulp.src('evil.tar.gz', { cwd: folder, read: false }), restore(), gulp.dest(join(folder, 'out'))).catch((e: unknown) => e);
    expect((error as Error).message).to.match(/\.\.\/\.\.\/evil\.txt: .*climbs out/);
  });

  it('restore() brings back a point of a chain whole, each file from the archive that holds it', async () => {
    const tree = await tempDir();
    // Old mtimes: outside the racy window, so that the incremental backup leaves them to the full one.
    await writeTree(tree, { 'site/a.txt': { content: 'a', mtime: 1_600_000_000 }, 'site/img/b.bin': { content: pseudoRandomBytes(70_000, 9), mtime: 1_600_000_000 } });
    await createBackup({ sources: ['site'], cwd: tree, out: join(tree, 'chain'), name: 'full' });
    await writeFile(join(tree, 'site/a.txt'), 'a, changed');
    const inc = await createBackup({ sources: ['site'], cwd: tree, out: join(tree, 'chain'), name: 'inc', kind: 'incremental' });
    expect(inc.statistics.unchangedFiles).to.equal(1);
    const original = await snapshotTree(join(tree, 'site'));
    // By path (read: false), and with the archive's bytes piped in (encoding: false): the manifest beside it leads to the chain.
    for (const options of [{ read: false }, { encoding: false as const }]) {
      const out = await tempDir();
      await pipeline(gulp.src('chain/inc.tar.gz', { cwd: tree, ...options }), restore(), gulp.dest(out));
      const restored = await snapshotTree(join(out, 'site'));
      expect(Object.keys(restored)).to.deep.equal(Object.keys(original));
      expect(restored['a.txt']!.content).to.equal(original['a.txt']!.content);
      expect(restored['img/b.bin']!.content).to.equal(original['img/b.bin']!.content);
    }
    // A manifest edited to hold a malformed record: that entry is refused and named, not a crash.
    await editManifestEntry(inc.manifestPath, 'site/a.txt', (entry) => ({ ...entry, mtimeNs: 'soon' }));
    const failed = await pipeline(gulp.src('chain/inc.tar.gz', { cwd: tree, read: false }), restore(), gulp.dest(await tempDir())).catch((error: unknown) => error as Error);
    expect(failed).to.be.instanceOf(Error);
    expect(failed!.message).to.match(/site\/a\.txt: refused: its manifest record is malformed \(mtimeNs\)/);
  });

  it('restore() emits hard links as copies of their targets (they were left out without a word), from a backup, a chain point and GNU tar', async () => {
    const tree = await tempDir();
    await writeTree(tree, {
      'site/a.txt': { content: 'shared bytes', mtime: 1_600_000_000 },
      'site/same.txt': { hardlinkTo: 'site/a.txt' },
      'site/deep/again.txt': { hardlinkTo: 'site/a.txt' },
      'site/b.txt': { content: 'b', mtime: 1_600_000_000 },
    });
    const full = await createBackup({ sources: ['site'], cwd: tree, out: join(tree, 'chain'), name: 'full' });
    expect(full.statistics.hardlinks).to.equal(2);
    await writeFile(join(tree, 'site/b.txt'), 'b, changed');
    await createBackup({ sources: ['site'], cwd: tree, out: join(tree, 'chain'), name: 'inc', kind: 'incremental' });
    // In this order (GNU tar's own follows the folder listing): a.txt is the target, the others link to it.
    const members = ['site', 'site/a.txt', 'site/same.txt', 'site/deep', 'site/deep/again.txt', 'site/b.txt'];
    execFileSync('tar', ['-czf', join(tree, 'gnu.tar.gz'), '--no-recursion', '-C', tree, ...members]);
    const original = await snapshotTree(join(tree, 'site'));
    // A backup read in tar order, a chain point read from its manifest, another tool's archive.
    for (const archive of ['chain/full.tar.gz', 'chain/inc.manifest.jsonl', 'gnu.tar.gz']) {
      const out = await tempDir();
      await pipeline(gulp.src(archive, { cwd: tree, read: false }), restore(), gulp.dest(out));
      const restored = await snapshotTree(join(out, 'site'));
      expect(Object.keys(restored).sort(), archive).to.deep.equal(['a.txt', 'b.txt', 'deep', 'deep/again.txt', 'same.txt']);
      for (const link of ['same.txt', 'deep/again.txt']) {
        expect(restored[link]!.content, archive).to.equal(Buffer.from('shared bytes').toString('hex'));
        expect(restored[link]!.mode, archive).to.equal(original['a.txt']!.mode);
      }
    }
    // A link chosen without its target is refused by name, as restore refuses it.
    for (const archive of ['chain/inc.manifest.jsonl', 'gnu.tar.gz']) {
      const failed = await pipeline(gulp.src(archive, { cwd: tree, read: false }), restore({ include: 'same.txt' }), gulp.dest(await tempDir())).catch((error: unknown) => error as Error);
      expect(failed, archive).to.be.instanceOf(Error);
      expect(failed!.message, archive).to.match(/site\/same\.txt: its hard-link target site\/a\.txt was not restored by this run/);
    }
  });

  it('restore() logs the FIFOs it does not emit (they were left out without a word)', async () => {
    const tree = await tempDir();
    await writeTree(tree, { 'fifo/a.txt': 'a' });
    execFileSync('mkfifo', [join(tree, 'fifo/pipe')]);
    execFileSync('tar', ['-czf', join(tree, 'fifo.tar.gz'), '-C', tree, 'fifo']);
    const out = await tempDir();
    const warnings = await loggedWhile('warn', () => pipeline(gulp.src('fifo.tar.gz', { cwd: tree, read: false }), restore(), gulp.dest(out)));
    expect(await readdir(join(out, 'fifo'))).to.deep.equal(['a.txt']);
    expect(warnings).to.deep.equal(['gulp-backup: skipped "fifo/pipe": a fifo entry is never created']);
  });

  it('verifyTask and restoreTask run as gulp tasks and fail on damage', async () => {
    const verifyIt = verifyTask(made.manifestPath);
    expect(verifyIt.displayName).to.equal(undefined); // gulp names it after its export
    expect(verifyTask(made.manifestPath, {}, 'check').displayName).to.equal('check');
    expect((await verifyIt()).ok).to.equal(true);
    const target = await tempDir();
    const result = await restoreTask(made.manifestPath, { to: target })();
    expect(result.restored.files).to.equal(2);
    const again = await restoreTask(made.manifestPath, { to: target })().catch((e: unknown) => e);
    expect(again).to.have.property('code', 'OUTPUT_EXISTS');
    expect((again as Error).message).to.match(/\d+ files to restore already exist in .*Pass --overwrite/);
    expect((await restoreTask(made.manifestPath, { to: target, overwrite: true })()).ok).to.equal(true);
  });
});
