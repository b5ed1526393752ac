/** A fixed-name snapshot (predeploy) replaced in place: the old one stays whole until the new one is. */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'chai';
import { createBackup, verifyBackup, type BackupError } from '../../src/index.js';
import { runCli } from '../helpers/cli.js';
import { listFolder, loadManifest } from '../helpers/archive.js';
import { tempDir, writeTree } from '../helpers/tree.js';

describe('engine: replace (a snapshot with a fixed name)', () => {
  it('a taken name is an error that names --replace; with it, the new backup takes the name, whole', async () => {
    const root = await tempDir();
    await writeTree(root, { 'site/index.html': 'v1' });
    const out = join(root, 'out');
    const first = await createBackup({ cwd: root, sources: 'site', out, name: 'predeploy' });
    const taken = await createBackup({ cwd: root, sources: 'site', out, name: 'predeploy' }).catch((error: unknown) => error as BackupError);
    expect(taken).to.have.property('code', 'OUTPUT_EXISTS');
    expect((taken as Error).message).to.match(/Pass --replace \(replace: true\)/);
    await writeFile(join(root, 'site/index.html'), 'v2, longer');
    const second = await createBackup({ cwd: root, sources: 'site', out, name: 'predeploy', replace: true });
    expect(second.id).to.not.equal(first.id);
    expect(await listFolder(out)).to.deep.equal(['predeploy.manifest.jsonl', 'predeploy.tar.gz', 'predeploy.tar.gz.sha256']);
    expect((await loadManifest(second.manifestPath)).header.id).to.equal(second.id);
    expect((await verifyBackup(second.manifestPath)).ok).to.equal(true);
    const cli = await runCli(['create', 'site', '--cwd', root, '--out', out, '--name', 'predeploy', '--replace', '--codec', 'none', '-q']);
    expect(cli.code, cli.stderr).to.equal(0);
    // The other codec's archive of that name went with the old backup.
    expect(await listFolder(out)).to.deep.equal(['predeploy.manifest.jsonl', 'predeploy.tar', 'predeploy.tar.sha256']);
    expect(await readFile(join(out, 'predeploy.tar.sha256'), 'utf8')).to.match(/ {2}predeploy\.tar\n$/);
  });

  it('a backup that others build on is not replaced, and stays as it was', async () => {
    const root = await tempDir();
    await writeTree(root, { 'site/a.txt': 'a' });
    const out = join(root, 'out');
    const base = await createBackup({ cwd: root, sources: 'site', out, name: 'base' });
    await writeFile(join(root, 'site/b.txt'), 'b');
    await createBackup({ cwd: root, sources: 'site', out, name: 'next', kind: 'incremental' });
    const refused = await createBackup({ cwd: root, sources: 'site', out, name: 'base', replace: true }).catch((error: unknown) => error as BackupError);
    expect(refused).to.have.property('code', 'OUTPUT_EXISTS');
    expect((refused as Error).message).to.match(/^base\.manifest\.jsonl is not replaced: next\.manifest\.jsonl builds on it/);
    expect((await loadManifest(base.manifestPath)).header.id).to.equal(base.id);
    expect((await listFolder(out)).filter((name) => name.includes('partial') || name.includes('lock'))).to.deep.equal([]);
  });
});
