import { expect } from 'chai';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { listFolder, loadManifest } from '../helpers/archive.js';
import { runCli, spawnCli } from '../helpers/cli.js';
import { pseudoRandomBytes, run, tempDir, writeTree } from '../helpers/tree.js';

describe('cli: gulp-backup create', () => {
  let root: string;
  before(async () => {
    root = await tempDir();
    await writeTree(root, { 'src/a.txt': 'a', 'src/b/c.bin': pseudoRandomBytes(10_000), 'src/skip.log': 'log', 'src/.hidden': 'h' });
  });

  it('backs up, prints a summary and exits 0', async () => {
    const out = join(root, 'out1');
    const r = await runCli(['create', 'src', '--cwd', root, '--out', out, '--name', 'snap', '--exclude', '*.log', '--hash', 'sha256,md5', '--quiet']);
    expect(r.code, r.stderr).to.equal(0);
    expect(await listFolder(out)).to.deep.equal(['snap.manifest.jsonl', 'snap.tar.gz', 'snap.tar.gz.sha256']);
    const manifest = await loadManifest(join(out, 'snap.manifest.jsonl'));
    expect(manifest.entries.map((e) => e.path)).to.deep.equal(['src', 'src/.hidden', 'src/a.txt', 'src/b', 'src/b/c.bin']);
    expect(Object.keys(manifest.entries[1]!.hashes!)).to.deep.equal(['sha256', 'md5']);
    const summary = await runCli(['create', 'src', '--cwd', root, '--out', out, '--dot', '--level', '9']);
    expect(summary.stdout).to.match(/^Backup .*\.tar\.gz \(full\)\n\s+4 files, 2 folders/m);
    expect(summary.stdout).to.match(/% smaller than the .* tar stream/);
  });

  it('--exclude-from (-X) reads patterns from a file, as tar -X and restic --exclude-file: comments, blank lines and CRLF skipped; recorded with the others', async () => {
    const out = join(root, 'out-exclude-from');
    const file = join(root, '.backupignore');
    await writeFile(file, '# build output\r\n*.log\r\n\r\n  b/c.bin  \n#.hidden\n');
    const r = await runCli(['create', 'src', '--cwd', root, '--out', out, '--name', 'x', '-X', file, '--exclude', 'nothing-here', '-q']);
    expect(r.code, r.stderr).to.equal(0);
    const manifest = await loadManifest(join(out, 'x.manifest.jsonl'));
    expect(manifest.entries.map((e) => e.path)).to.deep.equal(['src', 'src/.hidden', 'src/a.txt', 'src/b']);
    expect(manifest.header.selection?.exclude).to.deep.equal(['nothing-here', '*.log', 'b/c.bin']);
    const missing = await runCli(['create', 'src', '--cwd', root, '--out', out, '--exclude-from', join(root, 'no-such-file')]);
    expect(missing.code).to.equal(2);
    expect(missing.stderr).to.match(/^gulp-backup: --exclude-from must be a readable file of patterns, one per line \(ENOENT\), got .*no-such-file$/m);
  });

  it('prints progress and the result as JSON lines with --json', async () => {
    const out = join(root, 'out2');
    const r = await runCli(['create', 'src', '--cwd', root, '--out', out, '--json', '--codec', 'none']);
    expect(r.code).to.equal(0);
    const lines = r.stdout.trim().split('\n').map((line) => JSON.parse(line) as { event: string; archivePath?: string; percentage?: number });
    expect(lines.at(-1)!.event).to.equal('result');
    expect(lines.at(-1)!.archivePath).to.match(/\.tar$/);
    expect(lines.filter((l) => l.event === 'progress').at(-1)!.percentage).to.equal(100);
    await run('tar', ['-tf', lines.at(-1)!.archivePath!]);
  });

  for (const [args, message] of [
    // In the words of the command line: flags, not the engine's option names.
    [['--level', '12'], /^gulp-backup: --level must be an integer from 0 to 9, got 12$/m],
    [['--level', 'high'], /--level must be .*, got high$/m],
    [['--concurrency', '0'], /--concurrency \(-j\) must be an integer from 1 to 1024, got 0$/m],
    [['--hash', 'sha256,crc'], /--hash must be one of sha256, sha1, sha512, md5, got crc$/m],
    [['--codec', 'rar'], /--codec must be one of 'gzip', 'zstd', 'none', got rar$/m],
    [['--max-file-size', 'huge'], /--max-file-size must be .*, got huge$/m],
  ] as const) {
    it(`exits 2 on an invalid option: ${args.join(' ')}`, async () => {
      const out = join(root, 'out-bad');
      const r = await runCli(['create', 'src', '--cwd', root, '--out', out, ...args]);
      expect(r.code).to.equal(2);
      expect(r.stderr).to.match(message);
      expect(r.stderr).to.not.match(/\n\s+at /); // no stack trace for a user mistake
      expect(r.stderr).to.not.match(/`(level|concurrency|hashes|codec|maxFileSize)`/);
      expect(await listFolder(out)).to.deep.equal([]);
    });
  }

  it('exits 2 on a missing source, an unwritable output and an unknown command', async () => {
    const missing = await runCli(['create', 'nope', '--cwd', root, '--out', join(root, 'out3')]);
    expect(missing.code).to.equal(2);
    expect(missing.stderr).to.match(/Source not found: .*nope/);
    const unwritable = await runCli(['create', 'src', '--cwd', root, '--out', join(root, 'src/a.txt')]);
    expect(unwritable.code).to.equal(2);
    expect(unwritable.stderr).to.match(/Cannot write the backup to .*a\.txt/);
    const unknown = await runCli(['frobnicate']);
    expect(unknown.code).to.equal(2);
    expect(unknown.stderr).to.match(/unknown command/);
  });

  it('with --json, a failure is a JSON line on stdout too (code, message, path, exit code), whatever the command', async () => {
    const lastLine = (text: string) => JSON.parse(text.trim().split('\n').at(-1)!) as Record<string, unknown>;
    const missing = await runCli(['create', 'nope', '--cwd', root, '--out', join(root, 'out-json'), '--json']);
    expect(missing.code).to.equal(2);
    expect(lastLine(missing.stdout)).to.deep.include({ event: 'error', code: 'SOURCE_NOT_FOUND', path: join(root, 'nope'), exitCode: 2 });
    const badLevel = await runCli(['create', 'src', '--cwd', root, '--out', join(root, 'out-json'), '--level', '12', '--json']);
    expect(lastLine(badLevel.stdout)).to.deep.include({ event: 'error', code: 'INVALID_OPTION', message: '--level must be an integer from 0 to 9, got 12' });
    const verify = await runCli(['verify', join(root, 'no-backup-here'), '--json']);
    expect(verify.code).to.equal(2);
    expect(lastLine(verify.stdout)).to.deep.include({ event: 'error', code: 'SOURCE_NOT_FOUND', exitCode: 2 });
    expect((await runCli(['verify', join(root, 'no-backup-here')])).stdout).to.equal(''); // without --json, stdout stays empty
  });

  it('exits 130 on Ctrl-C (even pressed twice) and leaves no archive, partial file or manifest', async () => {
    const tree = await tempDir();
    await writeTree(tree, Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`big/f${i}.bin`, pseudoRandomBytes(2_000_000, i + 1)])));
    const out = join(tree, 'out');
    const child = spawnCli(['create', 'big', '--out', out, '--json', '--level', '9', '--concurrency', '1', '--block-size', '64KB'], tree);
    let interrupted = false;
    child.stdout!.on('data', (chunk: Buffer) => {
      if (!interrupted && chunk.toString().includes('"phase":"store"')) {
        interrupted = child.kill('SIGINT');
        setTimeout(() => child.kill('SIGINT'), 5); // impatient users press it twice
      }
    });
    const result = await child;
    expect(result.exitCode, `signal ${String(result.signal)}: ${String(result.stderr)}`).to.equal(130);
    expect(String(result.stderr)).to.match(/interrupted/);
    expect(await listFolder(out)).to.deep.equal([]);
  });
});
