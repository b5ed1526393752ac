import { expect } from 'chai';
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { createBackup, type VerifyReport } from '../../src/index.js';
import { runCli, spawnCli } from '../helpers/cli.js';
import { pseudoRandomBytes, tempDir, writeTree } from '../helpers/tree.js';

describe('cli: gulp-backup verify', () => {
  let root: string;
  let manifestPath: string;
  let archivePath: string;
  before(async () => {
    root = await tempDir();
    await writeTree(root, { 'data/a.bin': pseudoRandomBytes(300_000), 'data/b.txt': 'b' });
    ({ manifestPath, archivePath } = await createBackup({ sources: ['data'], cwd: root, out: join(root, 'out'), name: 'v', blockSize: '64KB' }));
  });

  it('exits 0 on an intact backup and says so', async () => {
    const r = await runCli(['verify', manifestPath]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/^OK .*v\.tar\.gz: 3 entries in \d+ blocks, /);
  });

  it('exits 1 on damage and names the damaged file; --json gives the report', async () => {
    const folder = await tempDir();
    const archive = join(folder, 'v.tar.gz');
    await copyFile(manifestPath, join(folder, 'v.manifest.jsonl'));
    const bytes = await readFile(archivePath);
    bytes[100_000] = bytes[100_000]! ^ 0xff;
    await writeFile(archive, bytes);
    const r = await runCli(['verify', archive]);
    expect(r.code).to.equal(1);
    expect(r.stdout).to.match(/^DAMAGED /);
    expect(r.stdout).to.match(/damaged data\/a\.bin: in damaged block \d+/);
    const json = await runCli(['verify', archive, '--json']);
    expect(json.code).to.equal(1);
    const report = JSON.parse(json.stdout) as { ok: boolean; counts: { damaged: number } };
    expect(report).to.deep.include({ ok: false });
    expect(report.counts.damaged).to.equal(1);
  });

  it('without a manifest, says what it checked by how the archive is laid out, never more (a plain tar has no checksum of content)', async () => {
    const folder = await tempDir();
    await copyFile(archivePath, join(folder, 'ours.tar.gz')); // its manifest left behind
    execFileSync('tar', ['-cf', join(folder, 'plain.tar'), '-C', root, 'data']);
    execFileSync('sh', ['-c', `gzip -c plain.tar > gnu.tar.gz`], { cwd: folder });
    const said = async (name: string) => {
      const r = await runCli(['verify', join(folder, name)]);
      expect(r.code, r.stderr).to.equal(0);
      const report = JSON.parse((await runCli(['verify', join(folder, name), '--json'])).stdout) as VerifyReport;
      return { lines: r.stdout.split('\n'), report };
    };
    const ours = await said('ours.tar.gz');
    expect(ours.lines[0]).to.match(/: 3 entries in \d+ blocks, in /);
    expect(ours.lines[1]).to.equal('  block checksums, lengths and tar structure were checked; without a manifest there are no file hashes to check');
    expect(ours.report).to.include({ layout: 'blocked', hashesChecked: false });
    const gnu = await said('gnu.tar.gz');
    expect(gnu.lines[0]).to.match(/gnu\.tar\.gz: 3 entries, in /); // one gzip stream: no blocks to count
    expect(gnu.lines[1]).to.equal('  the gzip checksum and length of every member and the tar structure were checked; a .tar.gz holds no file hashes to check');
    expect(gnu.report.layout).to.equal('gzip');
    expect(gnu.report.counts).to.include({ blocks: 1, damagedBlocks: 0 });
    const plain = await said('plain.tar');
    expect(plain.lines[1]).to.equal('  the tar structure was checked (header checksums, sizes, the end marker); a plain tar holds no checksum of any content');
    expect(plain.report.layout).to.equal('tar');
    // A damaged stream is one block, named by where in the tar it broke.
    const bytes = await readFile(join(folder, 'gnu.tar.gz'));
    await writeFile(join(folder, 'cut.tar.gz'), bytes.subarray(0, bytes.length - 20));
    const cut = await runCli(['verify', join(folder, 'cut.tar.gz')]);
    expect(cut.code).to.equal(1);
    expect(cut.stdout).to.match(/^DAMAGED .*cut\.tar\.gz: 0 damaged, 0 missing of \d+ entries; the gzip stream is damaged$/m);
    expect(cut.stdout).to.match(/^ {2}the gzip stream is damaged after \d+ bytes of tar: /m);
  });

  it('--source: exits 1 and lists the differences with the live tree', async () => {
    const same = await runCli(['verify', manifestPath, '--source', root]);
    expect(same.code, same.stdout).to.equal(0);
    expect(same.stdout).to.match(/matches the manifest/);
    const other = await tempDir();
    await writeTree(other, { 'data/b.txt': 'B' });
    const r = await runCli(['verify', manifestPath, '--source', other]);
    expect(r.code).to.equal(1);
    expect(r.stdout).to.match(/differs from it: 1 changed, 1 missing, 0 new/);
    expect(r.stdout).to.match(/missing from .*: data\/a\.bin/);
    expect(r.stdout).to.not.match(/it was made from/);
    // --source naming the source folder itself rather than the folder the paths are relative to:
    const inside = await runCli(['verify', manifestPath, '--source', join(root, 'data')]);
    expect(inside.code).to.equal(1);
    expect(inside.stdout).to.include(`most of the backup is missing from ${join(root, 'data')}: it was made from ${root} (--source names the folder its paths are relative to)`);
  });

  it('verifies the newest backup when given a folder', async () => {
    const r = await runCli(['verify', join(root, 'out')]);
    expect(r.code).to.equal(0);
    expect(r.stdout).to.match(/^OK .*v\.tar\.gz/);
    const empty = await runCli(['verify', await tempDir()]);
    expect(empty.code).to.equal(2);
    expect(empty.stderr).to.match(/No backup in/);
  });

  it('exits 2 when the file does not exist or is no manifest', async () => {
    const missing = await runCli(['verify', join(root, 'nope.manifest.jsonl')]);
    expect(missing.code).to.equal(2);
    expect(missing.stderr).to.match(/not found/);
    const bogus = join(root, 'bogus.manifest.jsonl');
    await writeFile(bogus, 'hello\n');
    const invalid = await runCli(['verify', bogus]);
    expect(invalid.code).to.equal(2);
    expect(invalid.stderr).to.match(/line 1 is not JSON/);
  });

  it('checks several backups in turn (verify backups/*.manifest.jsonl): each reported, one that cannot be read named, exit 1 when any is damaged', async () => {
    const folder = await tempDir();
    await copyFile(manifestPath, join(folder, 'v.manifest.jsonl'));
    const bytes = await readFile(archivePath);
    bytes[100_000] = bytes[100_000]! ^ 0xff;
    await writeFile(join(folder, 'v.tar.gz'), bytes);
    const missing = join(folder, 'gone.manifest.jsonl');
    const r = await runCli(['verify', manifestPath, missing, join(folder, 'v.manifest.jsonl')]);
    expect(r.code).to.equal(1);
    expect(r.stdout).to.match(/^OK .*v\.tar\.gz: 3 entries/m);
    expect(r.stdout).to.match(/^DAMAGED .*v\.tar\.gz/m);
    expect(r.stderr).to.match(/gone\.manifest\.jsonl not found/);
    const json = await runCli(['verify', manifestPath, missing, '--json']);
    expect(json.code, 'no damage, one unreadable: exit 2').to.equal(2);
    const lines = json.stdout.trim().split('\n').map((line) => JSON.parse(line) as { ok?: boolean; event?: string; code?: string });
    expect(lines.map((line) => line.ok ?? line.code)).to.deep.equal([true, 'SOURCE_NOT_FOUND']);
    const both = await runCli(['verify', manifestPath, manifestPath]);
    expect(both.code).to.equal(0);
  });

  it('a FIFO named as an archive or a manifest is refused at once (exit 2), never waited on for a writer', async () => {
    const folder = join(root, 'fifos');
    execFileSync('mkdir', ['-p', join(folder, 'in-folder')]);
    execFileSync('mkfifo', [join(folder, 'pipe.tar.gz'), join(folder, 'pipe.manifest.jsonl'), join(folder, 'in-folder', 'x.manifest.jsonl')]);
    for (const args of [
      ['verify', join(folder, 'pipe.tar.gz')],
      ['verify', join(folder, 'pipe.manifest.jsonl')],
      ['verify', join(folder, 'in-folder')],
      ['restore', join(folder, 'pipe.tar.gz'), '-t', join(folder, 'out')],
      ['ls', join(folder, 'pipe.tar.gz')],
    ]) {
      // A separate process, killed if it hangs: a thread blocked in open() would hold this one too.
      const r = await spawnCli(args, folder, 20_000);
      expect(r.exitCode, `${args.join(' ')}: ${r.stderr}`).to.equal(2);
      expect(r.stderr, args.join(' ')).to.match(/is a FIFO \(a named pipe\), not a file: .*Save the stream to a file first/);
    }
  });

  it('a backup made by a newer gulp-backup (a manifest format it does not know) is never called damaged: exit 2, saying to upgrade', async () => {
    const folder = join(root, 'newer');
    execFileSync('mkdir', ['-p', folder]);
    await copyFile(archivePath, join(folder, 'v.tar.gz'));
    const text = await readFile(manifestPath, 'utf8');
    await writeFile(join(folder, 'v.manifest.jsonl'), text.replace('"version":2', '"version":3'));
    const upgrade = /v\.manifest\.jsonl was made by a newer gulp-backup \(manifest format version 3; this one reads versions 1 and 2\): upgrade gulp-backup/;
    for (const args of [['verify', folder], ['verify', join(folder, 'v.manifest.jsonl')], ['restore', folder, '-t', join(root, 'newer-restored')], ['restore', join(folder, 'v.tar.gz'), '-t', join(root, 'newer-restored')]]) {
      const r = await runCli([...args, '--json']);
      expect(r.code, args.join(' ')).to.equal(2);
      expect(r.stderr, args.join(' ')).to.match(upgrade);
      expect(r.stdout).to.include('"code":"ARCHIVE_UNSUPPORTED"');
    }
  });
});
