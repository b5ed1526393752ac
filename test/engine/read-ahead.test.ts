/** readConcurrency: small files read ahead of the writer, several at once, never changing what is stored. */
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'chai';
import { createBackup } from '../../src/index.js';
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

  it('does not read ahead what the chain already holds', async () => {
    const out = await tempDir();
    await createBackup({ sources: ['data'], cwd: root, out, name: 'full' });
    const opened: string[] = [];
    const inc = await createBackup({ sources: ['data'], cwd: root, out, kind: 'incremental', readConcurrency: 8, fileSystem: recordOpens(opened), compareCtime: false });
    expect(inc.statistics.unchangedFiles).to.be.greaterThan(0);
    const unchanged = new Set((await import('../helpers/archive.js').then((m) => m.loadManifest(inc.manifestPath))).entries.filter((e) => e.heldBy).map((e) => join(root, e.path)));
    expect(opened.filter((path) => unchanged.has(path))).to.deep.equal([]);
  });
});
