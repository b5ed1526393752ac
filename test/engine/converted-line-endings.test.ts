/**
 * Backups kept in git with `core.autocrlf=true` (or opened in an editor that saves CRLF): the
 * manifests come back with CRLF line endings. They were called damaged (their digests no longer
 * matched); they are read as written, said, and an edited one is still damage.
 */
import { expect } from 'chai';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import gulp from 'gulp';
import { LfLineEndings, withLfLineEndings } from '../../src/format/manifest-line-endings.js';
import { createBackup, restore, restoreBackup, verifyBackup } from '../../src/index.js';
import { runCli } from '../helpers/cli.js';
import { loggedWhile } from '../helpers/gulp-log.js';
import { pseudoRandomBytes, run, snapshotTree, tempDir, writeTree } from '../helpers/tree.js';

const CONVERTED = /has CRLF line endings or a byte-order mark, or is UTF-16 .*read as it was written \(UTF-8, LF line endings, no byte-order mark\)/;

/** `text` as UTF-16 (big-endian: each pair of bytes swapped), with a byte-order mark or without. */
function utf16(text: string, endian: 'le' | 'be', mark: boolean): Buffer {
  const bytes = Buffer.from(`${mark ? '\ufeff' : ''}${text}`, 'utf16le');
  return endian === 'le' ? bytes : bytes.swap16();
}

describe('format: manifest line endings', () => {
  it('CRLF becomes LF, a lone CR stays, and bytes without CRLF are returned as they are', () => {
    const lf = Buffer.from('{"a":1}\n{"b":"x"}\n');
    expect(withLfLineEndings(lf)).to.equal(lf); // the same buffer: nothing copied
    expect(withLfLineEndings(Buffer.from('{"a":1}\r\n{"b":"x"}\r\n')).toString()).to.equal(lf.toString());
    expect(withLfLineEndings(Buffer.from('a\rb\r\r\nc\r')).toString()).to.equal('a\rb\r\nc\r');
  });

  it('read piece by piece, cut anywhere, it gives what the whole gives', () => {
    const whole = Buffer.from('{"a":1}\r\n\r\n{"b":"\\r"}\r\nlast\r\r\n\r');
    const expected = withLfLineEndings(whole).toString();
    for (let cut = 0; cut <= whole.length; cut++) {
      for (let second = cut; second <= whole.length; second++) {
        const lf = new LfLineEndings();
        const out = Buffer.concat([lf.push(whole.subarray(0, cut)), lf.push(whole.subarray(cut, second)), lf.push(whole.subarray(second)), lf.end()]);
        expect(out.toString(), `cut at ${cut} and ${second}`).to.equal(expected);
        expect(lf.converted()).to.equal(true);
      }
    }
    // A byte-order mark first (an editor's), however the pieces cut it.
    const marked = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), whole]);
    for (let cut = 0; cut <= 5; cut++) {
      const lf = new LfLineEndings();
      const out = Buffer.concat([lf.push(marked.subarray(0, cut)), lf.push(marked.subarray(cut)), lf.end()]);
      expect(out.toString(), `cut at ${cut}`).to.equal(expected);
    }
    expect(withLfLineEndings(marked).toString()).to.equal(expected);
    const short = new LfLineEndings();
    expect(Buffer.concat([short.push(Buffer.from([0xef, 0xbb])), short.end()])).to.deep.equal(Buffer.from([0xef, 0xbb])); // not a mark: kept
    const plain = new LfLineEndings();
    plain.push(Buffer.from('a\r'));
    plain.push(Buffer.from('b\n'));
    expect(plain.converted()).to.equal(false);
  });

  it('UTF-16, little- or big-endian, with a byte-order mark or without, becomes the UTF-8 written, cut anywhere (inside a character too)', () => {
    const written = '{"record":"header","path":"café/日本/🎉"}\n{"b":"\\r"}\n';
    for (const [endian, mark] of [
      ['le', true],
      ['be', true],
      ['le', false],
      ['be', false],
    ] as const) {
      const saved = utf16(written.replaceAll('\n', '\r\n'), endian, mark);
      expect(withLfLineEndings(saved).toString(), `${endian} ${mark}`).to.equal(written);
      for (let cut = 0; cut <= saved.length; cut++) {
        const lf = new LfLineEndings();
        const out = Buffer.concat([lf.push(saved.subarray(0, cut)), lf.push(saved.subarray(cut)), lf.end()]);
        expect(out.toString(), `${endian} ${mark}, cut at ${cut}`).to.equal(written);
        expect(lf.converted()).to.equal(true);
      }
    }
    // Half a character at the end is damage: it stays visible (U+FFFD), so the digests fail.
    const cut = new LfLineEndings();
    expect(Buffer.concat([cut.push(utf16('{"a":1}', 'le', true).subarray(0, -1)), cut.end()]).toString()).to.equal('{"a":1\ufffd');
  });
});

