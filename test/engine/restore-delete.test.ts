/** restore's `delete`: a rollback leaves the target as the backup, within the backup's own scope. */
import { expect } from 'chai';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import gulp from 'gulp';
import { backup, createBackup, previewRestore, restoreBackup, restoreTask, verifyBackup, type BackupError } from '../../src/index.js';
import { runCli } from '../helpers/cli.js';
import { SeededRandom } from '../helpers/mutate.js';
import { run, snapshotTree, tempDir, writeTree } from '../helpers/tree.js';

const failure = (promise: Promise<unknown>) => promise.then(() => expect.fail('expected a rejection'), (error: unknown) => error as BackupError);

describe('engine/restoreBackup with delete', () => {
  /** A project with what a backup leaves out: node_modules, logs, a README outside the sources. */
  async function project(): Promise<string> {
    const root = await tempDir();
    await writeTree(root, {
      'dist/index.html': 'v1',
      'dist/app.js': 'app v1',
      'dist/img/logo.svg': '<svg/>',
      'dist/debug.log': 'excluded',
      'node_modules/pkg/index.js': 'dependency',
      'README.md': 'outside the sources',
    });
    return root;
  }

  it('rolls a folder back: what later builds added goes, what the backup excluded and what lies outside its sources stay', async () => {
    const root = await project();
    const out = join(root, 'backups');
    const v1 = await createBackup({ sources: ['dist', 'node_modules'], exclude: ['*.log', 'node_modules/**'], cwd: root, out, name: 'v1' });
    // A later build: files added, changed, removed; an excluded file and a new folder with one.
    await writeTree(root, {
      'dist/index.html': 'v2',
      'dist/chunk-3f2a.js': 'new chunk',
      'dist/assets/deep/font.woff': 'new font',
      'dist/cache/build.log': 'excluded, in a new folder',
      'dist/debug.log': 'excluded, changed',
      'node_modules/pkg/other.js': 'excluded',
    });
    await rm(join(root, 'dist/img/logo.svg'));
    await symlink('/etc', join(root, 'dist/etc-link'));
    const before = await verifyBackup(v1.manifestPath, { source: root });
    expect(before.source!.new).to.have.members(['dist/chunk-3f2a.js', 'dist/assets', 'dist/assets/deep', 'dist/assets/deep/font.woff', 'dist/cache', 'dist/etc-link']);

    const result = await restoreBackup(v1.manifestPath, { to: root, overwrite: true, delete: true });
    expect(result.ok, JSON.stringify(result.failures)).to.equal(true);
    // What verify --source called new, less the folder that holds an excluded file.
    expect(result.deleted).to.deep.equal(['dist/assets', 'dist/assets/deep', 'dist/assets/deep/font.woff', 'dist/chunk-3f2a.js', 'dist/etc-link']);
    expect(result.warnings.join('\n')).to.match(/1 folder not in the backup kept \(dist\/cache\): it holds files that the backup's selection leaves out/);
    expect(await readFile(join(root, 'dist/index.html'), 'utf8')).to.equal('v1');
    expect(await readFile(join(root, 'dist/img/logo.svg'), 'utf8')).to.equal('<svg/>');
    for (const [path, content] of Object.entries({
      'dist/debug.log': 'excluded, changed',
      'dist/cache/build.log': 'excluded, in a new folder',
      'node_modules/pkg/index.js': 'dependency',
      'node_modules/pkg/other.js': 'excluded',
      'README.md': 'outside the sources',
    })) {
      expect(await readFile(join(root, path), 'utf8'), path).to.equal(content);
    }
    expect(existsSync('/etc/passwd'), 'a symlink goes as the link, never what it leads to').to.equal(true);
    expect(existsSync(join(root, 'backups', 'v1.manifest.jsonl')), 'the backups themselves stay').to.equal(true);
    expect(existsSync(join(root, '.gulp-backup-restore.lock'))).to.equal(false);
    const after = await verifyBackup(v1.manifestPath, { source: root });
    expect(after.source).to.deep.include({ changed: [], missing: [], new: ['dist/cache'] });
  });

  it('random trees and changes: after restore --delete the tree is the backup, less the excluded files, which are untouched', async function () {
    this.timeout(120_000);
    const seed = Number(process.env.FUZZ_SEED ?? 1515);
    const random = new SeededRandom(seed);
    const names = ['a', 'b', '.hidden', 'c.log', 'node_modules', 'lib', 'x y'];
    const randomPath = (depth: number) => Array.from({ length: 1 + random.below(depth) }, () => random.pick(names)).join('/');
    let deleted = 0;
    for (let round = 0; round < 12; round++) {
      const root = await tempDir();
      const files: Record<string, string> = {};
      for (let i = 0; i < 25; i++) files[`tree/${randomPath(4)}/f${i}`] = `v1 ${i}`;
      await writeTree(root, files);
      const exclude = random.below(2) === 0 ? ['*.log', 'node_modules/'] : ['node_modules/'];
      const made = await createBackup({ sources: ['tree'], exclude, cwd: root, out: join(root, 'backups'), name: 'b' });
      const restoredAlone = await tempDir();
      await restoreBackup(made.manifestPath, { to: restoredAlone });
      // Changes: new files (some in excluded places), rewritten files, removed files and folders.
      const added: Record<string, string> = {};
      for (let i = 0; i < 10; i++) added[`tree/${randomPath(4)}/n${i}`] = `new ${i}`;
      await writeTree(root, added);
      for (const path of Object.keys(files)) {
        const roll = random.below(6);
        if (roll === 0) await rm(join(root, path), { force: true });
        else if (roll === 1 && existsSync(join(root, path))) await writeFile(join(root, path), 'rewritten');
      }
      const excludedBefore = await snapshotOf(root, (path) => isExcluded(path, exclude));
      const context = `seed ${seed}, round ${round}`;
      const preview = await previewRestore(made.manifestPath, { to: root, overwrite: true, delete: true });
      const result = await restoreBackup(made.manifestPath, { to: root, overwrite: true, delete: true });
      expect(result.ok, `${context}: ${JSON.stringify(result.failures)}`).to.equal(true);
      expect(result.deleted, context).to.deep.equal(preview.delete);
      deleted += result.deleted.length;
      // The tree is the backup's once the excluded files are set aside; a folder beyond the backup's
      // is one that holds excluded files (kept, not emptied of them).
      const after = await snapshotOf(root, (path) => !isExcluded(path, exclude));
      const backedUp = await snapshotOf(restoredAlone, (path) => !isExcluded(path, exclude));
      const filesOf = (snapshot: Record<string, string>) => Object.fromEntries(Object.entries(snapshot).filter(([, content]) => content !== '/'));
      expect(filesOf(after), context).to.deep.equal(filesOf(backedUp));
      for (const [path, content] of Object.entries(after)) {
        if (content !== '/' || backedUp[path] === '/') continue;
        expect(Object.keys(excludedBefore).some((excluded) => excluded.startsWith(`${path}/`)), `${context}: ${path} kept`).to.equal(true);
      }
      for (const [path, content] of Object.entries(backedUp)) if (content === '/') expect(after[path], `${context}: ${path}`).to.equal('/');
      expect(await snapshotOf(root, (path) => isExcluded(path, exclude)), context).to.deep.equal(excludedBefore);
    }
    expect(deleted, 'the rounds deleted something').to.be.greaterThan(20);
  });

  it('restores an earlier point of a chain: files made after it go, in a tree restored elsewhere too', async () => {
    const root = await tempDir();
    await writeTree(root, { 'site/a.txt': 'a', 'site/b.txt': 'b' });
    const options = { sources: ['site'], cwd: root, out: join(root, 'backups') };
    const full = await createBackup({ ...options, name: 'full' });
    await writeTree(root, { 'site/c.txt': 'c', 'site/a.txt': 'a2' });
    await createBackup({ ...options, name: 'inc', kind: 'incremental' });
    // The live tree as it was after the incremental, copied elsewhere; roll it back to the full.
    const deploy = await tempDir();
    await run('cp', ['-a', join(root, 'site'), deploy]);
    const result = await restoreBackup(full.manifestPath, { to: deploy, overwrite: true, delete: true });
    expect(result.ok, JSON.stringify(result.failures)).to.equal(true);
    expect(result.deleted).to.deep.equal(['site/c.txt']);
    const restoredFull = await tempDir();
    await restoreBackup(full.manifestPath, { to: restoredFull });
    expect(await snapshotTree(deploy)).to.deep.equal(await snapshotTree(restoredFull));
  });

  it('a backup of the whole folder it lies in: its own backups stay, and those at the same place in another target', async () => {
    const root = await tempDir();
    await writeTree(root, { 'a.txt': 'a' });
    const made = await createBackup({ sources: ['.'], cwd: root, out: join(root, 'backups'), name: 'first' });
    const second = await createBackup({ sources: ['.'], cwd: root, out: join(root, 'backups'), name: 'second' });
    await writeTree(root, { 'b.txt': 'b' });
    const here = await restoreBackup(made.manifestPath, { to: root, overwrite: true, delete: true });
    expect(here.deleted).to.deep.equal(['b.txt']);
    expect(existsSync(second.manifestPath)).to.equal(true);

    const other = await tempDir();
    await writeTree(other, { 'backups/theirs.manifest.jsonl': '{}', 'c.txt': 'c' });
    const there = await restoreBackup(made.manifestPath, { to: other, overwrite: true, delete: true });
    expect(there.deleted).to.deep.equal(['c.txt']);
    expect(existsSync(join(other, 'backups/theirs.manifest.jsonl'))).to.equal(true);
  });

  it('with include, deletes only what the patterns match', async () => {
    const root = await tempDir();
    await writeTree(root, { 'site/css/a.css': 'a', 'site/js/a.js': 'a' });
    const made = await createBackup({ sources: ['site'], cwd: root, out: join(root, 'backups') });
    await writeTree(root, { 'site/css/new.css': 'n', 'site/js/new.js': 'n' });
    const result = await restoreBackup(made.manifestPath, { to: root, overwrite: true, delete: true, include: ['site/css'] });
    expect(result.ok, JSON.stringify(result.failures)).to.equal(true);
    expect(result.deleted).to.deep.equal(['site/css/new.css']);
    expect(existsSync(join(root, 'site/js/new.js'))).to.equal(true);
  });

  it('nothing beyond a symlink is looked at, also when the backup followed symlinks', async () => {
    const root = await tempDir();
    const elsewhere = await tempDir();
    await writeTree(elsewhere, { 'precious.txt': 'not in any backup' });
    await writeTree(root, { 'site/a.txt': 'a' });
    const made = await createBackup({ sources: ['site'], cwd: root, out: join(root, 'backups'), followSymlinks: true });
    await symlink(elsewhere, join(root, 'site/linked'));
    const result = await restoreBackup(made.manifestPath, { to: root, overwrite: true, delete: true });
    expect(result.ok, JSON.stringify(result.failures)).to.equal(true);
    expect(result.deleted).to.deep.equal(['site/linked']);
    expect(await readFile(join(elsewhere, 'precious.txt'), 'utf8')).to.equal('not in any backup');
  });

  it('a restore with failures deletes nothing, and says so', async () => {
    const root = await tempDir();
    await writeTree(root, { 'site/a.txt': 'a', 'site/b.txt': 'b' });
    const options = { sources: ['site'], cwd: root, out: join(root, 'backups') };
    const full = await createBackup({ ...options, name: 'full' });
    await writeTree(root, { 'site/c.txt': 'c' });
    const inc = await createBackup({ ...options, name: 'inc', kind: 'incremental' });
    await writeTree(root, { 'site/d.txt': 'made after both' });
    await rm(full.archivePath); // a.txt and b.txt lie there
    const result = await restoreBackup(inc.manifestPath, { to: root, overwrite: true, delete: true });
    expect(result.ok).to.equal(false);
    expect(result.failures.map((f) => f.path)).to.include.members(['site/a.txt', 'site/b.txt']);
    expect(result.deleted).to.deep.equal([]);
    expect(result.warnings.join('\n')).to.match(/nothing was deleted \(--delete\): 2 entries failed to restore/);
    expect(await readFile(join(root, 'site/d.txt'), 'utf8')).to.equal('made after both');
  });

  it('is refused before anything is written without overwrite, for an archive alone, and for a backup() plugin backup', async () => {
    const root = await tempDir();
    await writeTree(root, { 'site/a.txt': 'a' });
    const made = await createBackup({ sources: ['site'], cwd: root, out: join(root, 'backups') });
    const target = await tempDir();
    await writeTree(target, { 'site/extra.txt': 'stays' });

    const withoutOverwrite = await failure(restoreBackup(made.manifestPath, { to: target, delete: true }));
    expect(withoutOverwrite.code).to.equal('INVALID_OPTION');
    expect(withoutOverwrite.message).to.match(/pass --overwrite \(overwrite: true\) with it/);

    const tarball = join(root, 'other.tar.gz');
    await run('tar', ['-czf', tarball, '-C', root, 'site']);
    const foreign = await failure(restoreBackup(tarball, { to: target, overwrite: true, delete: true }));
    expect(foreign.code).to.equal('INVALID_OPTION');
    expect(foreign.message).to.match(/read without a manifest.*nothing was restored/);

    const pluginOut = join(root, 'plugin-out');
    await pipeline(gulp.src('site/**', { cwd: root, read: false }), backup({ name: 'p' }), gulp.dest(pluginOut));
    const plugin = await failure(restoreBackup(join(pluginOut, 'p.manifest.jsonl'), { to: target, overwrite: true, delete: true }));
    expect(plugin.code).to.equal('INVALID_OPTION');
    expect(plugin.message).to.match(/records no sources \(a backup made by the backup\(\) plugin/);

    expect(await snapshotTree(target)).to.have.keys(['site', 'site/extra.txt']);
  });

  it('previewRestore (restore --dry-run) names what a restore would write, replace and delete, and changes nothing', async () => {
    const root = await project();
    const made = await createBackup({ sources: ['dist'], exclude: ['*.log'], cwd: root, out: join(root, 'backups') });
    await writeTree(root, { 'dist/index.html': 'v2', 'dist/new/chunk.js': 'new', 'dist/cache/x.log': 'excluded' });
    const before = await snapshotTree(root);
    const preview = await previewRestore(made.manifestPath, { to: root, overwrite: true, delete: true });
    expect(await snapshotTree(root)).to.deep.equal(before);
    expect(preview.restore.map((entry) => entry.path)).to.deep.equal(['dist', 'dist/app.js', 'dist/img', 'dist/img/logo.svg', 'dist/index.html']);
    expect(preview.replace).to.deep.equal(['dist/app.js', 'dist/img/logo.svg', 'dist/index.html']);
    expect(preview.warnings.join('\n')).to.match(/1 folder not in the backup would be kept \(dist\/cache\)/);
    // Exactly what the restore then deletes.
    const restored = await restoreBackup(made.manifestPath, { to: root, overwrite: true, delete: true });
    expect(preview.delete).to.deep.equal(['dist/new', 'dist/new/chunk.js']);
    expect(restored.deleted).to.deep.equal(preview.delete);

    // Into a folder that does not exist: nothing made; stripped paths; an archive alone is read for its headers.
    const nowhere = join(await tempDir(), 'not-made');
    const stripped = await previewRestore(made.manifestPath, { to: nowhere, stripComponents: 1 });
    expect(stripped.restore.map((entry) => entry.path)).to.deep.equal(['app.js', 'img', 'img/logo.svg', 'index.html']);
    expect(existsSync(nowhere)).to.equal(false);
    const tarball = join(root, 'site.tar.gz');
    await run('tar', ['-czf', tarball, '-C', root, 'dist']);
    expect((await previewRestore(tarball, { to: nowhere })).restore.map((entry) => entry.path)).to.include('dist/debug.log');
    const foreign = await previewRestore(tarball, { to: root });
    expect(foreign.skipped.map((skip) => skip.reason)).to.include('dist/index.html exists; pass --overwrite (overwrite: true) to replace it');

    const cli = await runCli(['restore', made.manifestPath, '-t', root, '--dry-run', '--overwrite', '--delete']);
    expect(cli.code, cli.stderr).to.equal(0);
    expect(cli.stdout).to.match(/^Dry run, nothing written: would restore into .*: 3 files \(\d+ B\), 2 folders, 0 links\n {2}would replace 3 entries that exist in the target \(--overwrite\)\n/);
    const refused = await failure(restoreBackup(made.manifestPath, { to: root, dryRun: true } as never));
    expect(refused.message).to.match(/restoreBackup\(\) always writes; a dry run is previewRestore\(path, options\)/);
  });

  it('restoreTask takes it; the CLI says what it deleted, lists it in --json, and refuses --delete alone (exit 2)', async () => {
    const root = await tempDir();
    await writeTree(root, { 'site/a.txt': 'a' });
    const made = await createBackup({ sources: ['site'], cwd: root, out: join(root, 'backups') });
    await mkdir(join(root, 'site/new'));
    await writeFile(join(root, 'site/new/x.txt'), 'x');
    const preview = await restoreTask(made.manifestPath, { to: root, overwrite: true, delete: true, dryRun: true })();
    expect(preview.delete).to.deep.equal(['site/new', 'site/new/x.txt']);
    expect(existsSync(join(root, 'site/new/x.txt'))).to.equal(true);
    await restoreTask(made.manifestPath, { to: root, overwrite: true, delete: true })();
    expect(existsSync(join(root, 'site/new'))).to.equal(false);

    await writeFile(join(root, 'site/b.txt'), 'b');
    const alone = await runCli(['restore', made.manifestPath, '-t', root, '--delete']);
    expect(alone.code).to.equal(2);
    expect(alone.stderr).to.match(/pass --overwrite/);
    const text = await runCli(['restore', made.manifestPath, '-t', root, '--overwrite', '--delete']);
    expect(text.code, text.stderr).to.equal(0);
    expect(text.stdout).to.match(/; deleted 1 entry not in the backup\n/);
    expect(text.stdout).to.include('  deleted site/b.txt: not in the backup');

    await writeFile(join(root, 'site/c.txt'), 'c');
    const json = await runCli(['restore', made.manifestPath, '-t', root, '--overwrite', '--delete', '--json']);
    expect(JSON.parse(json.stdout)).to.deep.include({ ok: true, deleted: ['site/c.txt'] });
  });
});

/** Whether a stored path lies under an exclude pattern of the kinds the random test uses. */
function isExcluded(path: string, exclude: string[]): boolean {
  const parts = path.split('/');
  return (exclude.includes('*.log') && parts.some((part) => part.endsWith('.log'))) || parts.includes('node_modules');
}

/** The files and folders under `root/tree` that `keep` keeps, with their content (files) or `/` (folders). */
async function snapshotOf(root: string, keep: (path: string) => boolean): Promise<Record<string, string>> {
  const found: Record<string, string> = {};
  const walk = async (relative: string): Promise<void> => {
    for (const entry of await readdir(join(root, relative), { withFileTypes: true })) {
      const path = `${relative}/${entry.name}`;
      if (entry.isDirectory()) {
        if (keep(path)) found[path] = '/';
        await walk(path);
      } else if (keep(path)) found[path] = await readFile(join(root, path), 'utf8');
    }
  };
  if (existsSync(join(root, 'tree'))) await walk('tree');
  return found;
}
