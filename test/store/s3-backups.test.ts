/**
 * Backups in object storage: every command against a real S3 protocol server (s3rver) through the
 * real AWS SDK, with faults injected by a proxy in front of it.
 */
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createBackup, previewRestore, pruneBackups, restoreBackup, verifyBackup, type BackupError, type BackupResult } from '../../src/index.js';
import { readManifest } from '../../src/format/manifest.js';
import { RunLock } from '../../src/engine/run-lock.js';
import { storesFor } from '../../src/store/stores.js';
import { Readable } from 'node:stream';
import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import { S3TestServer, SECRET_KEY } from '../helpers/s3.js';
import { runCli } from '../helpers/cli.js';
import { pseudoRandomBytes, snapshotTree, tempDir, writeTree } from '../helpers/tree.js';

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

describe('store/S3: backups in a bucket', function () {
  this.timeout(120_000);
  let s3: S3TestServer;
  let root: string;

  before(async () => {
    s3 = await S3TestServer.start();
    root = await tempDir();
    await writeTree(root, {
      'site/index.html': { content: '<h1>hi</h1>', mode: 0o640, mtime: 1_500_000_000.25 },
      'site/bin/run.sh': { content: '#!/bin/sh\n', mode: 0o755 },
      'site/big.bin': pseudoRandomBytes(12_000_000, 7),
      'site/deep/er/x.txt': 'x',
      'site/link': { symlink: 'index.html' },
    });
  });
  after(async () => s3.close());
  afterEach(() => s3.clearFaults());

  it('writes a backup to s3://bucket/prefix that verifies and restores exactly', async () => {
    const result = await createBackup({ sources: ['site'], cwd: root, out: s3.location('nightly'), name: 'b1', s3: s3.settings({ partSize: '5MB' }) });
    expect(result.archivePath).to.equal(s3.location('nightly/b1.tar.gz'));
    expect(await s3.keys('nightly/')).to.deep.equal(['nightly/b1.manifest.jsonl', 'nightly/b1.tar.gz', 'nightly/b1.tar.gz.sha256']);
    expect(result.statistics.store?.requests).to.be.greaterThan(3);

    s3.takeRequests();
    // The first GET answers late, so the next ones are seen while it is still open.
    s3.inject({ method: 'GET', url: (url) => url.includes('b1.tar.gz'), action: 'delay' });
    const report = await verifyBackup(result.manifestPath, { s3: s3.settings() });
    expect(report.ok, JSON.stringify(report.problems)).to.equal(true);
    expect(report.hashesChecked).to.equal(true);
    // The blocks are fetched ahead with ranged GETs, several at once, and each byte once.
    expect(s3.maxInFlight).to.be.greaterThan(1);
    const gets = s3.takeRequests().filter((r) => r.method === 'GET' && r.url.includes('b1.tar.gz'));
    expect(gets.length).to.be.greaterThan(1);
    expect(gets.reduce((sum, r) => sum + r.bytesOut, 0)).to.equal(result.statistics.archiveBytes);
    expect(report.store?.bytesRead).to.equal(result.statistics.archiveBytes + (await s3.getObject('nightly/b1.manifest.jsonl')).length);

    const target = await tempDir();
    const restored = await restoreBackup(s3.location('nightly'), { to: target, s3: s3.settings() });
    expect(restored.ok, JSON.stringify(restored.failures)).to.equal(true);
    expect(await snapshotTree(join(target, 'site'))).to.deep.equal(await snapshotTree(join(root, 'site')));
  });

  it('stores the bytes it sent, on every upload path: multipart, one PUT, small files', async () => {
    // 12 MB of random content in 5 MB parts: a three-part upload; the manifest and checksum: one PUT each.
    s3.takeRequests();
    const big = await createBackup({ sources: ['site'], cwd: root, out: s3.location('bytes'), name: 'multi', s3: s3.settings({ partSize: '5MB' }) });
    const small = await createBackup({ sources: ['site/index.html'], cwd: root, out: s3.location('bytes'), name: 'single', s3: s3.settings() });
    for (const [result, name] of [
      [big, 'multi'],
      [small, 'single'],
    ] as [BackupResult, string][]) {
      const archive = await s3.getObject(`bytes/${name}.tar.gz`);
      const manifestBytes = await s3.getObject(`bytes/${name}.manifest.jsonl`);
      const manifest = await readManifest(Readable.from([manifestBytes]));
      expect(archive.length).to.equal(manifest.footer.archiveFile.size);
      expect(sha256(archive)).to.equal(manifest.footer.archiveFile.sha256);
      expect((await s3.getObject(`bytes/${name}.tar.gz.sha256`)).toString()).to.equal(`${manifest.footer.archiveFile.sha256}  ${name}.tar.gz\n`);
      expect(result.statistics.archiveBytes).to.equal(archive.length);
      // No aws-chunked framing or trailing checksum stored in front of or after the bytes.
      expect(archive.subarray(0, 2)).to.deep.equal(Buffer.from([0x1f, 0x8b]));
    }
    // Parts go up several at once, so they arrive in any order: by part number.
    const parts = s3
      .takeRequests()
      .filter((r) => r.method === 'PUT' && r.url.includes('partNumber='))
      .map((r) => [Number(/partNumber=(\d+)/.exec(r.url)![1]), r.bytesIn])
      .sort((a, b) => a[0]! - b[0]!);
    expect(parts).to.deep.equal([
      [1, 5 * 1024 * 1024],
      [2, 5 * 1024 * 1024],
      [3, big.statistics.archiveBytes - 10 * 1024 * 1024],
    ]);
  });

  it('reads only the blocks it needs: restoring one small file of a large backup fetches a few blocks', async () => {
    const result = await createBackup({ sources: ['site'], cwd: root, out: s3.location('random'), name: 'r', blockSize: '256KB', s3: s3.settings() });
    s3.takeRequests();
    const target = await tempDir();
    const restored = await restoreBackup(result.manifestPath, { to: target, include: ['site/deep/er/x.txt'], s3: s3.settings() });
    expect(restored.ok).to.equal(true);
    expect(restored.blocksRead).to.be.lessThan(3);
    expect(restored.store?.bytesRead).to.be.lessThan(2 * 256 * 1024 + 64 * 1024); // a few blocks and the manifest
    const archiveBytes = s3
      .takeRequests()
      .filter((r) => r.method === 'GET' && r.url.includes('r.tar.gz'))
      .reduce((sum, r) => sum + r.bytesOut, 0);
    // Files far apart: their blocks only, fetched at once.
    const spread = await restoreBackup(result.manifestPath, { to: await tempDir(), include: ['site/index.html', 'site/deep/er/x.txt', 'site/bin/run.sh'], s3: s3.settings() });
    expect(spread.ok).to.equal(true);
    expect(spread.store?.bytesRead).to.be.lessThan(4 * 256 * 1024);
    expect(archiveBytes).to.be.greaterThan(0);
    expect(archiveBytes).to.be.lessThan(2 * 256 * 1024);
  });

  it('builds chains in the bucket: an incremental backup restores like a local one', async () => {
    const tree = await tempDir();
    await writeTree(tree, { 'a.txt': 'one', 'b.bin': pseudoRandomBytes(300_000, 3) });
    const settings = s3.settings();
    const full = await createBackup({ sources: ['.'], cwd: tree, out: s3.location('chain'), name: 'full', s3: settings });
    await writeFile(join(tree, 'a.txt'), 'two, longer');
    const incremental = await createBackup({ sources: ['.'], cwd: tree, out: s3.location('chain'), name: 'inc', kind: 'incremental', s3: settings });
    expect(incremental.kind).to.equal('incremental');
    expect(incremental.parent?.manifestPath).to.equal(full.manifestPath);
    expect(incremental.changes).to.include({ changed: 1, unchanged: 1 });
    const target = await tempDir();
    const restored = await restoreBackup(incremental.manifestPath, { to: target, s3: settings });
    expect(restored.ok, JSON.stringify(restored.failures)).to.equal(true);
    expect(await snapshotTree(target)).to.deep.equal(await snapshotTree(tree));
    expect((await verifyBackup(incremental.manifestPath, { s3: settings })).ok).to.equal(true);

    // A rollback from the bucket to the full backup: the incremental's change goes back, a file made since goes.
    await writeFile(join(target, 'made-since.txt'), 'later');
    const preview = await previewRestore(full.manifestPath, { to: target, overwrite: true, delete: true, s3: settings });
    const rolledBack = await restoreBackup(full.manifestPath, { to: target, overwrite: true, delete: true, s3: settings });
    expect(rolledBack.ok, JSON.stringify(rolledBack.failures)).to.equal(true);
    expect(rolledBack.deleted).to.deep.equal(['made-since.txt']);
    expect(preview.delete).to.deep.equal(rolledBack.deleted);
    expect(await readFile(join(target, 'a.txt'), 'utf8')).to.equal('one');

    // Renamed in the bucket (as `aws s3 mv` does: a copy, then the old key deleted): the full backup
    // is found by its id, its archive by the manifest's new name, and the chain still verifies.
    for (const key of await s3.keys('chain/full.')) {
      await s3.putObject(key.replace('chain/full.', 'chain/base.'), await s3.getObject(key));
      await s3.client().send(new DeleteObjectCommand({ Bucket: s3.bucket, Key: key }));
    }
    const renamed = await verifyBackup(incremental.manifestPath, { s3: settings });
    expect(renamed.problems).to.deep.equal([]);
    expect(renamed.archives).to.include(s3.location('chain/base.tar.gz'));
    expect((await verifyBackup(s3.location('chain/base.manifest.jsonl'), { s3: settings })).ok).to.equal(true);
  });

  it('keeps a chain in one place: --since in a bucket with --out on disk is refused, naming both', async () => {
    await createBackup({ sources: ['site/index.html'], cwd: root, out: s3.location('elsewhere'), s3: s3.settings() });
    const error = (await createBackup({ sources: ['site/index.html'], cwd: root, out: join(root, 'local-out'), kind: 'incremental', since: s3.location('elsewhere'), s3: s3.settings() }).catch(
      (e: unknown) => e,
    )) as BackupError;
    expect(error.code).to.equal('INVALID_OPTION');
    expect(error.message).to.include('in the same place as the output').and.include('local-out');
  });

  it('retries throttling, 500s and connections reset mid-part and mid-GET, and counts the retries', async () => {
    s3.inject({ method: 'PUT', url: (url) => url.includes('partNumber=1'), action: 'slow-down', times: 2 });
    s3.inject({ method: 'PUT', url: (url) => url.includes('partNumber=2'), action: 'reset-request' });
    s3.inject({ method: 'PUT', url: (url) => url.includes('.manifest.jsonl'), action: 'internal-error' });
    const result = await createBackup({ sources: ['site'], cwd: root, out: s3.location('faults'), name: 'f', s3: s3.settings({ partSize: '5MB' }) });
    expect(result.statistics.store?.retries).to.be.at.least(4);
    s3.inject({ method: 'GET', url: (url) => url.includes('f.tar.gz'), action: 'reset-response', times: 2 });
    s3.inject({ method: 'GET', url: (url) => url.includes('f.manifest.jsonl'), action: 'slow-down' });
    const report = await verifyBackup(result.manifestPath, { s3: s3.settings() });
    expect(report.ok, JSON.stringify(report.problems)).to.equal(true);
    expect(report.store?.retries).to.be.at.least(3);
    const target = await tempDir();
    s3.inject({ method: 'GET', url: (url) => url.includes('f.tar.gz'), action: 'reset-response' });
    const restored = await restoreBackup(result.manifestPath, { to: target, s3: s3.settings() });
    expect(restored.ok).to.equal(true);
    expect(await snapshotTree(join(target, 'site'))).to.deep.equal(await snapshotTree(join(root, 'site')));
  });

  it('a body damaged on the wire is sent again (the server checks its Content-MD5, or its ETag gives it away): what is stored is what was sent', async () => {
    s3.inject({ method: 'PUT', url: (url) => url.includes('partNumber=2'), action: 'corrupt-request' });
    s3.inject({ method: 'PUT', url: (url) => url.includes('c.manifest.jsonl'), action: 'corrupt-request' });
    const result = await createBackup({ sources: ['site'], cwd: root, out: s3.location('corrupt'), name: 'c', s3: s3.settings({ partSize: '5MB' }) });
    expect(result.statistics.store?.retries).to.equal(2);
    const report = await verifyBackup(result.manifestPath, { s3: s3.settings() });
    expect(report.ok, JSON.stringify(report.problems)).to.equal(true);
  });

  it('never hangs on a server that stops answering: the silent request is dropped and retried', async () => {
    s3.inject({ method: 'PUT', url: (url) => url.includes('partNumber=1'), action: 'stall' });
    s3.inject({ method: 'GET', url: (url) => url.includes('.tar.gz'), action: 'stall' });
    const settings = s3.settings({ partSize: '5MB', idleTimeout: 2000 });
    const result = await createBackup({ sources: ['site'], cwd: root, out: s3.location('stall'), name: 's', s3: settings });
    expect(result.statistics.store?.retries).to.equal(1);
    const report = await verifyBackup(result.manifestPath, { s3: settings });
    expect(report.ok, JSON.stringify(report.problems)).to.equal(true);
  });

  it('leaves no manifest when an upload fails for good, and aborts its multipart upload', async () => {
    s3.inject({ method: 'PUT', url: (url) => url.includes('partNumber=2'), action: 'internal-error', times: 100 });
    s3.takeRequests();
    const error = (await createBackup({ sources: ['site'], cwd: root, out: s3.location('failed'), name: 'x', s3: s3.settings({ partSize: '5MB', maxAttempts: 2 }) }).then(
      () => undefined,
      (e: unknown) => e,
    )) as BackupError;
    expect(error?.code).to.equal('STORE_UNAVAILABLE');
    expect(error.message).to.match(/after 2 attempts/);
    expect(await s3.keys('failed/')).to.deep.equal([]);
    expect(s3.takeRequests().some((r) => r.method === 'DELETE' && r.url.includes('uploadId='))).to.equal(true);

    // The archive is in place when the manifest fails for good: the archive and checksum go again.
    s3.clearFaults();
    s3.inject({ method: 'PUT', url: (url) => url.includes('y.manifest.jsonl'), action: 'internal-error', times: 100 });
    const late = (await createBackup({ sources: ['site'], cwd: root, out: s3.location('failed'), name: 'y', s3: s3.settings({ maxAttempts: 2 }) }).catch((e: unknown) => e)) as BackupError;
    expect(late.code).to.equal('STORE_UNAVAILABLE');
    expect(await s3.keys('failed/')).to.deep.equal([]);
  });

  it('replaces a backup of the same name only once the new one is whole: a failed replace keeps the old one', async () => {
    const tree = await tempDir();
    await writeTree(tree, { 'a.txt': 'old' });
    const settings = s3.settings({ maxAttempts: 1 });
    const old = await createBackup({ sources: ['.'], cwd: tree, out: s3.location('replace'), name: 'snap', s3: settings });
    await writeFile(join(tree, 'a.txt'), 'new');
    s3.inject({ method: 'PUT', url: (url) => url.includes('snap.manifest.jsonl'), action: 'internal-error', times: 10 });
    const failed = await createBackup({ sources: ['.'], cwd: tree, out: s3.location('replace'), name: 'snap', replace: true, s3: settings }).catch((e: unknown) => e);
    expect((failed as BackupError).code).to.equal('STORE_UNAVAILABLE');
    s3.clearFaults();
    const kept = await verifyBackup(s3.location('replace/snap.manifest.jsonl'), { s3: settings });
    expect(kept.ok, JSON.stringify(kept.problems)).to.equal(true);
    const keptManifest = await readManifest(Readable.from([await s3.getObject('replace/snap.manifest.jsonl')]));
    expect(keptManifest.header.id).to.equal(old.id);
    const replaced = await createBackup({ sources: ['.'], cwd: tree, out: s3.location('replace'), name: 'snap', replace: true, s3: settings });
    expect(replaced.id).not.to.equal(old.id);
    const target = await tempDir();
    expect((await restoreBackup(s3.location('replace'), { to: target, s3: settings })).ok).to.equal(true);
    expect(await snapshotTree(target)).to.deep.equal(await snapshotTree(tree));
  });

  it('says when credentials are refused or expired, without printing the secret (exit 2)', async () => {
    s3.inject({ action: 'denied', times: 100 });
    const run = await runCli(['create', 'site', '-C', root, '--out', s3.location('denied'), '--s3-endpoint', s3.endpoint], undefined, {
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: SECRET_KEY,
    });
    expect(run.code).to.equal(2);
    expect(run.stderr).to.match(/S3 refused opening .*\(InvalidAccessKeyId, HTTP 403\)\. Check the credentials/);
    expect(run.stderr + run.stdout).not.to.include(SECRET_KEY);
    s3.clearFaults();
    s3.inject({ action: 'expired', times: 100 });
    const expired = await verifyBackup(s3.location('nightly'), { s3: s3.settings() }).catch((e: unknown) => e);
    expect((expired as BackupError).code).to.equal('STORE_ACCESS_DENIED');
    expect((expired as BackupError).message).to.match(/\(ExpiredToken, HTTP 400\).*that they have not expired/);
  });

  it('names a bucket that does not exist (exit 2)', async () => {
    const error = (await verifyBackup('s3://no-such-bucket/x', { s3: s3.settings() }).catch((e: unknown) => e)) as BackupError;
    expect(error.code).to.equal('STORE_NOT_FOUND');
    expect(error.message).to.include('The bucket no-such-bucket does not exist');
    const run = await runCli(['ls', 's3://no-such-bucket/backups', '--s3-endpoint', s3.endpoint], undefined, { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: SECRET_KEY });
    expect(run.code).to.equal(2);
    expect(run.stderr).to.include('The bucket no-such-bucket does not exist');
  });

  it('runs every command on s3:// from the CLI: create, ls, verify, restore, stats, prune', async () => {
    const env = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: SECRET_KEY, AWS_ENDPOINT_URL: s3.endpoint };
    const tree = await tempDir();
    await writeTree(tree, { 'a.txt': 'one' });
    const out = s3.location('cli');
    const created = await runCli(['create', '.', '-C', tree, '--out', out, '--name', 'one', '--json'], undefined, env);
    expect(created.code, created.stderr).to.equal(0);
    await writeFile(join(tree, 'a.txt'), 'two');
    expect((await runCli(['create', '.', '-C', tree, '--out', out, '--name', 'two', '--incremental', '-q'], undefined, env)).code).to.equal(0);
    const badPart = await runCli(['create', '.', '-C', tree, '--out', out, '--s3-part-size', '1MB'], undefined, env);
    expect(badPart.code).to.equal(2);
    expect(badPart.stderr).to.include('--s3-part-size must be a size from 5MB to 5GB');
    const listed = await runCli(['ls', out], undefined, env);
    expect(listed.code, listed.stderr).to.equal(0);
    expect(listed.stdout).to.match(/full .* one\.manifest\.jsonl/).and.match(/incremental .* two\.manifest\.jsonl {2}← one\.manifest\.jsonl/);
    const verified = await runCli(['verify', `${out}/two.manifest.jsonl`], undefined, env);
    expect(verified.code, verified.stderr).to.equal(0);
    expect(verified.stdout).to.match(/^OK s3:\/\/backups\/cli\/two\.tar\.gz: .*\n {2}S3: \d+ requests, [\d.]+ KB fetched/);
    const target = await tempDir();
    const restored = await runCli(['restore', out, '--to', target, '-q'], undefined, env);
    expect(restored.code, restored.stderr).to.equal(0);
    expect(await snapshotTree(target)).to.deep.equal(await snapshotTree(tree));
    const stats = await runCli(['stats', `${out}/one.tar.gz`, '--json'], undefined, env);
    expect(JSON.parse(stats.stdout)).to.include({ kind: 'full' });
    const pruned = await runCli(['prune', out, '--keep-last', '1', '--json'], undefined, env);
    expect(pruned.code, pruned.stderr).to.equal(0);
    expect(JSON.parse(pruned.stdout).removed).to.deep.equal([]); // the full backup is needed by the kept incremental one
  });

  it('runs as gulp tasks: backupTask, verifyTask and restoreTask take s3:// locations', async () => {
    const { backupTask, verifyTask, restoreTask } = await import('../../src/index.js');
    const tree = await tempDir();
    await writeTree(tree, { 'a.txt': 'one', 'b/c.txt': 'two' });
    const settings = s3.settings();
    const made = await backupTask({ sources: ['.'], cwd: tree, out: s3.location('tasks'), s3: settings })();
    expect(made.kind).to.equal('full'); // auto, first of a chain
    expect((await verifyTask(s3.location('tasks'), { s3: settings })()).ok).to.equal(true);
    const target = await tempDir();
    await restoreTask(s3.location('tasks'), { to: target, s3: settings })();
    expect(await snapshotTree(target)).to.deep.equal(await snapshotTree(tree));
  });

  it('runs as the backup() plugin with out: s3://…: the backup goes to the bucket, chains included', async () => {
    const { default: gulp } = await import('gulp');
    const { pipeline } = await import('node:stream/promises');
    const { backup } = await import('../../src/index.js');
    const tree = await tempDir();
    await writeTree(tree, { 'site/a.txt': 'one', 'site/b.bin': pseudoRandomBytes(200_000, 5) });
    const settings = s3.settings();
    const run = (options: object) => pipeline(gulp.src('site/**', { cwd: tree, encoding: false, read: false }), backup({ out: s3.location('plugin'), s3: settings, ...options }));
    await run({ name: 'p1' });
    await writeFile(join(tree, 'site/a.txt'), 'two');
    await run({ name: 'p2', kind: 'incremental' });
    expect(await s3.keys('plugin/')).to.deep.equal(['plugin/p1.manifest.jsonl', 'plugin/p1.tar.gz', 'plugin/p1.tar.gz.sha256', 'plugin/p2.manifest.jsonl', 'plugin/p2.tar.gz', 'plugin/p2.tar.gz.sha256']);
    const manifest = await readManifest(Readable.from([await s3.getObject('plugin/p2.manifest.jsonl')]));
    expect(manifest.header.kind).to.equal('incremental');
    const target = await tempDir();
    const restored = await restoreBackup(s3.location('plugin'), { to: target, s3: settings });
    expect(restored.ok, JSON.stringify(restored.failures)).to.equal(true);
    // Paths are relative to the glob's base, as gulp.dest would write them.
    expect(await snapshotTree(target)).to.deep.equal(await snapshotTree(join(tree, 'site')));
  });

  it('prunes in a bucket: removes what the policy does not keep, manifest first', async () => {
    const tree = await tempDir();
    await writeTree(tree, { 'a.txt': 'one' });
    const settings = s3.settings();
    for (const name of ['p1', 'p2', 'p3']) await createBackup({ sources: ['.'], cwd: tree, out: s3.location('prune'), name, s3: settings });
    const result = await pruneBackups(s3.location('prune'), { keepLast: 1, s3: settings });
    expect(result.removed.map((r) => r.manifest).sort()).to.deep.equal(['p1.manifest.jsonl', 'p2.manifest.jsonl']);
    expect(await s3.keys('prune/')).to.deep.equal(['prune/p3.manifest.jsonl', 'prune/p3.tar.gz', 'prune/p3.tar.gz.sha256']);
  });

  it("another host's lock in the bucket: a live run's while refreshed (prune waits, naming it), a killed run's after half an hour; a run refreshes its own", async () => {
    const lock = JSON.stringify({ pid: 77, host: 'ci-runner-elsewhere', startedAt: new Date().toISOString() });
    await s3.putObject('away/k.gulp-backup.lock', lock);
    await s3.putObject('away/k.tar.gz', 'half an archive');
    const refused = await pruneBackups(s3.location('away'), { keepLast: 1, s3: s3.settings() }).catch((error: unknown) => error);
    expect(refused).to.include({ code: 'RUN_IN_PROGRESS' });
    expect((refused as Error).message).to.match(/pid 77 on ci-runner-elsewhere, .*its lock refreshed 0 min ago/);
    await s3.age('away/k.gulp-backup.lock', 31 * 60_000);
    const pruned = await pruneBackups(s3.location('away'), { keepLast: 1, s3: s3.settings() });
    expect(pruned.cleaned).to.deep.equal(['k.tar.gz', 'k.gulp-backup.lock']);
    expect(await s3.keys('away/')).to.deep.equal([]);

    // Refreshing writes the lock again, with its content, and its time moves.
    const store = storesFor(s3.settings()).folder(s3.location('own'));
    const own = (await RunLock.claim(store, 'o.gulp-backup.lock', { refreshEveryMs: 20 }))!;
    const content = (await store.readAll('o.gulp-backup.lock')).toString();
    await s3.age('own/o.gulp-backup.lock', 3_600_000);
    for (let tries = 0; (await store.stat('o.gulp-backup.lock'))!.modified.getTime() < Date.now() - 60_000; tries++) {
      expect(tries, 'the lock was not refreshed').to.be.lessThan(250);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    // s3rver writes an object in place (S3 itself swaps it whole): a read may meet a refresh half-done.
    let again = '';
    for (let tries = 0; tries < 50 && !again.endsWith('\n'); tries++) again = (await store.readAll('o.gulp-backup.lock')).toString();
    expect(again).to.equal(content);
    await own.release();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await s3.keys('own/')).to.deep.equal([]);
  });

  it('cleans up after a run that was killed: its lock and its archive without a manifest go', async () => {
    const lock = JSON.stringify({ pid: 2 ** 22 + 17, host: (await import('node:os')).hostname(), startedAt: new Date().toISOString() });
    await s3.putObject('dead/k.gulp-backup.lock', lock);
    await s3.putObject('dead/k.tar.gz', 'half an archive');
    const tree = await tempDir();
    await writeTree(tree, { 'a.txt': 'one' });
    const result = await createBackup({ sources: ['.'], cwd: tree, out: s3.location('dead'), name: 'next', s3: s3.settings() });
    expect(result.warnings.join(' ')).to.include('k.tar.gz');
    expect(await s3.keys('dead/')).to.deep.equal(['dead/next.manifest.jsonl', 'dead/next.tar.gz', 'dead/next.tar.gz.sha256']);
  });
});
