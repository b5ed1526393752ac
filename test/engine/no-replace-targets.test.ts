/**
 * Restoring with overwrite onto a file system whose rename does not replace a name that exists:
 * sshfs without `-o workaround=rename` (SFTP's rename), emulated by the FUSE test file system.
 * Every file that existed failed with "EPERM … this user may not write there"; GNU tar unlinks
 * first.
 */
import { expect } from 'chai';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createBackup, restoreBackup } from '../../src/index.js';
import { mountCaseInsensitive, type MountedFolder } from '../helpers/case-insensitive-fs.js';
import { run, tempDir, writeTree } from '../helpers/tree.js';

describe('restore with overwrite onto a file system whose rename does not replace (sshfs)', function () {
  this.timeout(120_000);
  let sshfs: MountedFolder;
  before(async () => {
    sshfs = await mountCaseInsensitive('sshfs');
  });
  after(async () => {
    await sshfs.unmount();
  });

  it('replaces what exists (the old name removed just before the rename), and a second restore does too', async () => {
    const root = await tempDir();
    await writeTree(root, { 'site/index.html': 'v1', 'site/app.js': 'app v1', 'site/link': { symlink: 'index.html' } });
    const manifest = (await createBackup({ sources: ['site'], cwd: root, out: join(root, 'backups') })).manifestPath;
    const target = join(sshfs.path, 'target');
    await writeTree(target, { 'site/index.html': 'v2, to be rolled back', 'site/link': 'a file where the link goes' });
    const result = await restoreBackup(manifest, { to: target, overwrite: true });
    expect(result.failures).to.deep.equal([]);
    expect(await readFile(join(target, 'site/index.html'), 'utf8')).to.equal('v1');
    expect(await readFile(join(target, 'site/link'), 'utf8'), 'through the restored link').to.equal('v1');
    const again = await restoreBackup(manifest, { to: target, overwrite: true });
    expect(again.failures).to.deep.equal([]);
    expect((await readdir(join(target, 'site'))).sort(), 'no temporary file left').to.deep.equal(['app.js', 'index.html', 'link']);
  });

  it('without overwrite, a name that exists is still named and kept (an archive alone, read as it goes)', async () => {
    const root = await tempDir();
    await writeTree(root, { 'site/index.html': 'v1' });
    const archive = join(root, 'site.tar.gz');
    await run('tar', ['-czf', archive, '-C', root, 'site']);
    const target = join(sshfs.path, 'kept');
    await writeTree(target, { 'site/index.html': 'mine' });
    const result = await restoreBackup(archive, { to: target });
    expect(result.failures).to.deep.equal([{ path: 'site/index.html', reason: 'site/index.html exists; pass --overwrite (overwrite: true) to replace it' }]);
    expect(await readFile(join(target, 'site/index.html'), 'utf8')).to.equal('mine');
  });
});
