/**
 * Damaged and hostile input, generated: archives that GNU tar and Python write in every format,
 * mutated at random (seeded, so every run tries the same cases), and manifests (of a full backup
 * and of an incremental on it) edited with their digest computed again, or the incremental read
 * while its parent's archive is damaged, and new incremental backups built on such edited parents
 * (which must fail, or verify as damaged, or restore the tree exactly). Whatever the damage,
 * verify, restore, the restore() plugin and the CLI end with a report or a BackupError: never
 * another exception, never a hang, never a write outside the target. The cases
 * run in a child process (helpers/fuzz-cases.ts) watched from here, so that a case that never
 * returns is stopped and named. FUZZ_ITERATIONS=5000 runs more cases, FUZZ_SEED other ones.
 */
import { expect } from 'chai';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as zlib from 'node:zlib';
import { execa } from 'execa';
import { createBackup } from '../../src/index.js';
import { pseudoRandomBytes, tempDir, writeTree } from '../helpers/tree.js';

/** Cases per kind: the tar cases take ~30 ms each, the manifest ones ~120 (a restore with workers, and verify --source). */
const TAR_CASES = Number(process.env.FUZZ_ITERATIONS ?? 300);
const MANIFEST_CASES = Number(process.env.FUZZ_ITERATIONS ?? 150);
/** Incremental backups built on an edited parent: ~150 ms each (a backup, verify, a restore). */
const PARENT_CASES = Number(process.env.FUZZ_ITERATIONS ?? 60);
const SEED = Number(process.env.FUZZ_SEED ?? 1);
/** A case that prints nothing for this long is taken to hang (one case takes milliseconds). */
const STALL_MS = 60_000;
const CASES = fileURLToPath(new URL('../helpers/fuzz-cases.ts', import.meta.url));
const TSX = import.meta.resolve('tsx');

/** Runs the cases; returns the problems they printed, and the case that hung, if one did. */
async function runCases(kind: 'tar' | 'manifest' | 'parent', seeds: string, seed: number): Promise<string[]> {
  const cases = { tar: TAR_CASES, manifest: MANIFEST_CASES, parent: PARENT_CASES }[kind];
  const child = execa(process.execPath, ['--import', TSX, CASES, kind, seeds, await tempDir(), String(cases), String(seed)], { reject: false, buffer: false });
  const problems: string[] = [];
  let current = '(before the first case)';
  let done = false;
  let lastOutput = Date.now();
  let pending = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    lastOutput = Date.now();
    const lines = (pending + chunk.toString()).split('\n');
    pending = lines.pop()!;
    for (const line of lines) {
      if (line.startsWith('case ')) current = line.slice(5);
      else if (line.startsWith('problem ')) problems.push(line.slice(8));
      else if (line === 'done') done = true;
    }
  });
  const stderr: Buffer[] = [];
  child.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk));
  const watchdog = setInterval(() => {
    if (Date.now() - lastOutput > STALL_MS) child.kill('SIGKILL');
  }, 1000);
  await child;
  clearInterval(watchdog);
  if (!done) problems.push(`no answer for ${STALL_MS} ms (or a crash) in case ${current}: ${Buffer.concat(stderr).toString().slice(-500)}`);
  return problems;
}