describe('engine: manifests whose line endings were converted to CRLF', () => {
  let root: string;
  let clone: string;

  before(async () => {
    root = await tempDir();
    await writeTree(root, { 'site/index.html': '<h1>hi</h1>\n', 'site/app.bin': pseudoRandomBytes(200_000, 7), 'site/css/a.css': 'a{}\n' });
    const out = join(root, 'repo/backups');
    await createBackup({ sources: ['site'], cwd: root, out, name: 'full' });
    await writeFile(join(root, 'site/css/a.css'), 'a{color:red}\n');
    await createBackup({ sources: ['site'], cwd: root, out, name: 'inc', since: join(out, 'full.manifest.jsonl'), kind: 'incremental' });
    // Committed into git, and cloned where core.autocrlf=true (git for Windows' default).
    const repo = join(root, 'repo');
    const git = (args: string[], cwd = repo) => run('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], cwd);
    await git(['init', '-q']);
    await git(['add', '.']);
    await git(['commit', '-qm', 'backups']);
    clone = join(root, 'clone');
    await run('git', ['-c', 'core.autocrlf=true', 'clone', '-q', repo, clone]);
  });

  it('git converted the manifests (and left the archives alone): the premise of the tests below', async () => {
    const manifest = await readFile(join(clone, 'backups/inc.manifest.jsonl'));
    expect(manifest.includes('\r\n')).to.equal(true);
    expect(await readFile(join(clone, 'backups/inc.tar.gz'))).to.deep.equal(await readFile(join(root, 'repo/backups/inc.tar.gz')));
    // sha256sum -c still proves the archive: it reads its CRLF line.
    await run('sha256sum', ['-c', 'inc.tar.gz.sha256'], join(clone, 'backups'));
  });

  it('verify: the chain is whole, each file proven, and a warning says why the bytes differ (was DAMAGED, exit 1)', async () => {
    const report = await verifyBackup(join(clone, 'backups/inc.manifest.jsonl'));
    expect(report.ok, report.problems.join('\n')).to.equal(true);
    expect(report.counts).to.include({ damaged: 0, missing: 0 });
    expect(report.warnings.join('\n')).to.match(CONVERTED);
    const cli = await runCli(['verify', join(clone, 'backups')]);
    expect(cli.code, cli.stderr + cli.stdout).to.equal(0);
    expect(cli.stdout + cli.stderr).to.match(CONVERTED);
  });

  it('restore gives the tree back, through the chain; the restore() plugin too; ls reads it', async () => {
    const target = await tempDir();
    const restored = await restoreBackup(join(clone, 'backups/inc.manifest.jsonl'), { to: target });
    expect(restored.ok, JSON.stringify(restored.failures)).to.equal(true);
    expect(restored.warnings.join('\n')).to.match(CONVERTED);
    expect(await snapshotTree(join(target, 'site'))).to.deep.equal(await snapshotTree(join(root, 'site')));

    const emitted = await tempDir();
    const warned = await loggedWhile('warn', () => pipeline(gulp.src(join(clone, 'backups/inc.manifest.jsonl'), { read: false }), restore(), gulp.dest(emitted)));
    expect(warned.join('\n')).to.match(CONVERTED);
    expect(await readFile(join(emitted, 'site/css/a.css'), 'utf8')).to.equal('a{color:red}\n');

    const listed = await runCli(['ls', join(clone, 'backups/inc.manifest.jsonl')]);
    expect(listed.code, listed.stderr).to.equal(0);
    expect(listed.stdout).to.include('site/css/a.css').and.include('full.manifest.jsonl');
  });

  it('a new backup builds on the converted chain, and its own chain verifies', async () => {
    await writeFile(join(root, 'site/new.txt'), 'new\n');
    const made = await createBackup({ sources: ['site'], cwd: root, out: join(clone, 'backups'), name: 'next', kind: 'auto' });
    expect(made.kind).to.equal('incremental');
    const report = await verifyBackup(made.manifestPath);
    expect(report.ok, report.problems.join('\n')).to.equal(true);
  });

  for (const [how, convert] of [
    ['by an editor with a byte-order mark and CRLF (Notepad)', (text: string) => Buffer.from(`\ufeff${text.replaceAll('\n', '\r\n')}`)],
    ['as UTF-16 with a byte-order mark and CRLF (Windows PowerShell 5: Get-Content m > copy)', (text: string) => utf16(text.replaceAll('\n', '\r\n'), 'le', true)],
    ['as UTF-16, big-endian, without a mark (iconv -t UTF-16BE)', (text: string) => utf16(text, 'be', false)],
  ] as const) {
    it(`saved ${how}: read as written and said, named or found in its folder, and built on`, async () => {
      const folder = await tempDir();
      for (const name of await readdir(join(root, 'repo/backups'))) await writeFile(join(folder, name), await readFile(join(root, 'repo/backups', name)));
      for (const name of ['full.manifest.jsonl', 'inc.manifest.jsonl']) await writeFile(join(folder, name), convert(await readFile(join(folder, name), 'utf8')));
      const path = join(folder, 'inc.manifest.jsonl');
      const report = await verifyBackup(path);
      expect(report.ok, report.problems.join('\n')).to.equal(true);
      expect(report.warnings.join('\n')).to.match(CONVERTED);
      const cli = await runCli(['restore', path, '-t', join(folder, 'out')]);
      expect(cli.code, cli.stderr).to.equal(0);
      // The folder's newest backup is found by its header (it was skipped as unreadable: "No backup in").
      const found = await runCli(['verify', folder]);
      expect(found.code, found.stderr + found.stdout).to.equal(0);
      expect(found.stdout).to.include('inc.tar.gz');
      const next = await createBackup({ sources: ['site'], cwd: root, out: folder, name: 'next', kind: 'auto' });
      expect(next.kind).to.equal('incremental');
      expect((await verifyBackup(next.manifestPath)).ok).to.equal(true);
    });
  }

  it('a converted manifest edited besides is still damage: its digest is of the lines as written', async () => {
    const folder = await tempDir();
    for (const name of await readdir(join(clone, 'backups'))) await writeFile(join(folder, name), await readFile(join(clone, 'backups', name)));
    const path = join(folder, 'full.manifest.jsonl');
    await writeFile(path, (await readFile(path, 'utf8')).replace('"mode":420', '"mode":493'));
    const report = await verifyBackup(path);
    expect(report.ok).to.equal(false);
    expect(report.problems.join('\n')).to.match(/does not match the digest in its footer/);
    expect(report.warnings.join('\n')).to.not.match(CONVERTED);
  });
});
