/**
 * The archive and manifest checked with the real tools users have: tar, gzip, sha256sum, md5sum.
 */
import { expect } from 'chai';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { createBackup, type BackupResult } from '../../src/index.js';
import { END_MARKER, decodeMemberHeader } from '../../src/format/blocked-gzip.js';
import { loadManifest } from '../helpers/archive.js';
import { pseudoRandomBytes, run, snapshotTree, tempDir, writeTree } from '../helpers/tree.js';

const OLD = 1_600_000_000.5; // seconds, with a fraction that binary floating point holds exactly

async function sampleTree(root: string): Promise<void> {
  await writeTree(root, {
    'project/README.md': { content: '# hello\n', mtime: OLD },
    'project/src/index.ts': { content: 'export const x = 1;\n'.repeat(2000), mode: 0o640 },
    'project/src/empty.txt': '',
    'project/bin/run.sh': { content: '#!/bin/sh\necho hi\n', mode: 0o755 },
    'project/assets/noise.bin': pseudoRandomBytes(300_000),
    'project/assets/zeros.bin': Buffer.alloc(200_000),
    [`project/deep/${'long-name-'.repeat(12)}.txt`]: 'a long name',
    'project/unicode/héllo wörld ✓.txt': 'unicode',
    'project/empty-folder': { dir: true, mode: 0o700 },
    'project/links/to-readme': { symlink: '../README.md' },
    'project/links/dangling': { symlink: 'nowhere' },
    'project/links/hard.md': { hardlinkTo: 'project/README.md' },
  });
}