describe('engine: fuzzed archives and manifests (seeded, in a watched process)', function () {
  this.timeout(15 * 60_000);
  let seeds: string;

  before(async () => {
    const root = await tempDir();
    seeds = join(root, 'seeds');
    await mkdir(seeds);
    const tree = join(root, 'tree');
    await writeTree(tree, {
      'a.txt': { content: 'hello\n', mtime: 978_307_200.5 },
      'sub/random.bin': pseudoRandomBytes(3000, 3),
      [`sub/${'long'.repeat(30)}`]: 'a name over 100 bytes',
      link: { symlink: 'a.txt' },
      hard: { hardlinkTo: 'a.txt' },
      empty: { dir: true },
    });
    await writeFile(Buffer.concat([Buffer.from(`${tree}/bad-`), Buffer.from([0xff]), Buffer.from('-name')]), 'a name that is not UTF-8');
    execFileSync('truncate', ['-s', '100K', join(tree, 'sparse')]);
    await writeFile(join(tree, 'sparse'), 'end', { flag: 'a' });
    // Fixed times, so that the seeds (and so the cases) change less from run to run (ctimes and
    // inode numbers still do, in the pax headers GNU tar writes and in our manifest).
    execFileSync('find', [tree, '-exec', 'touch', '-h', '-d', '@1000000000.5', '{}', '+']);
    // ustar and v7 leave the long name out (tar warns and exits 2): spawnSync, not execFileSync.
    const tar = (name: string, ...args: string[]) => spawnSync('tar', [...args, '-cf', join(seeds, name), 'tree'], { cwd: root, stdio: 'ignore' });
    for (const format of ['gnu', 'oldgnu', 'posix', 'ustar', 'v7']) tar(`gnu-${format}.tar`, `--format=${format}`);
    tar('gnu-sparse-posix.tar', '--sparse', '--format=posix');
    tar('gnu-sparse-gnu.tar', '--sparse', '--format=gnu');
    for (const format of ['PAX_FORMAT', 'GNU_FORMAT']) {
      const name = join(seeds, `python-${format}.tar`);
      execFileSync('python3', ['-c', `import tarfile\nwith tarfile.open(${JSON.stringify(name)}, 'w', format=tarfile.${format}) as t: t.add('tree')`], { cwd: root });
    }
    const plain = await createBackup({ sources: ['tree'], cwd: root, out: join(root, 'plain'), name: 'ours', codec: 'none', blockSize: '64KB' });
    await copyFile(plain.archivePath, join(seeds, 'ours.tar'));
    const gzip = await createBackup({ sources: ['tree'], cwd: root, out: join(root, 'gzip'), name: 'b', blockSize: '64KB' });
    await copyFile(gzip.archivePath, join(seeds, 'b.tar.gz'));
    await copyFile(gzip.manifestPath, join(seeds, 'b.manifest.jsonl'));
    // An incremental on b, its manifest beside b's (a chain point: most entries held by b).
    await writeFile(join(tree, 'a.txt'), 'changed\n');
    await writeFile(join(tree, 'new.txt'), 'new\n');
    const chained = await createBackup({ sources: ['tree'], cwd: root, out: join(root, 'gzip'), name: 'c', kind: 'incremental', blockSize: '64KB' });
    expect(chained.changes).to.deep.include({ new: 1, changed: 1 });
    await copyFile(chained.archivePath, join(seeds, 'c.tar.gz'));
    const parentLink = (await readFile(chained.manifestPath, 'utf8')).includes('"manifest":"b.manifest.jsonl"');
    expect(parentLink, 'c names b beside it').to.equal(true);
    await copyFile(chained.manifestPath, join(seeds, 'c.manifest.jsonl'));
    execFileSync('tar', ['-czf', join(seeds, 'gnu.tar.gz'), 'tree'], { cwd: root });
    if ('zstdCompressSync' in zlib) {
      // Node 22.15 and later: zstd frames and the seek table too (earlier Node refuses them, which is a BackupError as well).
      const zstd = await createBackup({ sources: ['tree'], cwd: root, out: join(root, 'zstd'), name: 'z', codec: 'zstd', blockSize: '64KB' });
      await copyFile(zstd.archivePath, join(seeds, 'ours.tar.zst'));
    }
    for (const name of ['gnu-gnu.tar', 'gnu-v7.tar', 'gnu-sparse-gnu.tar', 'python-PAX_FORMAT.tar', 'ours.tar']) {
      expect((await readFile(join(seeds, name))).length, name).to.be.greaterThan(10_240);
    }
  });

  it(`tar archives of every format, mutated ${TAR_CASES} ways: a report or a BackupError each time`, async () => {
    expect(await runCases('tar', seeds, SEED)).to.deep.equal([]);
  });

  it(`manifests edited ${MANIFEST_CASES} ways, their digest computed again: a report or a BackupError each time`, async () => {
    expect(await runCases('manifest', seeds, SEED + 1)).to.deep.equal([]);
  });

  it(`incremental backups built on a parent manifest edited ${PARENT_CASES} ways: a BackupError, or a backup that verify reports or that restores the tree exactly`, async () => {
    expect(await runCases('parent', seeds, SEED + 2)).to.deep.equal([]);
  });
});
