/**
 * Runs that die (kill -9, a machine restart) leave nothing that looks like a backup, and the next
 * run cleans up after them and says so. Runs side by side never take the same name.
 */
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { readdir, stat, utimes, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { createBackup, restoreBackup, verifyBackup } from '../../src/index.js';
import { RunLock, isDeadLock } from '../../src/engine/run-lock.js';
import { LocalStore } from '../../src/store/local-store.js';
import { listFolder } from '../helpers/archive.js';
import { runCli } from '../helpers/cli.js';
import { pseudoRandomBytes, tempDir, writeTree } from '../helpers/tree.js';

const BIN = fileURLToPath(new URL('../../src/cli/bin.ts', import.meta.url));

/** A pid that no process has now: a child that has already exited. */
function deadPid(): number {
  return Number(execFileSync('sh', ['-c', 'sh -c "echo \\$\\$"']).toString().trim());
}

/** A lock as a run that died leaves it at `path`. */
async function writeDeadLock(path: string): Promise<void> {
  await writeFile(path, JSON.stringify({ pid: deadPid(), host: hostname(), startedAt: new Date().toISOString() }));
}

/** Starts the CLI and kills it with SIGKILL after `ms`; resolves once it is gone. */
async function killAfter(args: string[], cwd: string, ms: number): Promise<void> {
  const child = execa(process.execPath, ['--import', import.meta.resolve('tsx'), BIN, ...args], { cwd, reject: false });
  const timer = setTimeout(() => child.kill('SIGKILL'), ms);
  await child;
  clearTimeout(timer);
}

/** Every manifest in `folder` has its archive and checksum; nothing else is there. */
async function onlyCompleteBackups(folder: string): Promise<string[]> {
  const names = await listFolder(folder);
  const backups = names.filter((n) => n.endsWith('.manifest.jsonl')).map((n) => n.slice(0, -'.manifest.jsonl'.length));
  const expected = backups.flatMap((b) => [`${b}.manifest.jsonl`, `${b}.tar.gz`, `${b}.tar.gz.sha256`]).sort();
  expect(names).to.deep.equal(expected);
  return backups;
}

describe('engine: interrupted runs', () => {
  let root: string;

  beforeEach(async () => {
    root = await tempDir();
    const files: Record<string, Buffer> = {};
    for (let i = 0; i < 48; i++) files[`data/f${String(i).padStart(2, '0')}.bin`] = pseudoRandomBytes(512 * 1024, i + 1);
    await writeTree(root, files);
  });

  it("prune --dry-run names a dead run's leftovers and removes nothing; prune removes them", async () => {
    const out = join(root, 'out');
    await createBackup({ sources: ['data'], cwd: root, out, name: 'good' });
    await writeDeadLock(join(out, 'snap.gulp-backup.lock'));
    await writeFile(join(out, 'snap.tar.gz.partial'), 'half an archive');
    const dry = await runCli(['prune', out, '--keep-last', '1', '--dry-run']);
    expect(dry.code, dry.stderr).to.equal(0);
    expect(dry.stdout).to.include('  would remove what interrupted runs left: snap.tar.gz.partial, snap.gulp-backup.lock');
    expect(await listFolder(out)).to.include.members(['snap.tar.gz.partial', 'snap.gulp-backup.lock']);
    const listing = await runCli(['ls', out]);
    expect(listing.code).to.equal(0);
    expect(listing.stderr).to.include('gulp-backup: warning: interrupted runs left snap.tar.gz.partial, snap.gulp-backup.lock: gulp-backup prune removes them');
    const pruned = await runCli(['prune', out, '--keep-last', '1']);
    expect(pruned.stdout).to.include('  removed what interrupted runs left: snap.tar.gz.partial, snap.gulp-backup.lock');
    await onlyCompleteBackups(out);
  });

  it("a dead run's leftovers (a kill in the finish step: archive and .sha256, no manifest) are removed by the next run, which says so", async () => {
    const out = join(root, 'out');
    await createBackup({ sources: ['data'], cwd: root, out, name: 'good' });
    await writeDeadLock(join(out, 'snap.gulp-backup.lock'));
    await writeFile(join(out, 'snap.tar.gz'), 'half an archive');
    await writeFile(join(out, 'snap.tar.gz.sha256'), 'x  snap.tar.gz\n');
    await writeFile(join(out, 'old.tar.gz.partial'), 'from a version without locks');
    // Not a backup: the newest is still "good".
    expect((await verifyBackup(out)).archivePath).to.equal(join(out, 'good.tar.gz'));
    const again = await createBackup({ sources: ['data'], cwd: root, out, name: 'snap' }); // the same name is free again
    expect(again.warnings.join('\n')).to.match(/interrupted run .*snap\.tar\.gz.*snap\.gulp-backup\.lock/);
    expect(again.warnings.join('\n')).to.match(/old\.tar\.gz\.partial/);
    expect(await onlyCompleteBackups(out)).to.deep.equal(['good', 'snap']);
  });

  it("another host's lock (a CI container, a second machine) not refreshed for half an hour is a killed run's: prune and the next run clean up (prune refused forever)", async () => {
    const out = join(root, 'out');
    await createBackup({ sources: ['data'], cwd: root, out, name: 'good' });
    const lock = join(out, 'snap.gulp-backup.lock');
    await writeFile(lock, JSON.stringify({ pid: 4242, host: 'ci-runner-7f9c2', startedAt: '2026-11-30T10:00:00.000Z' }));
    await writeFile(join(out, 'snap.tar.gz'), 'half an archive');
    // Refreshed a minute ago: a live run elsewhere, whose files stay.
    const aMinuteAgo = new Date(Date.now() - 60_000);
    await utimes(lock, aMinuteAgo, aMinuteAgo);
    const refused = await runCli(['prune', out, '--keep-last', '1']);
    expect(refused.code).to.equal(2);
    expect(refused.stderr).to.match(/is writing in .* right now \(snap\.gulp-backup\.lock: pid 4242 on ci-runner-7f9c2, started 2026-11-30T10:00:00\.000Z, its lock refreshed 1 min ago\)/);
    expect((await runCli(['ls', out])).stderr).to.not.match(/interrupted runs left/);
    expect(await listFolder(out)).to.include.members(['snap.tar.gz', 'snap.gulp-backup.lock']);
    // Not refreshed for 31 minutes: its run is gone.
    const stale = new Date(Date.now() - 31 * 60_000);
    await utimes(lock, stale, stale);
    expect((await runCli(['ls', out])).stderr).to.include('interrupted runs left snap.tar.gz, snap.gulp-backup.lock');
    const pruned = await runCli(['prune', out, '--keep-last', '1']);
    expect(pruned.code, pruned.stderr).to.equal(0);
    expect(pruned.stdout).to.include('  removed what interrupted runs left: snap.tar.gz, snap.gulp-backup.lock');
    await onlyCompleteBackups(out);
  });

  it("a restore into a folder another restore holds is refused naming the holder; another host's, not refreshed for half an hour, is a killed restore's", async () => {
    const made = await createBackup({ sources: ['data'], cwd: root, out: join(root, 'out'), name: 'b' });
    const target = await tempDir();
    const lock = join(target, '.gulp-backup-restore.lock');
    await writeFile(lock, JSON.stringify({ pid: process.pid, host: hostname(), startedAt: '2026-12-01T08:00:00.000Z' }));
    const refused = await restoreBackup(made.manifestPath, { to: target }).catch((error: unknown) => error);
    expect((refused as Error).message).to.include(`another gulp-backup restore is writing into ${target} right now (.gulp-backup-restore.lock: pid ${process.pid} on ${hostname()}, started 2026-12-01T08:00:00.000Z)`);
    await writeFile(lock, JSON.stringify({ pid: 99, host: 'another-container', startedAt: '2026-12-01T08:00:00.000Z' }));
    await writeFile(join(target, '.0123456789ab.gulp-backup.partial'), 'half a file');
    const stale = new Date(Date.now() - 45 * 60_000);
    await utimes(lock, stale, stale);
    const restored = await restoreBackup(made.manifestPath, { to: target });
    expect(restored.ok, JSON.stringify(restored.failures)).to.equal(true);
    expect(restored.warnings.join('\n')).to.match(/removed 1 temporary file that an interrupted restore left/);
    expect(await readdir(target)).to.deep.equal(['data']);
  });

  it('an empty lock is a run writing it while recent (left alone), a killed one after a minute (cleaned up)', async () => {
    const out = join(root, 'out');
    await createBackup({ sources: ['data'], cwd: root, out, name: 'good' });
    const lock = join(out, 'snap.gulp-backup.lock');
    await writeFile(lock, '');
    const refused = await runCli(['prune', out, '--keep-last', '1']);
    expect(refused.code).to.equal(2);
    expect(refused.stderr).to.include('(snap.gulp-backup.lock: a run writing its lock now)');
    const old = new Date(Date.now() - 2 * 60_000);
    await utimes(lock, old, old);
    const pruned = await runCli(['prune', out, '--keep-last', '1']);
    expect(pruned.code, pruned.stderr).to.equal(0);
    expect(pruned.stdout).to.include('removed what interrupted runs left: snap.gulp-backup.lock');
  });

  it('a live run refreshes its lock, and a refresh never brings back a lock it released', async () => {
    const out = await tempDir();
    const store = new LocalStore(out);
    const lock = (await RunLock.claim(store, 'x.gulp-backup.lock', { refreshEveryMs: 10 }))!;
    const path = join(out, 'x.gulp-backup.lock');
    const old = new Date(Date.now() - 3_600_000);
    await utimes(path, old, old);
    expect(await isDeadLock(store, 'x.gulp-backup.lock')).to.equal(false); // this host, this live process
    for (let tries = 0; (await stat(path)).mtimeMs < Date.now() - 60_000; tries++) {
      expect(tries, 'the lock was not refreshed').to.be.lessThan(500);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await lock.release();
    await new Promise((resolve) => setTimeout(resolve, 50)); // beats that would have come
    expect(await listFolder(out)).to.deep.equal([]);
  });

  it("a dead run's .tar.zst leftovers (any codec's names) are removed too", async () => {
    const out = join(root, 'out');
    await createBackup({ sources: ['data'], cwd: root, out, name: 'good' });
    await writeDeadLock(join(out, 'z.gulp-backup.lock'));
    await writeFile(join(out, 'z.tar.zst.partial'), 'half a zstd archive');
    await writeFile(join(out, 'z.tar.zst.sha256.partial'), 'x');
    await writeFile(join(out, 'stray.tar.zst.partial'), 'from a run whose lock is gone');
    const again = await createBackup({ sources: ['data'], cwd: root, out, name: 'next' });
    expect(again.warnings.join('\n')).to.match(/z\.tar\.zst\.partial/);
    expect(again.warnings.join('\n')).to.match(/stray\.tar\.zst\.partial/);
    expect(await onlyCompleteBackups(out)).to.deep.equal(['good', 'next']);
  });

  it('kill -9 at any moment of a backup leaves no complete-looking backup; the next run cleans up and verifies', async () => {
    const out = join(root, 'out');
    for (const ms of [300, 900, 1500, 2200]) {
      await killAfter(['create', 'data', '-o', 'out', '--quiet'], root, ms);
      const left = await listFolder(out);
      for (const name of left.filter((n) => n.endsWith('.manifest.jsonl'))) {
        expect((await verifyBackup(join(out, name))).ok, `${name} after a kill at ${ms} ms`).to.equal(true);
      }
      const next = await runCli(['create', 'data', '--cwd', root, '-o', out, '--quiet']);
      expect(next.code, next.stderr).to.equal(0);
      for (const backup of await onlyCompleteBackups(out)) expect((await verifyBackup(join(out, `${backup}.manifest.jsonl`))).ok).to.equal(true);
    }
  });

  it('two runs with default names in the same second take different names', async () => {
    const out = join(root, 'out');
    const [a, b] = await Promise.all([createBackup({ sources: ['data'], cwd: root, out }), createBackup({ sources: ['data'], cwd: root, out })]);
    expect(a.archivePath).to.not.equal(b.archivePath);
    expect((await onlyCompleteBackups(out)).length).to.equal(2);
  });

  it("kill -9 during a restore: the next restore removes the dead run's temporary files and says so", async () => {
    const made = await createBackup({ sources: ['data'], cwd: root, out: join(root, 'out'), name: 'b' });
    const target = join(root, 'target');
    await killAfter(['restore', made.manifestPath, '--to', target, '--quiet', '-j', '1'], root, 900);
    // Whatever the kill left, and what a kill in the middle of a file leaves for certain:
    await writeTree(target, { 'data/.0123456789ab.gulp-backup.partial': 'half a file', 'data/f00.bin': 'restored before the kill' });
    await writeDeadLock(join(target, '.gulp-backup-restore.lock'));
    // Without overwrite, the files already restored are in the way: the refusal says why they are there.
    const refused = await restoreBackup(made.manifestPath, { to: target }).catch((error: unknown) => error);
    expect((refused as Error).message).to.match(/already exist.*A restore into this folder was interrupted before it finished.*--overwrite/s);
    // The refused run took the dead run's lock over (removing its temporary files) and released it: as the kill left them again.
    await writeTree(target, { 'data/.0123456789ab.gulp-backup.partial': 'half a file' });
    await writeDeadLock(join(target, '.gulp-backup-restore.lock'));
    const result = await restoreBackup(made.manifestPath, { to: target, overwrite: true });
    expect(result.ok).to.equal(true);
    expect(result.warnings.join('\n')).to.match(/removed \d+ temporary files? that an interrupted restore left/);
    expect((await readdir(target, { recursive: true })).filter((n) => String(n).includes('.gulp-backup'))).to.deep.equal([]);
  });
});
