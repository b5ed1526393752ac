/** readConcurrency: small files read ahead of the writer, several at once, never changing what is stored. */
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'chai';
import { createBackup, restoreBackup } from '../../src/index.js';
import type { ContentFileSystem } from '../../src/engine/file-system.js';
import { recordOpens, systemError } from '../helpers/faults.js';
import { pseudoRandomBytes, run, snapshotTree, tempDir, writeTree } from '../helpers/tree.js';

/** The real async open, counting the files open at once through it. */
function countingOpen(counter: { open: number; most: number }, fail?: (path: string) => boolean): Partial<ContentFileSystem> {
  return {
    open: async (path, flags) => {
      if (fail?.(path)) throw systemError('EACCES', path);
      const handle = await open(path, flags);
      counter.open++;
      counter.most = Math.max(counter.most, counter.open);
      return {
        stat: () => handle.stat(),
        read: (...args) => handle.read(...args),
        close: async () => {
          counter.open--;
          await handle.close();
        },
      };
    },
  };
}

describe('engine: readConcurrency (read-ahead of small files)', () => {
  let root: string;
  before(async () => {
    root = await tempDir();
    const files: Record<string, Buffer> = {};
    for (let i = 0; i < 60; i++) files[`data/d${i % 4}/f${i}.bin`] = pseudoRandomBytes(1000 + i * 97, i + 1);
    await writeTree(root, files);
    for (let i = 0; i < 60; i += 10) await run('touch', ['-d', '2020-01-01', join(root, `data/d${i % 4}/f${i}.bin`)]);
  });

  it('reads up to readConcurrency files at once and stores exactly the tree', async () => {
    const counter = { open: 0, most: 0 };
    const made = await createBackup({ sources: ['data'], cwd: root, out: await tempDir(), readConcurrency: 8, fileSystem: countingOpen(counter) });
    expect(counter.most).to.be.within(2, 8); // never more than readConcurrency files open
    const target = await tempDir();
    await run('tar', ['-xzf', made.archivePath, '-C', target]);
    expect(await snapshotTree(join(target, 'data'))).to.deep.equal(await snapshotTree(join(root, 'data')));
  });

  it('a read ahead that fails is dropped: the writer reads the file itself', async () => {
    const counter = { open: 0, most: 0 };
    const made = await createBackup({
      sources: ['data'],
      cwd: root,
      out: await tempDir(),
      readConcurrency: 4,
      fileSystem: countingOpen(counter, (path) => path.endsWith('f7.bin')),
    });
    expect(made.skipped).to.deep.equal([]);
    expect(made.statistics.storedFiles).to.equal(60);
  });

  it('does not read ahead what the chain already holds, and reads a file to compare once', async () => {
    const tree = await tempDir();
    await run('cp', ['-a', join(root, 'data'), tree]);
    // Old mtimes: outside the racy window, so the stat rule alone holds the files.
    await run('find', [join(tree, 'data'), '-type', 'f', '-exec', 'touch', '-d', '@1600000000', '{}', '+']);
    const out = await tempDir();
    await createBackup({ sources: ['data'], cwd: tree, out, name: 'full' });
    const chmodded = [join(tree, 'data/d1/f1.bin'), join(tree, 'data/d2/f30.bin')];
    await run('chmod', ['600', ...chmodded]); // the ctime moves: read and compared, the content held
    const opened: string[] = [];
    const inc = await createBackup({ sources: ['data'], cwd: tree, out, kind: 'incremental', readConcurrency: 8, fileSystem: recordOpens(opened) });
    expect(inc.statistics).to.include({ unchangedFiles: 60, storedFiles: 0, comparedFiles: 2 });
    expect(opened.sort()).to.deep.equal(chmodded.sort());
  });

  it('in checksum mode, each small file is read once: its bytes read ahead are compared, and stored when they differ', async () => {
    const tree = await tempDir();
    await run('cp', ['-a', join(root, 'data'), tree]);
    const out = await tempDir();
    await createBackup({ sources: ['data'], cwd: tree, out, name: 'full' });
    const edited = join(tree, 'data/d3/f7.bin');
    await run('sh', ['-c', `printf 'X' | dd of="${edited}" bs=1 seek=10 conv=notrunc status=none && touch -r "${join(tree, 'data/d3/f3.bin')}" "${edited}"`]);
    const opened: string[] = [];
    const inc = await createBackup({ sources: ['data'], cwd: tree, out, kind: 'incremental', checksum: true, readConcurrency: 4, fileSystem: recordOpens(opened) });
    expect(inc.statistics).to.include({ comparedFiles: 60, storedFiles: 1, unchangedFiles: 59 });
    expect(opened).to.have.length(60);
    expect(new Set(opened).size).to.equal(60);
    const target = await tempDir();
    await restoreBackup(inc.manifestPath, { to: target });
    // Contents and modes (the point here); restored times are checked by the restore tests. A list of
    // the paths that differ, not chai's folded diff of 64 entries, says what went wrong if it does.
    const withoutTimes = async (folder: string) => Object.entries(await snapshotTree(folder)).map(([path, { mtimeMs: _, ...rest }]) => `${path} ${JSON.stringify(rest)}`);
    const restored = await withoutTimes(join(target, 'data'));
    const source = await withoutTimes(join(tree, 'data'));
    expect(restored.filter((line) => !source.includes(line))).to.deep.equal([]);
    expect(restored).to.have.length(source.length);
  });
});
