/**
 * Restoring onto a file system that holds no symlinks, hard links, modes or owners (a USB stick
 * formatted FAT or exFAT), a real one mounted through FUSE that refuses them as Linux's vfat and
 * exfat drivers do (EPERM): the restore crashed on the first folder mode it could not set.
 */
import { expect } from 'chai';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { createBackup, restoreBackup } from '../../src/index.js';
import { runCli } from '../helpers/cli.js';
import { mountCaseInsensitive, type MountedFolder } from '../helpers/case-insensitive-fs.js';
import { pseudoRandomBytes, tempDir, writeTree } from '../helpers/tree.js';

describe('restore onto a file system without links or modes (FAT, exFAT)', function () {
  this.timeout(120_000);
  let fat: MountedFolder;
  let manifest: string;
  const large = pseudoRandomBytes(3 * 1024 * 1024, 17);

  before(async () => {
    fat = await mountCaseInsensitive('fat');
    const root = await tempDir();
    await writeTree(root, {
      'src/run.sh': { content: '#!/bin/sh\n', mode: 0o755 },
      'src/shared.txt': { content: 'group-writable', mode: 0o664 },
      'src/large.bin': { content: large, mode: 0o640 },
      'src/private/key': { content: 'secret', mode: 0o600 },
      'src/private': { dir: true, mode: 0o700 },
      'src/link': { symlink: 'run.sh' },
      'src/again.sh': { hardlinkTo: 'src/run.sh' },
      'src/large-again.bin': { hardlinkTo: 'src/large.bin' },
      'src/notes/what?.txt': 'a name Windows refuses',
    });
    manifest = (await createBackup({ sources: ['src'], cwd: root, out: join(root, 'backups') })).manifestPath;
  });
  after(async () => {
    await fat.unmount();
  });

  it('restores every file, proven, names the symlink it cannot make, makes hard links as copies, and says which modes were not taken', async () => {
    const target = join(fat.path, 'engine');
    const result = await restoreBackup(manifest, { to: target });
    expect(result.failures.map((failure) => failure.path)).to.deep.equal(['src/link', 'src/notes/what?.txt']);
    expect(result.failures[0]!.reason).to.equal("the target's file system cannot hold symlinks (EPERM; FAT and exFAT cannot): restore onto another file system to have it");
    expect(result.failures[1]!.reason).to.match(/^EINVAL: .*: the target's file system does not take this name \(FAT, exFAT and Windows refuse \\ : \* \? " < > \| and a name that ends in a dot or a space\): restore onto another file system$/);
    expect(result.restored).to.deep.include({ files: 4, hardlinks: 2, symlinks: 0 });
    expect(await readFile(join(target, 'src/run.sh'), 'utf8')).to.equal('#!/bin/sh\n');
    expect(await readFile(join(target, 'src/again.sh'), 'utf8')).to.equal('#!/bin/sh\n');
    expect((await readFile(join(target, 'src/large-again.bin'))).equals(large)).to.equal(true);
    expect(await readFile(join(target, 'src/private/key'), 'utf8')).to.equal('secret');
    expect((await stat(join(target, 'src/again.sh'))).ino, 'a copy, not a link').to.not.equal((await stat(join(target, 'src/run.sh'))).ino);
    const warnings = result.warnings.join('\n');
    expect(warnings).to.match(/^2 hard links restored as copies of their targets: src\/\S+: EPERM: the target's file system cannot hold hard links \(FAT and exFAT cannot\), …$/m);
    // The modes a created file or folder could not be given as it was made: the group-writable
    // files (the umask takes that bit at creation), the folder's.
    expect(warnings).to.match(/^\d+ entries keep the mode or time that the target's file system gave them \(FAT and exFAT hold no modes; the content is restored and proven\): src\/\S+: cannot set its mode to [0-7]+ \(EPERM\), …$/m);
    expect(warnings, 'nothing was asked of owners that the entries already have').to.not.match(/owner/);

    // Again over it: the folders are there now, with their owner and the modes FAT gives them; they
    // were each given both again (a false owner warning for every folder of a real tree).
    const again = await restoreBackup(manifest, { to: target, overwrite: true });
    expect(again.warnings.join('\n')).to.not.match(/owner/);
  });

  it('the CLI names what was not restored and exits 1, as a restore with problems (it crashed with exit 3)', async () => {
    const run = await runCli(['restore', manifest, '--to', join(fat.path, 'cli')]);
    expect(run.code, run.stderr).to.equal(1);
    expect(run.stdout + run.stderr).to.match(/not restored src\/link: the target's file system cannot hold symlinks/);
    expect(run.stdout + run.stderr).to.not.match(/unexpected error/);
  });
});
