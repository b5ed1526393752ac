/** verifyBackup: intact archives pass; each kind of damage is found and named, the rest still checked. */
import { expect } from 'chai';
import { copyFile, readFile, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createBackup, restoreBackup, verifyBackup, type BackupError, type BackupProgress, type BackupResult } from '../../src/index.js';
import { editManifestEntry, loadManifest } from '../helpers/archive.js';
import { pseudoRandomBytes, run, tempDir, writeTree } from '../helpers/tree.js';

describe('engine/verifyBackup', () => {
  let root: string;
  let backup: BackupResult;

  before(async () => {
    root = await tempDir();
    await writeTree(root, {
      'tree/a.txt': 'alpha\n'.repeat(1000),
      'tree/noise.bin': pseudoRandomBytes(400_000, 3),
      'tree/z/last.txt': 'the last file',
      'tree/empty': '',
      'tree/link': { symlink: 'a.txt' },
    });
    backup = await createBackup({ sources: ['tree'], cwd: root, out: join(root, 'good'), name: 'b', blockSize: '64KB' });
  });

  /** A copy of the backup to damage. */
  async function copyBackup(): Promise<{ archive: string; manifest: string }> {
    const folder = await tempDir();
    const archive = join(folder, 'b.tar.gz');
    const manifest = join(folder, 'b.manifest.jsonl');
    await copyFile(backup.archivePath, archive);
    await copyFile(backup.manifestPath, manifest);
    return { archive, manifest };
  }

  it('passes a path split into ustar prefix and name that also has a sub-second mtime (a pax record): no false alarm', async () => {
    const dir = await tempDir();
    const path = `tree/${'a'.repeat(60)}/${'b'.repeat(60)}/file.txt`;
    await writeTree(dir, { [path]: { content: 'hi', mtime: 1_700_000_000.5 } });
    const made = await createBackup({ sources: ['tree'], cwd: dir, out: join(dir, 'out') });
    for (const target of [made.manifestPath, made.archivePath]) {
      const report = await verifyBackup(target);
      expect(report.entries.filter((e) => e.status !== 'ok')).to.deep.equal([]);
      expect(report.ok).to.equal(true);
    }
  });

  it('passes headers whose extended (pax) part ends one block and their own block starts the next', async () => {
    const folder = await tempDir();
    // Long names (a pax header each, 1,536 bytes of header in all) and sizes that drift, over 64 KiB blocks.
    await writeTree(
      folder,
      Object.fromEntries(Array.from({ length: 400 }, (_, i) => [`t/${'n'.repeat(120)}${i}.txt`, pseudoRandomBytes(300 + 37 * i, i)])),
    );
    const made = await createBackup({ sources: ['t'], cwd: folder, out: join(folder, 'out'), blockSize: '64KB' });
    const manifest = await loadManifest(made.manifestPath);
    const straddling = manifest.entries.filter((e) => e.type === 'file' && Math.floor(e.offset / 65536) !== Math.floor((e.dataOffset! - 1) / 65536));
    expect(straddling.length).to.be.greaterThan(0);
    const report = await verifyBackup(made.manifestPath);
    expect(report.ok, report.entries.filter((e) => e.status !== 'ok').map((e) => `${e.path}: ${e.reason}`).join('\n')).to.equal(true);
  });

  it('passes an intact backup, from its manifest or its archive, checking every hash', async () => {
    for (const path of [backup.manifestPath, backup.archivePath]) {
      const report = await verifyBackup(path);
      expect(report.ok, report.problems.join('; ')).to.equal(true);
      expect(report.hashesChecked).to.equal(true);
      expect(report.counts).to.include({ entries: 7, ok: 7, damaged: 0, missing: 0, damagedBlocks: 0 });
      expect(report.counts.blocks).to.be.greaterThan(5);
    }
  });

  it('reports progress: archive bytes read, growing, ending at 100% with every byte counted (a plain .tar too)', async () => {
    const plain = await createBackup({ sources: ['tree'], cwd: root, out: join(root, 'plain'), name: 'p', codec: 'none', blockSize: '64KB' });
    for (const made of [backup, plain]) {
      const events: BackupProgress[] = [];
      await verifyBackup(made.manifestPath, { onProgress: (p) => events.push(p) });
      expect(events[0]!.phase).to.equal('verify');
      const size = (await loadManifest(made.manifestPath)).footer.archiveFile.size;
      expect(events.at(-1)).to.include({ phase: 'done', percentage: 100, bytesDone: size, bytesTotal: size, filesDone: 7 });
      for (let i = 1; i < events.length; i++) expect(events[i]!.bytesDone).to.be.at.least(events[i - 1]!.bytesDone);
    }
  });

  it('checks an archive alone (no manifest): CRCs and structure, and says hashes were not checked', async () => {
    const folder = await tempDir();
    const alone = join(folder, 'alone.tar.gz');
    await copyFile(backup.archivePath, alone);
    const report = await verifyBackup(alone);
    expect(report.ok).to.equal(true);
    expect(report.hashesChecked).to.equal(false);
    expect(report.entries.map((e) => e.path)).to.deep.equal((await loadManifest(backup.manifestPath)).entries.map((e) => e.path));
  });

  it('checks a .tar.gz made by GNU tar, sequentially', async () => {
    const folder = await tempDir();
    const gnu = join(folder, 'gnu.tar.gz');
    await run('tar', ['-czf', gnu, '-C', root, 'tree']);
    const report = await verifyBackup(gnu);
    expect(report.ok, report.problems.join('; ')).to.equal(true);
    expect(report.entries.map((e) => e.path)).to.include('tree/noise.bin');
    await truncate(gnu, 3000);
    expect((await verifyBackup(gnu)).ok).to.equal(false);
  });

  it('a flipped byte in one block damages the files in that block only', async () => {
    const { archive, manifest } = await copyBackup();
    const parsed = await loadManifest(manifest);
    const noise = parsed.entries.find((e) => e.path === 'tree/noise.bin')!;
    const block = Math.floor((noise.dataOffset! + 100_000) / parsed.footer.blocks.blockSize);
    const bytes = await readFile(archive);
    const target = parsed.footer.blocks.offsets[block]! + 200; // inside the deflate data
    bytes[target] = bytes[target]! ^ 0x5a;
    await writeFile(archive, bytes);
    const report = await verifyBackup(manifest);
    expect(report.ok).to.equal(false);
    expect(report.counts).to.include({ damaged: 1, damagedBlocks: 1, ok: 6 });
    expect(report.entries.find((e) => e.status === 'damaged')).to.deep.include({ path: 'tree/noise.bin', reason: `in damaged block ${block}` });
    expect(report.problems).to.include('the archive does not match the SHA-256 in its manifest');
    expect(report.problems.some((p) => p.startsWith(`block ${block}: `))).to.equal(true);
  });

  it('a flipped byte in a member header or in the end marker is found', async () => {
    const { archive, manifest } = await copyBackup();
    const parsed = await loadManifest(manifest);
    const bytes = await readFile(archive);
    const flip = (at: number) => (bytes[at] = bytes[at]! ^ 0x01);
    flip(parsed.footer.blocks.offsets[0]! + 16); // member length field of block 0
    flip(bytes.length - 10); // end marker
    await writeFile(archive, bytes);
    const report = await verifyBackup(manifest);
    expect(report.problems.some((p) => p.includes('block 0: damaged gzip member header'))).to.equal(true);
    expect(report.problems.some((p) => p.includes('damaged end marker'))).to.equal(true);
    expect(report.entries.find((e) => e.path === 'tree')!.status).to.equal('damaged');
    expect(report.entries.find((e) => e.path === 'tree/z/last.txt')!.status).to.equal('ok');
  });

  it('a member header that claims gigabytes is damage, never read into memory (archive alone)', async () => {
    const { archive } = await copyBackup();
    const alone = join(await tempDir(), 'b.tar.gz');
    const bytes = await readFile(archive);
    bytes.writeUInt32LE(0xf000_0000, 16); // member length of block 0: 3.75 GiB
    await writeFile(alone, bytes);
    const report = await verifyBackup(alone);
    expect(report.ok).to.equal(false);
    expect(report.problems.join('\n')).to.match(/damaged gzip member header at byte 0 \(it claims to take 4026531840 bytes, more than any block can\)/);
  });

  it('a manifest whose block index claims a huge block: that block is reported damaged, nothing huge is read', async () => {
    const { archive, manifest } = await copyBackup();
    const folder = await tempDir();
    await copyFile(archive, join(folder, 'b.tar.gz'));
    const lines = (await readFile(manifest, 'utf8')).trimEnd().split('\n');
    const footer = JSON.parse(lines.at(-1)!) as { blocks: { offsets: number[] } };
    const offsets = footer.blocks.offsets;
    offsets[offsets.length - 1] = offsets.at(-1)! + 2 ** 32; // the last block's length
    lines[lines.length - 1] = JSON.stringify(footer);
    await writeFile(join(folder, 'b.manifest.jsonl'), `${lines.join('\n')}\n`);
    // The block index is not among the totals a reader checks: it must survive whatever it says.
    const report = await verifyBackup(join(folder, 'b.manifest.jsonl'));
    expect(report.ok).to.equal(false);
    expect(report.problems.join('\n')).to.match(/block \d+: the manifest's block index is damaged: it claims to take \d+ bytes, more than any block can/);
  });

  it('a truncated archive: no end marker, the entries past the cut are named', async () => {
    const { archive, manifest } = await copyBackup();
    const parsed = await loadManifest(manifest);
    await truncate(archive, parsed.footer.blocks.offsets.at(-3)! + 10);
    const report = await verifyBackup(manifest);
    expect(report.ok).to.equal(false);
    expect(report.problems.some((p) => p.includes('no end marker'))).to.equal(true);
    expect(report.entries.find((e) => e.path === 'tree/z/last.txt')!.status).to.not.equal('ok');
    expect((await verifyBackup(archive)).ok).to.equal(false); // through the manifest beside it
  });

  it('a manifest cut short (a copy that broke off): verify reports it as damage and checks the archive alone; restore reads the archive when it is named (both refused with exit 2, the path unnamed)', async () => {
    const { archive, manifest } = await copyBackup();
    const size = (await readFile(manifest)).length;
    await truncate(manifest, size - 100);
    const folder = join(manifest, '..');
    for (const named of [folder, manifest, archive]) {
      const report = await verifyBackup(named);
      expect(report.ok, named).to.equal(false);
      expect(report.archivePath).to.equal(archive);
      expect(report.problems[0]).to.match(/^its manifest .*b\.manifest\.jsonl cannot be read \(Manifest line \d+ is not JSON; the manifest is damaged\): the archive was checked on its own, without file hashes$/);
      expect(report.counts.damaged).to.equal(0);
    }
    const target = await tempDir();
    const restored = await restoreBackup(archive, { to: target });
    expect(restored.ok).to.equal(true);
    expect(restored.hashesChecked).to.equal(false);
    expect(restored.warnings.join('\n')).to.match(/its manifest .*b\.manifest\.jsonl cannot be read .*: the archive was restored on its own/);
    expect(await readFile(join(target, 'tree/z/last.txt'), 'utf8')).to.equal('the last file');
    const refused = (await restoreBackup(manifest, { to: await tempDir() }).catch((error: unknown) => error)) as BackupError;
    expect(refused).to.have.property('code', 'MANIFEST_INVALID');
    expect(refused.message).to.match(/b\.manifest\.jsonl: Manifest line \d+ is not JSON; the manifest is damaged\. To read the archive without it .*name the archive itself\.$/);
  });

  it('a manifest edited to lie about a hash: that file is reported', async () => {
    const { manifest } = await copyBackup();
    await editManifestEntry(manifest, 'tree/a.txt', (e) => ({ ...e, hashes: { sha256: '0'.repeat(64) } }));
    const report = await verifyBackup(manifest);
    expect(report.entries.find((e) => e.status !== 'ok')).to.deep.equal({
      path: 'tree/a.txt',
      type: 'file',
      status: 'damaged',
      reason: 'content does not match its sha256 in the manifest',
    });
  });

  it("zeros after the end marker (a tape's or dd conv=sync's padding): intact, with a warning, as gzip -t and GNU tar pass over them (was DAMAGED); anything else there is still a problem", async () => {
    const { archive, manifest } = await copyBackup();
    const written = await readFile(archive);
    await writeFile(archive, Buffer.concat([written, Buffer.alloc(10_240)]));
    await run('gzip', ['-t', archive]);
    for (const path of [manifest, archive]) {
      const report = await verifyBackup(path);
      expect(report.ok, report.problems.join('\n')).to.equal(true);
      expect(report.warnings.join('\n')).to.match(/ends with 10240 zero bytes after its end marker .*the archive before them matches its manifest/);
    }
    await copyFile(archive, `${archive}.alone.tar.gz`);
    const alone = await verifyBackup(`${archive}.alone.tar.gz`);
    expect(alone.ok, alone.problems.join('\n')).to.equal(true);
    expect(alone.warnings.join('\n')).to.match(/ends with 10240 zero bytes/);

    const edited = Buffer.from(written);
    edited[20] = edited[20]! ^ 1; // inside the first block: the archive before the zeros is not the one written
    await writeFile(archive, Buffer.concat([edited, Buffer.alloc(512)]));
    expect((await verifyBackup(manifest)).ok).to.equal(false);
    await writeFile(archive, Buffer.concat([written, Buffer.alloc(100), Buffer.from('x')]));
    const junk = await verifyBackup(manifest);
    expect(junk.ok).to.equal(false);
    expect(junk.problems.join('\n')).to.match(/101 unexpected bytes after the end marker/);
  });

  it('a manifest from another archive: the archive checksum and the entries disagree', async () => {
    const other = await createBackup({ sources: ['tree/z'], cwd: root, out: join(root, 'other'), name: 'b' });
    const { manifest } = await copyBackup();
    await copyFile(other.archivePath, manifest.replace('.manifest.jsonl', '.tar.gz'));
    const report = await verifyBackup(manifest);
    expect(report.ok).to.equal(false);
    expect(report.problems[0]).to.match(/the archive is \d+ bytes, the manifest says \d+/);
  });

  it('compares the manifest with a live tree: changed, missing and new files', async () => {
    const tree = await tempDir();
    await writeTree(tree, { 'tree/keep.txt': 'same', 'tree/edit.txt': 'before', 'tree/gone.txt': 'x', 'tree/skip.log': 'excluded', 'tree/mode.sh': { content: 'm', mode: 0o644 } });
    const made = await createBackup({ sources: ['tree'], cwd: tree, out: await tempDir(), exclude: ['*.log'] });
    expect((await verifyBackup(made.manifestPath, { source: tree })).ok).to.equal(true);
    await writeTree(tree, { 'tree/edit.txt': 'after!', 'tree/added.txt': 'new', 'tree/mode.sh': { content: 'm', mode: 0o755 }, 'tree/more.log': 'still excluded' });
    await truncate(join(tree, 'tree/keep.txt'), 4); // same size, same bytes: unchanged
    const { rm } = await import('node:fs/promises');
    await rm(join(tree, 'tree/gone.txt'));
    const report = await verifyBackup(made.manifestPath, { source: tree });
    expect(report.ok).to.equal(false);
    expect(report.counts.damaged).to.equal(0);
    expect(report.source).to.deep.equal({
      root: tree,
      changed: [
        { path: 'tree/edit.txt', reason: 'content differs (sha256)' },
        { path: 'tree/mode.sh', reason: 'mode 755, was 644' },
      ],
      missing: ['tree/gone.txt'],
      new: ['tree/added.txt'],
    });
  });

  it('compares a restored copy of a backup whose source lay outside cwd (stored from the root) with that copy, not with the live source (it named the live files "new")', async () => {
    const live = await tempDir();
    await writeTree(live, { 'www/index.html': 'v1' });
    const made = await createBackup({ sources: [join(live, 'www')], cwd: await tempDir(), out: join(await tempDir(), 'out') });
    const copy = await tempDir();
    expect((await restoreBackup(made.manifestPath, { to: copy })).ok).to.equal(true);
    await writeTree(live, { 'www/added-later.html': 'new in the live tree only' });
    const report = await verifyBackup(made.manifestPath, { source: copy });
    expect(report.source).to.deep.include({ changed: [], missing: [], new: [] });
    expect(report.ok).to.equal(true);
  });

  it('compares with a live tree that holds the backup itself (its output folder inside): the backup files are not "new"', async () => {
    const tree = await tempDir();
    await writeTree(tree, { 'site/a.txt': 'a' });
    const made = await createBackup({ sources: ['.'], cwd: tree, out: join(tree, 'backups') });
    const report = await verifyBackup(made.manifestPath, { source: tree });
    expect(report.source, JSON.stringify(report.source)).to.deep.equal({ root: tree, changed: [], missing: [], new: [] });
    expect(report.ok).to.equal(true);
  });

  it('compares content by the digest the backup recorded when it has no SHA-256 (hashes: [md5]): same size and time, other bytes', async () => {
    const tree = await tempDir();
    await writeTree(tree, { 'd/a.txt': 'AAAA' });
    const made = await createBackup({ sources: ['d'], cwd: tree, out: await tempDir(), hashes: ['md5'] });
    const { stat, utimes } = await import('node:fs/promises');
    const before = await stat(join(tree, 'd/a.txt'));
    await writeFile(join(tree, 'd/a.txt'), 'BBBB');
    await utimes(join(tree, 'd/a.txt'), before.atime, before.mtime);
    const report = await verifyBackup(made.manifestPath, { source: tree });
    expect(report.source?.changed).to.deep.equal([{ path: 'd/a.txt', reason: 'content differs (md5)' }]);
  });

  it('compares only inside the tree it is given: an edited manifest cannot make it read a file outside, or crash it', async () => {
    const box = await tempDir();
    await writeTree(box, { 'outside.txt': 'secret', 'tree/tree/a.txt': 'a', 'tree/tree/b.txt': 'b' });
    const made = await createBackup({ sources: ['tree'], cwd: join(box, 'tree'), out: await tempDir() });
    await editManifestEntry(made.manifestPath, 'tree/a.txt', (e) => ({ ...e, path: '../outside.txt' }));
    await editManifestEntry(made.manifestPath, 'tree/b.txt', (e) => ({ ...e, mode: undefined as unknown as number }));
    const report = await verifyBackup(made.manifestPath, { source: join(box, 'tree') });
    expect(report.source?.changed).to.deep.equal([
      { path: '../outside.txt', reason: 'not compared: its path "../outside.txt" climbs out with ..' },
      { path: 'tree/b.txt', reason: 'its manifest record is malformed (mode)' },
    ]);
  });

  it('verifies a plain .tar (codec none)', async () => {
    const plain = await createBackup({ sources: ['tree'], cwd: root, out: join(root, 'plain'), codec: 'none' });
    expect((await verifyBackup(plain.manifestPath)).ok).to.equal(true);
  });
});
