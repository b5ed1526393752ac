/**
 * Writes that fail part-way, as on a full disk: a file size limit (`prlimit --fsize`) makes every
 * write past it fail with EFBIG, which takes the same paths as ENOSPC without a file system to fill.
 */
import { expect } from 'chai';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createBackup } from '../../src/index.js';
import { spawnCliWithFileSizeLimit } from '../helpers/cli.js';
import { describeTree } from '../helpers/exact-tree.js';
import { pseudoRandomBytes, tempDir, writeTree } from '../helpers/tree.js';

const LIMIT = 1024 * 1024;

describe('cli: writes that fail part-way (a file size limit, as a full disk)', () => {
  let root: string;
  before(async () => {
    root = await tempDir();
    const small = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`site/page-${i}.html`, `<p>${i}</p>`]));
    await writeTree(root, { ...small, 'site/video.bin': pseudoRandomBytes(3 * LIMIT, 11) });
  });

  it('create: exit 2 saying what to do, and nothing left in the output folder', async () => {
    const out = join(root, 'limited-out');
    const run = await spawnCliWithFileSizeLimit(['create', 'site', '--out', out, '--level', '1'], root, LIMIT);
    expect(run.exitCode, run.stderr).to.equal(2);
    expect(run.stderr).to.match(/^gulp-backup: Cannot write the backup to .*\.tar\.gz \(EFBIG\)\. The archive is larger than this process may write \(ulimit -f\)/m);
    expect(await readdir(out)).to.deep.equal([]);
  });

  it('restore: the file that cannot be written is named with what to do (exit 1), every other file is restored, no temporary file is left', async () => {
    const made = await createBackup({ sources: ['site'], cwd: root, out: join(root, 'out') });
    const target = join(root, 'limited-restore');
    const run = await spawnCliWithFileSizeLimit(['restore', made.manifestPath, '--to', target], root, LIMIT);
    expect(run.exitCode, run.stderr).to.equal(1);
    expect(run.stdout).to.match(/^ {2}not restored site\/video\.bin: EFBIG: .*: the file is larger than this process may write \(ulimit -f\)/m);
    const restored = describeTree(join(target, 'site'));
    const source = describeTree(join(root, 'site'));
    delete source['video.bin'];
    expect(restored).to.deep.equal(source);
    expect((await readdir(target, { recursive: true })).filter((name) => name.includes('gulp-backup'))).to.deep.equal([]);
  });
});
