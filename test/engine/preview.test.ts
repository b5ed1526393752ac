/** Dry runs: what a backup would store, take from the chain and leave out (and by which rule), with nothing written. */
import { utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'chai';
import { backupTask, createBackup, previewBackup } from '../../src/index.js';
import { runCli } from '../helpers/cli.js';
import { listFolder } from '../helpers/archive.js';
import { pseudoRandomBytes, tempDir, writeTree } from '../helpers/tree.js';

describe('engine: dry runs (previewBackup, --dry-run, backupTask dryRun)', () => {
  it('lists what would be stored and what each rule leaves out, and writes nothing', async () => {
    const root = await tempDir();
    await writeTree(root, { 'src/a.js': 'a', 'src/debug.log': 'log', 'src/.env': 'secret', 'src/big.bin': pseudoRandomBytes(3000) });
    const out = join(root, 'out');
    const preview = await previewBackup({ cwd: root, sources: 'src', out, exclude: '*.log', dot: false, maxFileSize: 1000 });
    expect(preview.kind).to.equal('full');
    expect(preview.store.map((entry) => entry.path)).to.deep.equal(['src', 'src/a.js']);
    expect(preview.leftOut).to.have.deep.members([
      { path: 'src/debug.log', rule: 'exclude pattern *.log' },
      { path: 'src/.env', rule: 'a dot name (dot: false)' },
      { path: 'src/big.bin', rule: 'larger than maxFileSize (3000 > 1000 bytes)' },
    ]);
    expect(await listFolder(root)).to.deep.equal(['src']);
    const cli = await runCli(['create', 'src', '--cwd', root, '--out', out, '--dry-run', '--exclude', '*.log']);
    expect(cli.code).to.equal(0);
    expect(cli.stdout).to.match(/^Dry run, nothing written: a full backup\n {2}would store 3 files \(2\.9 KB\) and 1 other entry; 0 unchanged .*; 1 left out\n/);
    expect(cli.stdout).to.match(/^ {2}left out src\/debug\.log: exclude pattern \*\.log$/m);
    const json = await runCli(['create', 'src', '--cwd', root, '--out', out, '--dry-run', '--json']);
    expect(JSON.parse(json.stdout)).to.include({ event: 'dry-run', kind: 'full' });
    expect(await listFolder(root)).to.deep.equal(['src']);
    const task = await backupTask({ cwd: root, sources: 'src', out, dryRun: true })();
    expect(task.store.length).to.equal(5);
    expect(await listFolder(root)).to.deep.equal(['src']);
  });

  it('an incremental dry run names the files the chain holds, as the real run then stores them', async () => {
    const root = await tempDir();
    await writeTree(root, { 'site/a.txt': 'a', 'site/b.txt': 'b' });
    for (const name of ['a.txt', 'b.txt']) await utimes(join(root, 'site', name), 1_600_000_000, 1_600_000_000);
    const out = join(root, 'out');
    const full = await createBackup({ cwd: root, sources: 'site', out });
    await writeFile(join(root, 'site/b.txt'), 'b, changed');
    const preview = await previewBackup({ cwd: root, sources: 'site', out, kind: 'incremental' });
    expect(preview.parent).to.deep.equal({ id: full.id, manifestPath: full.manifestPath });
    expect(preview.unchanged).to.deep.equal([{ path: 'site/a.txt', size: 1, heldBy: full.id }]);
    expect(preview.store.filter((entry) => entry.type === 'file').map((entry) => entry.path)).to.deep.equal(['site/b.txt']);
    const real = await createBackup({ cwd: root, sources: 'site', out, kind: 'incremental' });
    expect(real.changes).to.deep.include({ changed: 1, unchanged: 1 });
    const refused = await createBackup({ cwd: root, sources: 'site', out, dryRun: true } as never).then(() => new Error('expected a rejection'), (error: unknown) => error as Error);
    expect(refused.message).to.match(/createBackup\(\) always writes; a dry run is previewBackup\(options\)/);
  });
});
