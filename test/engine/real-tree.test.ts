/**
 * A real tree that no one here wrote: this project's own node_modules (thousands of files, long
 * paths, dot files, symlinks), plus names with line breaks and bytes that are not UTF-8. Backed up,
 * verified, restored, and compared with the source by GNU tar (`tar --compare`), full and incremental.
 */
import { expect } from 'chai';
import { execFileSync, spawnSync } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createBackup, restoreBackup, verifyBackup } from '../../src/index.js';
import { loadManifest } from '../helpers/archive.js';
import { tempDir } from '../helpers/tree.js';

// Its real folder: `cp -a` of a linked node_modules (a worktree's) would copy the link, and the
// test would then write through it into the project's own.
const NODE_MODULES = realpathSync(fileURLToPath(new URL('../../node_modules', import.meta.url)));

/** GNU tar's verdict on `archive` against the tree under `folder`: '' when they agree in every byte, mode, time and link. */
function tarCompare(archive: string, folder: string): string {
  const result = spawnSync('tar', ['--compare', '-f', archive, '-C', folder], { encoding: 'latin1' });
  return `${result.stdout}${result.stderr}`.trim();
}

/**
 * The same, for a restored tree: Node's utimes takes seconds as a double, which at today's times
 * keeps about a quarter of a microsecond, so mtimes are compared apart, to within one microsecond.
 */
function tarCompareRestored(archive: string, folder: string): string {
  return tarCompare(archive, folder)
    .split('\n')
    .filter((line) => line !== '' && !line.endsWith(': Mod time differs'))
    .join('\n');
}

/** Names whose mtimes differ by more than a microsecond between two trees. */
function mtimesApart(a: string, b: string): string[] {
  const script = `
import os, sys
bad = []
for folder, dirs, files in os.walk(sys.argv[1].encode()):
    for name in dirs + files:
        one = os.path.join(folder, name)
        other = os.path.join(sys.argv[2].encode(), os.path.relpath(one, sys.argv[1].encode()))
        if abs(os.lstat(one).st_mtime_ns - os.lstat(other).st_mtime_ns) > 1000: bad.append(repr(one))
print('\\n'.join(bad[:10]))
`;
  return execFileSync('python3', ['-c', script, a, b]).toString().split('\n').filter(Boolean);
}

/** Every name under a folder, as bytes (what restore must not add to or lose). */
function namesUnder(folder: string): string[] {
  return execFileSync('find', ['.', '-mindepth', '1'], { cwd: folder, encoding: 'latin1' }).split('\n').filter(Boolean).sort();
}

describe('engine: a real tree (node_modules) round trip', () => {
  it('backs up, verifies and restores node_modules and awkward names exactly, then again after incremental changes', async () => {
    const root = await tempDir();
    execFileSync('cp', ['-a', NODE_MODULES, join(root, 'tree')]);
    execFileSync('python3', ['-c', "import os; open(b'tree/new\\nline', 'wb').write(b'nl'); os.makedirs(b'tree/d\\xff'); open(b'tree/d\\xff/f\\xe9', 'wb').write(b'x')"], { cwd: root });
    const out = join(root, 'out');
    const full = await createBackup({ sources: ['tree'], cwd: root, out, level: 1, name: 'full' });
    expect(full.skipped).to.deep.equal([]);
    expect(full.statistics.files).to.be.greaterThan(7000);
    expect((await loadManifest(full.manifestPath)).entries.some((e) => e.path.includes('/.'))).to.equal(true); // dot files kept
    const report = await verifyBackup(full.manifestPath);
    expect(report.ok, [...report.problems, ...report.entries.filter((e) => e.status !== 'ok').map((e) => `${e.path}: ${e.reason}`)].join('\n')).to.equal(true);
    expect(tarCompare(full.archivePath, root)).to.equal(''); // the archive matches the source, as GNU tar reads it
    const restored = await tempDir();
    const result = await restoreBackup(full.manifestPath, { to: restored });
    expect(result.failures).to.deep.equal([]);
    expect(tarCompareRestored(full.archivePath, restored)).to.equal('');
    expect(namesUnder(join(restored, 'tree'))).to.deep.equal(namesUnder(join(root, 'tree')));
    expect(mtimesApart(join(root, 'tree'), join(restored, 'tree'))).to.deep.equal([]);

    // Incremental changes: edits, a deletion, a new file, a rename.
    const tree = join(root, 'tree');
    await writeFile(join(tree, 'chai/package.json'), '{"name":"chai","edited":true}\n');
    await writeFile(join(tree, 'new-file.txt'), 'new');
    await rm(join(tree, 'mocha/README.md'), { force: true });
    execFileSync('mv', [join(tree, 'tsx/package.json'), join(tree, 'tsx/package.renamed.json')]);
    const inc = await createBackup({ sources: ['tree'], cwd: root, out, level: 1, name: 'inc', kind: 'incremental' });
    expect(inc.statistics.storedFiles).to.be.lessThan(200); // the rest is held by the full backup
    expect((await verifyBackup(inc.manifestPath)).ok).to.equal(true);
    const sourceTar = join(root, 'source.tar');
    execFileSync('tar', ['-cf', sourceTar, '-C', root, 'tree']);
    const restoredInc = await tempDir();
    expect((await restoreBackup(inc.manifestPath, { to: restoredInc })).failures).to.deep.equal([]);
    expect(tarCompareRestored(sourceTar, restoredInc)).to.equal('');
    expect(namesUnder(join(restoredInc, 'tree'))).to.deep.equal(namesUnder(tree));
    expect(mtimesApart(tree, join(restoredInc, 'tree'))).to.deep.equal([]);
  });
});