describe('engine/createBackup: interoperability with tar, gzip and sha256sum', function () {
  let root: string;
  let out: string;
  let result: BackupResult;

  before(async () => {
    root = await tempDir();
    out = join(root, 'out');
    await sampleTree(root);
    result = await createBackup({ sources: ['project'], cwd: root, out, blockSize: '64KB', concurrency: 3, hashes: ['sha256', 'md5'] });
  });

  it('tar -tzf lists exactly the manifest entries, in order', async () => {
    const manifest = await loadManifest(result.manifestPath);
    const listed = (await run('tar', ['-tzf', result.archivePath])).split('\n').filter(Boolean);
    expect(listed).to.deep.equal(manifest.entries.map((entry) => (entry.type === 'directory' ? `${entry.path}/` : entry.path)));
    expect(listed).to.include('project/unicode/héllo wörld ✓.txt');
  });

  it('tar -xzf gives back the tree: content, modes, mtimes and links', async () => {
    const restored = await tempDir();
    await run('tar', ['-xzf', result.archivePath, '-C', restored]);
    const before = await snapshotTree(join(root, 'project'));
    const after = await snapshotTree(join(restored, 'project'));
    expect(after).to.deep.equal(before);
    expect(after['README.md']!.mtimeMs).to.equal(Math.floor(OLD * 1000));
    expect(after['bin/run.sh']!.mode).to.equal(0o755);
    expect(after['empty-folder']).to.include({ type: 'directory', mode: 0o700 });
    const hard = await stat(join(restored, 'project/links/hard.md'));
    expect(hard.ino).to.equal((await stat(join(restored, 'project/README.md'))).ino);
  });

  it('gzip -t accepts the archive and sha256sum -c its checksum file', async () => {
    await run('gzip', ['-t', result.archivePath]);
    const checked = await run('sha256sum', ['-c', result.checksumPath], out);
    expect(checked).to.match(/: OK$/m);
  });

  it('records per-file hashes equal to sha256sum and md5sum', async () => {
    const manifest = await loadManifest(result.manifestPath);
    const files = manifest.entries.filter((entry) => entry.type === 'file');
    expect(files.length).to.equal(8);
    const sha = await run('sha256sum', ['--', ...files.map((f) => f.path)], root);
    const md5 = await run('md5sum', ['--', ...files.map((f) => f.path)], root);
    const table = (text: string) => new Map(text.trim().split('\n').map((line) => [line.slice(line.indexOf('  ') + 2), line.slice(0, line.indexOf('  '))]));
    const shaByPath = table(sha);
    const md5ByPath = table(md5);
    for (const file of files) {
      expect(file.hashes, file.path).to.deep.equal({ sha256: shaByPath.get(file.path), md5: md5ByPath.get(file.path) });
    }
  });

  it('hashes agree with sha256sum and md5sum whichever thread computed them: in a block, across blocks, in the hasher thread', async () => {
    const dir = await tempDir();
    // With 64 KB blocks: files whole in one block (hashed by its compression worker), small files
    // across a block boundary (hashed on the main thread), files over 1 MiB (the hasher thread).
    // With 4 MB blocks, a 2 MiB file fits in one block and its worker hashes it.
    const files: Record<string, Buffer> = {};
    for (let i = 0; i < 40; i++) files[`t/f${String(i).padStart(2, '0')}.bin`] = pseudoRandomBytes(1 + ((i * 7919) % 50_000), i + 1);
    files['t/big-2MiB.bin'] = pseudoRandomBytes(2 * 1024 * 1024, 99);
    files['t/big-5MiB.bin'] = pseudoRandomBytes(5 * 1024 * 1024 + 17, 98);
    await writeTree(dir, files);
    const sha = new Map((await run('sha256sum', ['--', ...Object.keys(files)], dir)).trim().split('\n').map((line) => [line.slice(66), line.slice(0, 64)]));
    const md5 = new Map((await run('md5sum', ['--', ...Object.keys(files)], dir)).trim().split('\n').map((line) => [line.slice(34), line.slice(0, 32)]));
    for (const blockSize of ['64KB', '4MB']) {
      const made = await createBackup({ sources: ['t'], cwd: dir, out: join(dir, `out-${blockSize}`), blockSize, hashes: ['sha256', 'md5'] });
      const entries = (await loadManifest(made.manifestPath)).entries.filter((entry) => entry.type === 'file');
      expect(entries.length).to.equal(42);
      for (const entry of entries) expect(entry.hashes, `${entry.path} (${blockSize} blocks)`).to.deep.equal({ sha256: sha.get(entry.path), md5: md5.get(entry.path) });
    }
  });

  it('indexes every block: offsets point at members that inflate alone to one block', async () => {
    const manifest = await loadManifest(result.manifestPath);
    const archive = await readFile(result.archivePath);
    const { offsets, blockSize, count } = manifest.footer.blocks;
    expect(count).to.be.greaterThan(3);
    expect(offsets.length).to.equal(count + 1);
    let tarBytes = 0;
    for (let i = 0; i < count; i++) {
      const info = decodeMemberHeader(archive, offsets[i]);
      expect(info?.memberLength).to.equal(offsets[i + 1]! - offsets[i]!);
      const block = gunzipSync(archive.subarray(offsets[i], offsets[i + 1]));
      expect(block.length).to.equal(i < count - 1 ? blockSize : info!.rawLength);
      tarBytes += block.length;
    }
    expect(tarBytes).to.equal(manifest.footer.totals.tarBytes);
    expect(archive.subarray(offsets[count]).equals(END_MARKER)).to.equal(true);
    expect(manifest.footer.archiveFile).to.deep.include({ size: archive.length, name: manifest.header.archive });
  });

  it('records tar offsets that locate each entry and its content', async () => {
    const manifest = await loadManifest(result.manifestPath);
    const tar = gunzipSync(await readFile(result.archivePath));
    for (const entry of manifest.entries.filter((e) => e.type === 'file')) {
      const content = await readFile(join(root, entry.path));
      expect(tar.subarray(entry.dataOffset!, entry.dataOffset! + entry.size).equals(content), entry.path).to.equal(true);
      expect(entry.offset).to.be.lessThan(entry.dataOffset!);
    }
  });

  it('makes byte-identical archives whatever the concurrency and memory limit', async () => {
    const one = await createBackup({ sources: ['project'], cwd: root, out, name: 'c1', blockSize: '64KB', concurrency: 1 });
    const four = await createBackup({ sources: ['project'], cwd: root, out, name: 'c4', blockSize: '64KB', concurrency: 4 });
    const tight = await createBackup({ sources: ['project'], cwd: root, out, name: 'tight', blockSize: '64KB', concurrency: 4, maxMemory: '128KB' });
    expect((await readFile(one.archivePath)).equals(await readFile(four.archivePath))).to.equal(true);
    expect((await readFile(tight.archivePath)).equals(await readFile(four.archivePath))).to.equal(true);
  });

  it('writes a plain tar with codec none, which tar -tf lists', async () => {
    const plain = await createBackup({ sources: ['project'], cwd: root, out, name: 'plain', codec: 'none' });
    expect(plain.archivePath).to.match(/plain\.tar$/);
    const listed = (await run('tar', ['-tf', plain.archivePath])).split('\n').filter(Boolean);
    expect(listed).to.include('project/src/index.ts');
    expect(plain.statistics.archiveBytes).to.equal(plain.statistics.tarBytes);
  });

  it('compresses at every level from 0 to 9 into archives gzip accepts', async () => {
    const sizes: number[] = [];
    for (const level of [0, 1, 9]) {
      const r = await createBackup({ sources: ['project/src'], cwd: root, out, name: `level${level}`, level });
      await run('gzip', ['-t', r.archivePath]);
      sizes.push(r.statistics.archiveBytes);
    }
    expect(sizes[0]).to.be.greaterThan(sizes[1]!);
    expect(sizes[1]).to.be.at.least(sizes[2]!);
  });

  it('reports statistics that agree with the files written', async () => {
    const s = result.statistics;
    expect(s).to.include({ files: 8, directories: 8, symlinks: 2, hardlinks: 1, skipped: 0 });
    expect(s.archiveBytes).to.equal((await stat(result.archivePath)).size);
    expect(s.ratio).to.be.within(0, 1);
    expect(s.timings.totalMs).to.be.at.least(s.timings.scanMs);
  });

  it('stores a file given as a source, and sources outside cwd by their path from the root', async () => {
    const elsewhere = await tempDir();
    await mkdir(join(elsewhere, 'etc'));
    await writeTree(elsewhere, { 'etc/app.conf': 'x=1' });
    const r = await createBackup({ sources: ['project/README.md', join(elsewhere, 'etc')], cwd: root, out, name: 'mixed' });
    const listed = (await run('tar', ['-tzf', r.archivePath])).split('\n').filter(Boolean);
    expect(listed).to.include('project/README.md');
    expect(listed).to.include(`${join(elsewhere, 'etc/app.conf').slice(1)}`);
  });
});
