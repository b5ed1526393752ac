/**
 * Backups kept in git with Git LFS, checked out where the LFS objects were not fetched (a CI
 * checkout without `lfs: true`): each tracked file is a pointer. They looked like damage (verify
 * DAMAGED, exit 1); they are named for what they are, exit 2, with what to do.
 */
import { expect } from 'chai';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createBackup, restoreBackup, verifyBackup } from '../../src/index.js';
import { runCli } from '../helpers/cli.js';
import { pseudoRandomBytes, run, tempDir, writeTree } from '../helpers/tree.js';

const POINTER = /is a Git LFS pointer.*not fetched\. Fetch it \(git lfs pull; in GitHub Actions, actions\/checkout with lfs: true\)/;

describe('engine: backups kept with Git LFS, checked out without their objects', () => {
  let root: string;
  let clone: string;

  before(async () => {
    root = await tempDir();
    await writeTree(root, { 'site/a.txt': 'a', 'site/b.bin': pseudoRandomBytes(50_000, 4) });
    const out = join(root, 'repo/backups');
    await createBackup({ sources: ['site'], cwd: root, out, name: 'full' });
    await writeTree(root, { 'site/a.txt': 'a2' });
    await createBackup({ sources: ['site'], cwd: root, out, name: 'inc', kind: 'incremental' });
    const repo = join(root, 'repo');
    const git = (args: string[], cwd = repo) => run('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], cwd);
    await git(['init', '-q']);
    await git(['lfs', 'install', '--local']);
    await git(['lfs', 'track', '*.tar.gz']);
    await git(['add', '.']);
    await git(['commit', '-qm', 'backups']);
    clone = join(root, 'clone');
    // What a checkout without the LFS objects leaves: the pointers.
    await run('sh', ['-c', 'GIT_LFS_SKIP_SMUDGE=1 git clone -q "$1" "$2"', 'sh', repo, clone]);
  });

  it('the archives are pointers in the clone, the manifests are not (the premise)', async () => {
    expect(await readFile(join(clone, 'backups/full.tar.gz'), 'utf8')).to.match(/^version https:\/\/git-lfs\.github\.com\/spec\/v1\noid sha256:/);
    expect(await readFile(join(clone, 'backups/full.manifest.jsonl'), 'utf8')).to.match(/^\{"record":"header"/);
  });

  it('verify and restore refuse a pointer archive as not fetched (exit 2), never as damaged; so does an archive named alone', async () => {
    const verified = await verifyBackup(join(clone, 'backups/full.manifest.jsonl')).catch((error: unknown) => error);
    expect(verified).to.include({ code: 'ARCHIVE_UNRECOGNIZED' });
    expect((verified as Error).message).to.match(POINTER);
    for (const args of [
      ['verify', join(clone, 'backups')],
      ['restore', join(clone, 'backups/inc.manifest.jsonl'), '-t', join(root, 'out1')],
      ['restore', join(clone, 'backups/full.tar.gz'), '-t', join(root, 'out2')],
    ]) {
      const cli = await runCli(args);
      expect(cli.code, `${args[0]}: ${cli.stdout}${cli.stderr}`).to.equal(2);
      expect(cli.stderr, args[0]).to.match(POINTER).and.not.match(/damaged/i);
    }
    const restored = await restoreBackup(join(clone, 'backups/inc.manifest.jsonl'), { to: join(root, 'out3') }).catch((error: unknown) => error);
    expect((restored as Error).message).to.match(POINTER);
  });

  it('an incremental refuses to build on a pointer, naming it; --auto starts a new chain and says why', async () => {
    const options = { sources: ['site'], cwd: root, out: join(clone, 'backups') };
    const refused = await createBackup({ ...options, name: 'next', kind: 'incremental' }).catch((error: unknown) => error);
    expect(refused).to.include({ code: 'PARENT_MISSING' });
    expect((refused as Error).message).to.match(POINTER);
    const auto = await createBackup({ ...options, name: 'auto', kind: 'auto' });
    expect(auto.kind).to.equal('full');
    expect(auto.kindReason).to.match(POINTER);
  });

  it('a manifest that is a pointer too is named so (exit 2), not read as damage', async () => {
    const repo = join(root, 'repo2');
    await run('sh', ['-c', 'mkdir -p "$1" && cp "$2"/full.* "$1"/', 'sh', repo, join(root, 'repo/backups')]);
    const git = (args: string[], cwd = repo) => run('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], cwd);
    await git(['init', '-q']);
    await git(['lfs', 'install', '--local']);
    await git(['lfs', 'track', '*.tar.gz', '*.jsonl']);
    await git(['add', '.']);
    await git(['commit', '-qm', 'backups']);
    const pointers = join(root, 'clone2');
    await run('sh', ['-c', 'GIT_LFS_SKIP_SMUDGE=1 git clone -q "$1" "$2"', 'sh', repo, pointers]);
    const cli = await runCli(['verify', join(pointers, 'full.manifest.jsonl')]);
    expect(cli.code, cli.stdout + cli.stderr).to.equal(2);
    expect(cli.stderr).to.match(/full\.manifest\.jsonl: It is a Git LFS pointer, not the manifest/).and.not.match(/damaged/i);
  });
});
