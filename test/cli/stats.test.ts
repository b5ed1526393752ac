import { expect } from 'chai';
import { join } from 'node:path';
import { createBackup, extensionStatistics } from '../../src/index.js';
import { loadManifest } from '../helpers/archive.js';
import { runCli } from '../helpers/cli.js';
import { pseudoRandomBytes, tempDir, writeTree } from '../helpers/tree.js';

describe('cli: gulp-backup stats, and the statistics by extension', () => {
  let manifestPath: string;
  before(async () => {
    const root = await tempDir();
    await writeTree(root, {
      'm/photo.jpg': pseudoRandomBytes(200_000, 5),
      'm/notes.txt': 'words '.repeat(40_000),
      'm/more.txt': 'other words '.repeat(10_000),
      'm/Makefile': 'all:\n',
    });
    ({ manifestPath } = await createBackup({ sources: ['m'], cwd: root, out: join(root, 'out'), name: 's', blockSize: '64KB' }));
  });

  it('shares each block among the files in it: incompressible files keep their size, text shrinks', async () => {
    const stats = extensionStatistics(await loadManifest(manifestPath));
    expect(stats.map((s) => s.extension)).to.deep.equal(['.jpg', '.txt', '(none)']);
    const [jpg, txt] = stats;
    expect(jpg!.files).to.equal(1);
    expect(jpg!.ratio).to.be.within(0.85, 1.02); // an estimate: the block it shares with text is split by bytes
    expect(txt).to.include({ files: 2, bytes: 360_000 });
    expect(txt!.ratio).to.be.below(0.05);
  });

  it('prints the summary of an existing backup, or JSON', async () => {
    const r = await runCli(['stats', manifestPath]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/^full backup [0-9a-f-]+ of .*s\.manifest\.jsonl\n {2}4 files, 1 folder, 0 links, 0 skipped\n/); // one folder, not "1 folders"
    expect(r.stdout).to.match(/^ {2}\.jpg +1 /m);
    // What is saved is said against the tar stream, as the backup's summary says it.
    expect(r.stdout).to.match(/^ {2}[\d.]+ \w?B of content → [\d.]+ \w?B archive \([\d.]+% smaller than the [\d.]+ \w?B tar stream; gzip level 6, \d+ blocks?\)$/m);
    const json = JSON.parse((await runCli(['stats', manifestPath, '--json'])).stdout) as { totals: { files: number }; extensions: unknown[] };
    expect(json.totals.files).to.equal(4);
    expect(json.extensions).to.have.length(3);
  });

  it('says what the selection left out, as the backup said it (text and JSON)', async () => {
    const root = await tempDir();
    await writeTree(root, { 'w/a.txt': 'a', 'w/b.log': 'b', 'w/backups/old.tar.gz': 'earlier' });
    const made = await createBackup({ sources: ['.'], cwd: join(root, 'w'), out: join(root, 'w/backups'), exclude: ['*.log'] });
    const r = await runCli(['stats', made.manifestPath]);
    expect(r.stdout).to.match(/^ {2}left out by the selection: 1 by exclude patterns, its own output folder .*\/w\/backups$/m);
    const json = JSON.parse((await runCli(['stats', made.manifestPath, '--json'])).stdout) as { leftOut: unknown };
    expect(json.leftOut).to.deep.equal({ excluded: 1, notIncluded: 0, dot: 0, output: 1 });
  });

  it('prints no extension table for an incremental that stored no file (was a heading with nothing under it)', async () => {
    const root = await tempDir();
    await writeTree(root, { 'k/a.txt': { content: 'a', mtime: 1_600_000_000 } });
    await createBackup({ sources: ['k'], cwd: root, out: join(root, 'out'), name: 'full' });
    const same = await createBackup({ sources: ['k'], cwd: root, out: join(root, 'out'), name: 'same', kind: 'incremental' });
    const r = await runCli(['stats', same.manifestPath]);
    expect(r.stdout).to.match(/^ {2}0 files stored, 1 unchanged/m);
    expect(r.stdout).not.to.match(/extension +files/);
    expect((await runCli(['stats', manifestPath])).stdout).to.match(/^ {2}extension +files +size +in archive +ratio$/m);
  });

  it('says an archive that grew is larger than its tar stream (level 0 stores; was "-1.54% smaller")', async () => {
    const root = await tempDir();
    await writeTree(root, { 'r/random.bin': pseudoRandomBytes(100_000, 6) });
    const made = await createBackup({ sources: ['r'], cwd: root, out: join(root, 'out'), level: 0 });
    const r = await runCli(['stats', made.manifestPath]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/ archive \([\d.]+% larger than the [\d.]+ \w?B tar stream; gzip level 0, 1 block\)$/m);
    expect(r.stdout).not.to.match(/-[\d.]+%/);
  });
});
