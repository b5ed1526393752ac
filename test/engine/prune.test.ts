/**
 * Pruning real chains: random histories of full, incremental and differential backups of a
 * changing tree, pruned with random policies; every kept point must still verify and restore the
 * tree as it was, and a removed backup leaves nothing behind.
 */
import { readdir, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { createBackup, pruneBackups, pruneTask, restoreBackup, verifyBackup, type BackupError } from '../../src/index.js';
import { runCli } from '../helpers/cli.js';
import { snapshotTree, tempDir, writeTree } from '../helpers/tree.js';

function random(seed: number): () => number {
  let x = seed;
  return () => {
    x = (x * 1_103_515_245 + 12_345) % 2 ** 31;
    return x / 2 ** 31;
  };
}

describe('engine: prune (chain-aware retention)', function () {
  this.timeout(120_000);

  for (const seed of [1, 2, 3]) {
    it(`every kept point of a random history verifies and restores exactly after a random prune (seed ${seed})`, async () => {
      const next = random(seed);
      const root = await tempDir();
      const out = join(root, 'out');
      await writeTree(root, { 'tree/a.txt': 'a', 'tree/b.txt': 'b' });
      const states = new Map<string, Awaited<ReturnType<typeof snapshotTree>>>();
      for (let i = 0; i < 10; i++) {
        // Change the tree: edit, add or delete a file.
        const roll = next();
        if (roll < 0.4) await writeFile(join(root, 'tree', `f${Math.floor(next() * 4)}.txt`), `v${i}`);
        else if (roll < 0.6) await rm(join(root, 'tree', `f${Math.floor(next() * 4)}.txt`), { force: true });
        else await writeFile(join(root, 'tree/a.txt'), `a${i}`);
        const kind = i === 0 ? 'full' : (['full', 'incremental', 'incremental', 'differential'] as const)[Math.floor(next() * 4)]!;
        const made = await createBackup({ cwd: root, sources: 'tree', out, name: `b${String(i).padStart(2, '0')}`, kind });
        states.set(`b${String(i).padStart(2, '0')}.manifest.jsonl`, await snapshotTree(join(root, 'tree')));
        expect(made.kind).to.equal(kind);
      }
      const keepLast = 1 + Math.floor(next() * 4);
      const preview = await pruneBackups(out, { keepLast, dryRun: true });
      expect((await readdir(out)).length).to.equal(30); // a dry run removes nothing
      const result = await pruneBackups(out, { keepLast });
      expect(result.kept.map((b) => b.manifest)).to.deep.equal(preview.kept.map((b) => b.manifest));
      expect(result.kept.filter((b) => b.reasons.includes('last'))).to.have.length(keepLast);
      expect(result.kept.length + result.removed.length).to.equal(10);
      const left = await readdir(out);
      expect(left.length).to.equal(3 * result.kept.length);
      for (const removed of result.removed) for (const file of removed.files) expect(left).to.not.include(file);
      for (const kept of result.kept) {
        const manifest = join(out, kept.manifest);
        expect((await verifyBackup(manifest)).ok, kept.manifest).to.equal(true);
        const target = await tempDir();
        const restored = await restoreBackup(manifest, { to: target });
        expect(restored.ok, kept.manifest).to.equal(true);
        expect(await snapshotTree(join(target, 'tree')), kept.manifest).to.deep.equal(states.get(kept.manifest));
      }
      // What keeps a parent is said: the backups that need it.
      for (const kept of result.kept.filter((b) => !b.reasons.includes('last'))) expect(kept.reasons.join()).to.match(/^needed by b\d\d\.manifest\.jsonl/);
    });
  }

  it('applies the policy to each tree on its own: two trees in one folder each keep their last backups (keep-last 1 removed one tree whole)', async () => {
    const root = await tempDir();
    const out = join(root, 'out');
    await writeTree(root, { 'src/a.txt': 'a', 'docs/d.md': 'd' });
    for (let i = 0; i < 3; i++) {
      for (const tree of ['src', 'docs']) {
        await writeFile(join(root, tree, `v${i}`), `${tree} ${i}`);
        await createBackup({ cwd: root, sources: tree, out, name: `${tree}-${i}`, kind: i === 2 ? 'incremental' : 'full' });
      }
    }
    const result = await pruneBackups(out, { keepLast: 1 });
    const kept = Object.fromEntries(result.kept.map((b) => [b.manifest, b.reasons]));
    expect(kept).to.deep.equal({
      'src-2.manifest.jsonl': ['last'],
      'src-1.manifest.jsonl': ['needed by src-2.manifest.jsonl'],
      'docs-2.manifest.jsonl': ['last'],
      'docs-1.manifest.jsonl': ['needed by docs-2.manifest.jsonl'],
    });
    expect(result.removed.map((b) => b.manifest).sort()).to.deep.equal(['docs-0.manifest.jsonl', 'src-0.manifest.jsonl']);
    for (const tree of ['src', 'docs']) expect((await verifyBackup(join(out, `${tree}-2.manifest.jsonl`))).ok, tree).to.equal(true);
  });

  it('refuses a policy that keeps nothing, and a folder where a run is writing; the CLI and the task say what they did', async () => {
    const root = await tempDir();
    await writeTree(root, { 'tree/a.txt': 'a' });
    const out = join(root, 'out');
    for (const name of ['one', 'two', 'three']) await createBackup({ cwd: root, sources: 'tree', out, name });
    const none = await runCli(['prune', out]);
    expect(none.code).to.equal(2);
    expect(none.stderr).to.match(/A prune needs a policy that keeps something: at least one of --keep-last/);
    await writeFile(join(out, `x.gulp-backup.lock`), JSON.stringify({ pid: process.pid, host: hostname(), startedAt: new Date().toISOString() }));
    const busy = await pruneBackups(out, { keepLast: 1 }).catch((error: unknown) => error as BackupError);
    expect(busy).to.have.property('code', 'RUN_IN_PROGRESS');
    await rm(join(out, 'x.gulp-backup.lock'));
    const dry = await runCli(['prune', out, '--keep-last', '2', '--dry-run']);
    expect(dry.code).to.equal(0);
    expect(dry.stdout).to.match(/^Dry run, nothing removed: .*: kept 2 backups, would remove 1 \(.* to free\)\n {2}keep {3}three\.manifest\.jsonl \(full, .*\): last\n/);
    const task = await pruneTask(out, { keepLast: 1 })();
    expect(task.removed.map((b) => b.manifest).sort()).to.deep.equal(['one.manifest.jsonl', 'two.manifest.jsonl']);
    expect((await readdir(out)).sort()).to.deep.equal(['three.manifest.jsonl', 'three.tar.gz', 'three.tar.gz.sha256']);
    expect(() => pruneTask(out, { keepLats: 1 } as never)).to.throw(/Unknown option `keepLats`: pruneTask\(\) .*did you mean `keepLast`\?/);
  });
});
