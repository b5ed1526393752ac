/**
 * A file system that ignores case and Unicode form (macOS's APFS, Windows' NTFS by default), a
 * real one mounted through FUSE. Restoring onto it: two names of a backup that are one name there
 * must not replace each other unseen, and a rollback must not delete what it restored under the
 * target's spelling of a folder. Backing up on it: the output folder spelt otherwise is still the
 * output folder.
 */
import { expect } from 'chai';
import { existsSync } from 'node:fs';
import { link, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import gulp from 'gulp';
import { backup, createBackup, previewRestore, restoreBackup, verifyBackup } from '../../src/index.js';
import { loadManifest } from '../helpers/archive.js';
import { mountCaseInsensitive, type MountedFolder } from '../helpers/case-insensitive-fs.js';
import { craftTarGz } from '../helpers/craft-tar.js';
import { tempDir, writeTree } from '../helpers/tree.js';

const composed = 'caf\u00e9';
const decomposed = 'cafe\u0301';

describe('a case-insensitive file system: restore onto it, back up on it', function () {
  this.timeout(120_000);
  let fold: MountedFolder;
  let folded = 0; // targets made on the mount, each its own folder
  const foldedTarget = () => join(fold.path, `target-${++folded}`);

  before(async () => {
    fold = await mountCaseInsensitive();
  });
  after(async () => {
    await fold.unmount();
  });

  /** A backup of names that differ only in case or Unicode form, as a Linux tree may hold. */
  async function namesThatFold(): Promise<string> {
    const root = await tempDir();
    await writeTree(root, {
      'src/README': 'upper',
      'src/readme': 'lower',
      'src/Docs/a': 'Docs/a',
      'src/docs/a': 'docs/a',
      'src/docs/b': 'docs/b',
      [`src/${composed}`]: 'composed',
      [`src/${decomposed}`]: 'decomposed',
      'src/Notes': 'a file',
      'src/notes/x': 'in a folder of the same name',
    });
    return (await createBackup({ sources: ['src'], cwd: root, out: join(root, 'backups') })).manifestPath;
  }

  it('the mount is what the tests need: one file under two spellings', async () => {
    const target = foldedTarget();
    await writeTree(target, { README: 'one file' });
    expect(await readFile(join(target, 'readme'), 'utf8')).to.equal('one file');
    expect(await readdir(target)).to.deep.equal(['README']);
  });

  it('names that are one name there: the first is kept, each later one is named as not restored, none replaced unseen', async () => {
    const manifest = await namesThatFold();
    const target = foldedTarget();
    const result = await restoreBackup(manifest, { to: target });
    expect(result.ok).to.equal(false);
    const failures = new Map(result.failures.map((failure) => [failure.path.normalize('NFC') === `src/${composed}` ? 'src/café (a form)' : failure.path, failure.reason]));
    expect([...failures.keys()].sort()).to.deep.equal(['src/café (a form)', 'src/docs/a', 'src/notes', 'src/notes/x', 'src/readme']);
    expect(failures.get('src/readme')).to.match(/^src\/readme and src\/README, restored before it, are one name on the target's file system: it ignores case, as macOS and Windows do by default\. src\/README was kept/);
    expect(failures.get('src/café (a form)')).to.match(/\(restored before it; the same letters in another Unicode form\) are one name on the target's file system: it ignores the Unicode form/);
    expect(failures.get('src/notes/x'), 'a folder where a file of its name was restored').to.match(/^src\/notes and src\/Notes, restored before it, are one name/);
    expect(await readFile(join(target, 'src/README'), 'utf8')).to.equal('upper');
    expect(await readFile(join(target, 'src/Docs/a'), 'utf8')).to.equal('Docs/a');
    expect(await readFile(join(target, 'src/docs/b'), 'utf8'), 'a folder under two spellings holds the files of both').to.equal('docs/b');
    expect(await readFile(join(target, 'src/Notes'), 'utf8')).to.equal('a file');
    expect((await readdir(join(target, 'src'))).sort()).to.have.lengthOf(4);
    expect(result.restored.files).to.equal(5);

    // With overwrite, a name this run gave is not replaced by another spelling of it either (a
    // file by a folder of its name was removed to make way).
    const again = await restoreBackup(manifest, { to: target, overwrite: true });
    expect(again.failures.map((failure) => failure.path)).to.have.lengthOf(5);
    expect(await readFile(join(target, 'src/README'), 'utf8')).to.equal('upper');
    expect(await readFile(join(target, 'src/Notes'), 'utf8')).to.equal('a file');
  });

  it('a dry run names what the restore will refuse there, from what the names around the target show (it said all would be restored)', async () => {
    const manifest = await namesThatFold();
    const sameName = (reason: string) => / are one name on the target's file system/.test(reason);
    const predicted = async (target: string) =>
      (await previewRestore(manifest, { to: target })).skipped.filter((skipped) => sameName(skipped.reason)).map((skipped) => `${skipped.path}: ${skipped.reason}`);
    const refused = async (target: string) =>
      (await restoreBackup(manifest, { to: target })).failures.filter((failure) => sameName(failure.reason)).map((failure) => `${failure.path}: ${failure.reason}`);

    // A new folder on the mount, beside folders of ASCII names: case is shown, the Unicode form is not.
    const first = foldedTarget();
    const caseOnly = await predicted(first);
    const made = await refused(first);
    expect(caseOnly).to.have.lengthOf(4);
    expect(made).to.have.lengthOf(5);
    expect(made).to.include.members(caseOnly);
    // An empty folder, once a name beside it shows that the file system folds Unicode forms too: all of them.
    await writeFile(join(fold.path, `${composed}.txt`), 'shows the form');
    const second = foldedTarget();
    await mkdir(second);
    expect(await predicted(second)).to.deep.equal(await refused(second));
  });

  it('a dry run on a file system that tells names apart predicts no refusal, and does not fail on a file where the backup has a folder (it crashed with ENOTDIR)', async () => {
    const manifest = await namesThatFold();
    const target = join(await tempDir(), 'target');
    await writeTree(target, { 'src/docs': 'a file where the backup has a folder' });
    const preview = await previewRestore(manifest, { to: target, overwrite: true });
    expect(preview.skipped).to.deep.equal([]);
    expect(preview.replace).to.deep.equal(['src/docs']);
    expect(preview.restore.map((entry) => entry.path)).to.include.members(['src/docs', 'src/docs/a', 'src/docs/b', 'src/readme', 'src/README']);
    const result = await restoreBackup(manifest, { to: target, overwrite: true });
    expect(result.failures).to.deep.equal([]);
    expect(await readFile(join(target, 'src/docs/b'), 'utf8')).to.equal('docs/b');

    // Two spellings that are hard links to one file are two names listed, not one name folded.
    const linked = join(await tempDir(), 'linked');
    await writeTree(linked, { NOTE: 'one file, two names' });
    await link(join(linked, 'NOTE'), join(linked, 'note'));
    expect((await previewRestore(manifest, { to: linked })).skipped).to.deep.equal([]);
  });

  it('on a file system that tells them apart, every name is restored (no false alarm)', async () => {
    const manifest = await namesThatFold();
    const target = join(await tempDir(), 'target');
    const result = await restoreBackup(manifest, { to: target });
    expect(result.failures).to.deep.equal([]);
    expect(await readFile(join(target, 'src/readme'), 'utf8')).to.equal('lower');
    expect(await readFile(join(target, `src/${decomposed}`), 'utf8')).to.equal('decomposed');
    expect(await readFile(join(target, 'src/notes/x'), 'utf8')).to.equal('in a folder of the same name');
  });

  it("nothing is written through a symlink restored earlier under another spelling of a folder's name (node-tar's case and Unicode twins)", async () => {
    const archive = join(await tempDir(), 'twins.tar.gz');
    await writeFile(
      archive,
      craftTarGz([
        { path: 'real', type: 'Directory' },
        { path: 'Caf\u00e9', type: 'SymbolicLink', linkpath: 'real' },
        { path: 'Cafe\u0301/nfd.txt', body: 'through an NFD twin' },
        { path: 'caf\u00e9/lower.txt', body: 'through a lower-case twin' },
      ]),
    );
    const target = foldedTarget();
    const result = await restoreBackup(archive, { to: target, overwrite: true });
    expect(result.failures.map((failure) => [failure.path, failure.reason])).to.deep.equal([
      ['Cafe\u0301/nfd.txt', 'Cafe\u0301 is a symlink restored earlier; nothing is written through it'],
      ['caf\u00e9/lower.txt', 'caf\u00e9 is a symlink restored earlier; nothing is written through it'],
    ]);
    expect(await readdir(join(target, 'real'))).to.deep.equal([]);
    expect((await readdir(target)).sort()).to.deep.equal(['Caf\u00e9', 'real']);
  });

  /** A backup of `src/Components/`, and a target where that folder was since renamed `components/`. */
  async function renamedFolder(target: string): Promise<string> {
    const root = await tempDir();
    await writeTree(root, { 'src/Components/Button.js': 'v1', 'src/Components/Card.js': 'v1', 'src/index.js': 'v1' });
    const manifest = (await createBackup({ sources: ['src'], cwd: root, out: join(root, 'backups') })).manifestPath;
    await writeTree(target, { 'src/components/Button.js': 'v2', 'src/components/Modal.js': 'added since', 'src/index.js': 'v2' });
    return manifest;
  }

  it("a rollback (overwrite, delete) into a folder the target spells otherwise restores the files and deletes only what the backup lacks (it deleted the folder it had just restored)", async () => {
    const target = foldedTarget();
    const manifest = await renamedFolder(target);
    const preview = await previewRestore(manifest, { to: target, overwrite: true, delete: true });
    expect(preview.delete).to.deep.equal(['src/components/Modal.js']);

    const result = await restoreBackup(manifest, { to: target, overwrite: true, delete: true });
    expect(result.ok, JSON.stringify(result.failures)).to.equal(true);
    expect(result.deleted).to.deep.equal(['src/components/Modal.js']);
    expect(await readdir(join(target, 'src'))).to.have.members(['components', 'index.js']);
    expect(await readFile(join(target, 'src/components/Button.js'), 'utf8')).to.equal('v1');
    expect(await readFile(join(target, 'src/components/Card.js'), 'utf8')).to.equal('v1');
    const verified = await verifyBackup(manifest, { source: target });
    expect(verified.source).to.deep.include({ changed: [], missing: [], new: [] });
  });

  it('on a file system that tells them apart, the other spelling is another folder, and goes', async () => {
    const target = join(await tempDir(), 'target');
    const manifest = await renamedFolder(target);
    await writeTree(target, { 'src/INDEX.js': { hardlinkTo: 'src/index.js' } });
    const result = await restoreBackup(manifest, { to: target, overwrite: true, delete: true });
    expect(result.ok, JSON.stringify(result.failures)).to.equal(true);
    expect(result.deleted, 'a hard link under another spelling is a name of its own').to.deep.equal(['src/INDEX.js', 'src/components', 'src/components/Button.js', 'src/components/Modal.js']);
    expect(await readFile(join(target, 'src/Components/Button.js'), 'utf8')).to.equal('v1');
    expect(existsSync(join(target, 'src/components'))).to.equal(false);
  });
  it("an output folder spelt otherwise (--out Backups, the tree's backups/) is the output folder: earlier backups are not backed up again, by the engine or the plugin", async () => {
    const tree = foldedTarget();
    await writeTree(tree, { 'a.txt': 'a', 'backups/old.tar.gz': 'earlier backup' });
    const out = join(tree, 'Backups');
    const result = await createBackup({ sources: ['.'], cwd: tree, out, name: 'engine' });
    expect((await loadManifest(result.manifestPath)).entries.map((entry) => entry.path)).to.deep.equal(['a.txt']);
    expect(result.statistics.leftOut?.output).to.equal(1);
    await pipeline(gulp.src('**', { cwd: tree, read: false, encoding: false, dot: true, resolveSymlinks: false }), backup({ out, name: 'plugin' }));
    expect((await loadManifest(join(out, 'plugin.manifest.jsonl'))).entries.map((entry) => entry.path)).to.deep.equal(['a.txt']);
  });

  it('on a file system that tells them apart, Backups/ and backups/ are two folders: the other one is backed up', async () => {
    const tree = await tempDir();
    await writeTree(tree, { 'a.txt': 'a', 'backups/old.tar.gz': 'not this backup\'s folder' });
    const result = await createBackup({ sources: ['.'], cwd: tree, out: join(tree, 'Backups'), name: 'engine' });
    expect((await loadManifest(result.manifestPath)).entries.map((entry) => entry.path)).to.deep.equal(['a.txt', 'backups', 'backups/old.tar.gz']);
  });
});
