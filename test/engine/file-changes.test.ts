import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'chai';
import { createBackup } from '../../src/index.js';
import { tempDir, writeTree } from '../helpers/tree.js';

describe('engine: what a backup changed against its parent (restic-style counts)', () => {
  it('counts files new, changed, deleted and unchanged, and names the parent', async () => {
    const root = await tempDir();
    await writeTree(root, { 'a.txt': 'a', 'b.txt': 'b', 'c.txt': 'c', 'sub/d.txt': 'd' });
    const out = await tempDir(); // outside the tree, and removed after the run as the tree is
    const full = await createBackup({ cwd: root, out, name: 'one' });
    expect(full.changes).to.equal(undefined);
    await writeFile(join(root, 'b.txt'), 'b changed');
    await rm(join(root, 'c.txt'));
    await writeFile(join(root, 'e.txt'), 'new');
    const second = await createBackup({ cwd: root, out, name: 'two', kind: 'incremental' });
    expect(second.changes).to.deep.equal({ new: 1, changed: 1, deleted: 1, unchanged: 2, notComparable: 0 });
    expect(second.parent).to.deep.equal({ id: full.id, manifestPath: full.manifestPath });
  });
});
