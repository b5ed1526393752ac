/** What the engine's own scan puts in the archive: patterns, dot files, size limit, special files. */
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import gulp from 'gulp';
import { backup, createBackup, previewBackup, restoreBackup, verifyBackup } from '../../src/index.js';
import { formatBackupSummary } from '../../src/report/backup-summary.js';
import { listFolder, loadManifest } from '../helpers/archive.js';
import { run, tempDir, writeTree } from '../helpers/tree.js';

async function listed(archive: string): Promise<string[]> {
  return (await run('tar', ['-tzf', archive])).split('\n').filter(Boolean);
}

describe('engine/createBackup: what gets stored', () => {
  let root: string;
  before(async () => {
    root = await tempDir();
    await writeTree(root, {
      'app/index.js': 'js',
      'app/index.js.map': 'map',
      'app/lib/util.js': 'util',
      'app/node_modules/dep/index.js': 'dep',
      'app/.env': 'SECRET=1',
      'app/.cache/x': 'cached',
      'app/big.dat': Buffer.alloc(5000),
      'app/logs/today.log': 'log',
    });
  });

  it('keeps dot files by default, as GNU tar does; dot: false leaves them out and counts them', async () => {
    const out = join(root, 'out-dot');
    const kept = await createBackup({ sources: ['app'], cwd: root, out, name: 'a' });
    expect(await listed(kept.archivePath)).to.include.members(['app/.env', 'app/.cache/', 'app/.cache/x']);
    const without = await createBackup({ sources: ['app'], cwd: root, out, name: 'b', dot: false });
    expect((await listed(without.archivePath)).filter((name) => name.includes('/.'))).to.deep.equal([]);
    expect(without.statistics.leftOut).to.deep.include({ dot: 2 }); // .env and the .cache folder
    expect((await loadManifest(without.manifestPath)).footer.leftOut).to.deep.include({ dot: 2 });
    expect(formatBackupSummary(without).join('\n')).to.match(/left out by the selection: 2 dot names/);
  });

  it('applies exclude patterns at any depth and include patterns', async () => {
    const out = join(root, 'out-patterns');
    const r = await createBackup({ sources: ['app'], cwd: root, out, name: 'a', exclude: ['node_modules', '*.map', 'logs/**'] });
    const names = await listed(r.archivePath);
    expect(names).to.include.members(['app/index.js', 'app/lib/util.js']);
    expect(names.filter((n) => n.includes('node_modules') || n.endsWith('.map') || n.includes('today.log'))).to.deep.equal([]);
    const only = await createBackup({ sources: ['app'], cwd: root, out, name: 'b', include: ['*.js'], exclude: ['node_modules'] });
    expect((await listed(only.archivePath)).filter((n) => !n.endsWith('/'))).to.deep.equal(['app/index.js', 'app/lib/util.js']);
  });

  it('skips files over maxFileSize and lists them with the reason', async () => {
    const r = await createBackup({ sources: ['app'], cwd: root, out: join(root, 'out-size'), maxFileSize: '4KB' });
    expect(await listed(r.archivePath)).to.not.include('app/big.dat');
    const manifest = await loadManifest(r.manifestPath);
    expect(manifest.footer.skipped).to.deep.equal([{ path: 'app/big.dat', reason: 'larger than maxFileSize (5000 > 4096 bytes)' }]);
    expect(r.skipped).to.deep.equal(manifest.footer.skipped);
  });

  it('never opens a FIFO or socket in the tree: lists it as skipped and does not hang', async () => {
    const tree = await tempDir();
    await writeTree(tree, { 'a.txt': 'a' });
    execFileSync('mkfifo', [join(tree, 'pipe')]);
    const r = await createBackup({ sources: ['.'], cwd: tree, out: join(root, 'out-fifo') });
    expect(await listed(r.archivePath)).to.deep.equal(['a.txt']);
    expect(r.skipped.map((s) => s.path)).to.deep.equal(['pipe']);
    expect(r.skipped[0]!.reason).to.match(/FIFO/);
  });

  it('follows symlinks when asked', async () => {
    const tree = await tempDir();
    await writeTree(tree, { 'real/a.txt': 'a', 'link': { symlink: 'real' } });
    const r = await createBackup({ sources: ['link'], cwd: tree, out: join(root, 'out-follow'), followSymlinks: true });
    expect(await listed(r.archivePath)).to.deep.equal(['link/', 'link/a.txt']);
  });

  it('leaves its own output folder out when it lies inside a source, and says so (summary, manifest, dry run, the plugin)', async () => {
    const tree = await tempDir();
    await writeTree(tree, { 'a.txt': 'a', 'backups/old.tar.gz': 'earlier backup' });
    const out = join(tree, 'backups');
    const r = await createBackup({ sources: ['.'], cwd: tree, out });
    expect(await listed(r.archivePath)).to.deep.equal(['a.txt']);
    expect(r.statistics.leftOut).to.deep.equal({ excluded: 0, notIncluded: 0, dot: 0, output: 1 });
    expect((await loadManifest(r.manifestPath)).footer.leftOut).to.deep.equal({ excluded: 0, notIncluded: 0, dot: 0, output: 1 });
    expect(formatBackupSummary(r)).to.include(`  left out by the selection: its own output folder ${out}`);
    const preview = await previewBackup({ sources: ['.'], cwd: tree, out });
    expect(preview.leftOut).to.deep.equal([{ path: 'backups', rule: 'the output folder of this backup (earlier backups are never backed up again)' }]);
    // The plugin writing into `out` itself: a glob that takes in that folder does not bring earlier backups along.
    await pipeline(gulp.src('**', { cwd: tree, read: false, encoding: false, dot: true, resolveSymlinks: false }), backup({ out, name: 'plugin' }));
    expect(await listed(join(out, 'plugin.tar.gz'))).to.deep.equal(['a.txt']);
  });

  it('a tree reached through symlinks: its output folder named through one is left out (earlier backups were backed up again), cwd through one is walked (the backup held nothing), link/ is followed', async () => {
    const tree = await tempDir();
    await writeTree(tree, { 'a.txt': 'a', 'real-backups/old.tar.gz': 'earlier backup', bk: { symlink: 'real-backups' } });
    const r = await createBackup({ sources: ['.'], cwd: tree, out: join(tree, 'bk'), name: 'by-link' });
    expect(await listed(r.archivePath)).to.deep.equal(['a.txt', 'bk']); // the link itself is part of the tree
    expect(r.statistics.leftOut?.output).to.equal(1);
    // The tree reached through a symlink, the output named by its real path.
    const linkedTree = `${tree}-link`;
    execFileSync('ln', ['-s', tree, linkedTree]);
    const again = await createBackup({ sources: ['.'], cwd: linkedTree, out: join(tree, 'real-backups'), name: 'tree-by-link' });
    expect(await listed(again.archivePath)).to.deep.equal(['a.txt', 'bk']);
    expect((await verifyBackup(again.manifestPath, { source: linkedTree })).ok).to.equal(true);
    // A source that names the link's folder (link/) is followed, as the shell and GNU tar follow it; the
    // link alone is stored as the link, and the summary says how to name the folder.
    const parent = join(linkedTree, '..');
    const name = linkedTree.split('/').at(-1)!;
    const followed = await createBackup({ sources: [`${name}/`], cwd: parent, out: join(tree, 'real-backups'), name: 'slash' });
    expect((await loadManifest(followed.manifestPath)).entries.slice(0, 2).map((entry) => [entry.path, entry.type])).to.deep.equal([
      [name, 'directory'],
      [`${name}/a.txt`, 'file'],
    ]);
    const restoredFollowed = await restoreBackup(followed.manifestPath, { to: await tempDir() });
    expect(restoredFollowed.failures).to.deep.equal([]);
    const asLink = await createBackup({ sources: [name], cwd: parent, out: join(tree, 'real-backups'), name: 'link' });
    expect(asLink.statistics.symlinks).to.equal(1);
    expect(asLink.warnings).to.deep.equal([`the source ${name} is a symlink and is stored as the link, as tar stores it: write ${name}/ (or --follow-symlinks) to back up the folder it points to`]);
    // The plugin writing through the link: the glob walks real-backups, which is its output.
    await pipeline(gulp.src('**', { cwd: tree, read: false, encoding: false, dot: true, resolveSymlinks: false }), backup({ out: join(tree, 'bk'), name: 'plugin-by-link' }));
    expect(await listed(join(tree, 'real-backups/plugin-by-link.tar.gz'))).to.deep.equal(['a.txt', 'bk']);
  });

  it('sources that overlap store each file once; two files on one archive path are refused (DUPLICATE_PATH), none dropped unsaid', async () => {
    const overlap = await createBackup({ sources: ['app', 'app/lib', './app/index.js'], cwd: root, out: join(root, 'out-overlap'), name: 'o' });
    const names = await listed(overlap.archivePath);
    expect(names.filter((name) => name === 'app/lib/util.js' || name === 'app/index.js')).to.deep.equal(['app/index.js', 'app/lib/util.js']);
    expect(new Set(names).size).to.equal(names.length);
    // A source outside cwd is stored under its path from the root (as GNU tar stores it): here that
    // is the path of another file inside cwd.
    const outside = await tempDir();
    await writeTree(outside, { 'f.txt': 'outside' });
    const cwd = await tempDir();
    const relative = outside.slice(1); // tmp/gulp-backup-test-…, the archive path of `outside`
    await writeTree(cwd, { [`${relative}/f.txt`]: 'inside' });
    const out = join(root, 'out-duplicate');
    const error = await createBackup({ sources: [relative, outside], cwd, out }).catch((e: unknown) => e);
    expect(error).to.have.property('code', 'DUPLICATE_PATH');
    expect((error as Error).message).to.equal(
      `${join(cwd, relative)} and ${outside} would both be ${relative} in the archive; a restore could give back only one. ` +
        'Back up the two sources separately, or run from a folder (cwd) where their paths differ.',
    );
    expect(await listFolder(out).catch(() => [])).to.deep.equal([]);
  });

  it('names a second backup in the same second apart, and refuses to replace a named one', async () => {
    const out = join(root, 'out-names');
    const first = await createBackup({ sources: ['app/index.js'], cwd: root, out });
    const second = await createBackup({ sources: ['app/index.js'], cwd: root, out });
    expect(second.archivePath).to.not.equal(first.archivePath);
    await createBackup({ sources: ['app/index.js'], cwd: root, out, name: 'fixed' });
    const error = await createBackup({ sources: ['app/index.js'], cwd: root, out, name: 'fixed' }).catch((e: unknown) => e);
    expect(error).to.have.property('code', 'OUTPUT_EXISTS');
  });
});
