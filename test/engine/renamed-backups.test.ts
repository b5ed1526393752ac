/**
 * Backups whose files were renamed or copied (`backup-….*` → `predeploy.*`): a name is a hint, the
 * recorded sizes and SHA-256s are the identity. A renamed backup is no damaged one, a renamed parent
 * no broken chain, and pruning a copy never removes the files the original reads.
 */
import { copyFile, readFile, readdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'chai';
import { createBackup, pruneBackups, restoreBackup, verifyBackup } from '../../src/index.js';
import { runCli } from '../helpers/cli.js';
import { snapshotTree, tempDir, writeTree } from '../helpers/tree.js';

/** Renames every file of a backup (`from.*` → `to.*`), as a user renames them with `mv`. */
async function renameBackup(folder: string, from: string, to: string): Promise<void> {
  for (const name of await readdir(folder)) if (name.startsWith(`${from}.`)) await rename(join(folder, name), join(folder, to + name.slice(from.length)));
}

describe('engine: renamed and copied backups', function () {
  this.timeout(60_000);

  it('a backup whose files were renamed together verifies, restores and is found from its archive', async () => {
    const root = await tempDir();
    await writeTree(root, { 'src/a.txt': 'alpha', 'src/lib/b.bin': Buffer.alloc(70_000, 7) });
    const out = join(root, 'out');
    const made = await createBackup({ cwd: root, sources: 'src', out, name: 'backup-20261201-120000', codec: 'none' });
    expect(made.archivePath.endsWith('.tar')).to.equal(true);
    await renameBackup(out, 'backup-20261201-120000', 'predeploy');

    const report = await verifyBackup(join(out, 'predeploy.manifest.jsonl'));
    expect(report.problems).to.deep.equal([]);
    expect(report.ok).to.equal(true);
    expect(report.archivePath).to.equal(join(out, 'predeploy.tar'));
    // Named by its archive, the backup is still checked against its manifest.
    const byArchive = await verifyBackup(join(out, 'predeploy.tar'));
    expect(byArchive.hashesChecked).to.equal(true);
    expect(byArchive.ok).to.equal(true);

    const target = await tempDir();
    const restored = await restoreBackup(out, { to: target });
    expect(restored.failures).to.deep.equal([]);
    expect(await snapshotTree(join(target, 'src'))).to.deep.equal(await snapshotTree(join(root, 'src')));
  });

  it('an archive renamed to another file of another size is not taken for the backup’s: reported missing, as before', async () => {
    const root = await tempDir();
    await writeTree(root, { 'src/a.txt': 'alpha' });
    const out = join(root, 'out');
    await createBackup({ cwd: root, sources: 'src', out, name: 'first' });
    await rename(join(out, 'first.manifest.jsonl'), join(out, 'second.manifest.jsonl'));
    await rename(join(out, 'first.tar.gz'), join(out, 'gone.tar.gz'));
    await writeFile(join(out, 'second.tar.gz'), 'not the archive');
    const report = await verifyBackup(join(out, 'second.manifest.jsonl'));
    expect(report.ok).to.equal(false);
    expect(report.archivePath).to.equal(join(out, 'first.tar.gz'));
    expect(report.counts.missing).to.equal(report.counts.entries);
  });

  it('a renamed parent is found by its id and proven by its SHA-256: the chain is whole, and grows', async () => {
    const root = await tempDir();
    const out = join(root, 'out');
    await writeTree(root, { 'src/a.txt': 'a1', 'src/b.txt': 'b1' });
    await createBackup({ cwd: root, sources: 'src', out, name: 'full' });
    await writeTree(root, { 'src/a.txt': 'a2' });
    await createBackup({ cwd: root, sources: 'src', out, name: 'inc1', kind: 'incremental' });
    await renameBackup(out, 'full', 'base');

    const report = await verifyBackup(join(out, 'inc1.manifest.jsonl'));
    expect(report.problems).to.deep.equal([]);
    expect(report.ok).to.equal(true);
    await writeTree(root, { 'src/c.txt': 'c3' });
    const next = await createBackup({ cwd: root, sources: 'src', out, name: 'inc2', kind: 'incremental' });
    expect(next.kind).to.equal('incremental');
    const target = await tempDir();
    expect((await restoreBackup(next.manifestPath, { to: target })).ok).to.equal(true);
    expect(await snapshotTree(join(target, 'src'))).to.deep.equal(await snapshotTree(join(root, 'src')));

    // A manifest of that id that is not the recorded one (edited) proves nothing: the chain stays broken.
    await renameBackup(out, 'base', 'edited');
    const edited = join(out, 'edited.manifest.jsonl');
    const text = await readFile(edited, 'utf8');
    expect(text).to.include('"name":"gulp-backup","version":"');
    await writeFile(edited, text.replace('"name":"gulp-backup","version":"', '"name":"gulp-backup","version":"9'));
    const broken = await verifyBackup(join(out, 'inc1.manifest.jsonl'));
    expect(broken.ok).to.equal(false);
    expect(broken.problems.join('\n')).to.match(/broken chain: .*full\.manifest\.jsonl is missing/);
  });

  it('pruning a copy of a backup removes the copy’s files only, never the archive the original reads', async () => {
    const root = await tempDir();
    const out = join(root, 'out');
    await writeTree(root, { 'src/a.txt': 'a' });
    await createBackup({ cwd: root, sources: 'src', out, name: 'a1' });
    await new Promise((resolve) => setTimeout(resolve, 20));
    await createBackup({ cwd: root, sources: 'src', out, name: 'a2' });
    // A copy of the old one's manifest alone (it reads a1.tar.gz), and of the new one whole.
    await copyFile(join(out, 'a1.manifest.jsonl'), join(out, 'copy1.manifest.jsonl'));
    await copyFile(join(out, 'a2.manifest.jsonl'), join(out, 'z2.manifest.jsonl'));
    await copyFile(join(out, 'a2.tar.gz'), join(out, 'z2.tar.gz'));
    expect((await verifyBackup(join(out, 'copy1.manifest.jsonl'))).ok).to.equal(true);

    const preview = await pruneBackups(out, { keepLast: 1, dryRun: true });
    const result = await pruneBackups(out, { keepLast: 1 });
    expect(result.freedBytes).to.equal(preview.freedBytes);
    expect(result.kept.map((b) => b.manifest).sort()).to.deep.equal(['a2.manifest.jsonl', 'z2.manifest.jsonl']);
    expect(result.removed.map((b) => b.manifest).sort()).to.deep.equal(['a1.manifest.jsonl', 'copy1.manifest.jsonl']);
    expect((await readdir(out)).sort()).to.deep.equal(['a2.manifest.jsonl', 'a2.tar.gz', 'a2.tar.gz.sha256', 'z2.manifest.jsonl', 'z2.tar.gz']);
    // The copy reads its own archive: removing it leaves the original whole, and the other way round.
    expect((await verifyBackup(join(out, 'z2.manifest.jsonl'))).archivePath).to.equal(join(out, 'z2.tar.gz'));
    expect((await verifyBackup(join(out, 'a2.manifest.jsonl'))).ok).to.equal(true);
  });

  it('gulp-backup ls and verify on a folder of renamed backups say nothing is wrong', async () => {
    const root = await tempDir();
    const out = join(root, 'out');
    await writeTree(root, { 'src/a.txt': 'a' });
    await createBackup({ cwd: root, sources: 'src', out, name: 'backup-1' });
    await writeTree(root, { 'src/b.txt': 'b' });
    await createBackup({ cwd: root, sources: 'src', out, name: 'backup-2', kind: 'incremental' });
    await renameBackup(out, 'backup-1', 'monday');
    await renameBackup(out, 'backup-2', 'tuesday');
    const verified = await runCli(['verify', out, '-q']);
    expect(verified.stderr).to.equal('');
    expect(verified.code).to.equal(0);
    const listed = await runCli(['ls', out]);
    expect(listed.code).to.equal(0);
    expect(listed.stdout).to.match(/tuesday\.manifest\.jsonl\s+← monday\.manifest\.jsonl/);
  });
});
