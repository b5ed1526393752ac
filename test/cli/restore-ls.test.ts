import { expect } from 'chai';
import { readFile, readlink, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createBackup } from '../../src/index.js';
import { main } from '../../src/cli/main.js';
import { runCli } from '../helpers/cli.js';
import { editManifestEntry } from '../helpers/archive.js';
import { tempDir, writeTree } from '../helpers/tree.js';

describe('cli: gulp-backup restore and ls', () => {
  let manifestPath: string;
  let root: string;
  before(async () => {
    root = await tempDir();
    await writeTree(root, { 'app/a.txt': 'a', 'app/sub/b.txt': 'b', 'app/link': { symlink: 'a.txt' } });
    ({ manifestPath } = await createBackup({ sources: ['app'], cwd: root, out: join(root, 'out'), name: 'r' }));
  });

  it('--sparse leaves the zeros of large files as holes and says how much', async () => {
    const dir = await tempDir();
    await writeTree(dir, { 'disk/image.img': Buffer.concat([Buffer.from('boot'), Buffer.alloc(3 * 1024 * 1024)]) });
    const made = await createBackup({ sources: ['disk'], cwd: dir, out: join(dir, 'out') });
    const target = await tempDir();
    const restored = await runCli(['restore', made.manifestPath, '--to', target, '--sparse']);
    expect(restored.code, restored.stderr).to.equal(0);
    expect(restored.stdout, restored.stdout).to.match(/^Restored into .*: 1 file \(3 MB, 3 MB of it left as holes\), 1 folder/);
    expect((await stat(join(target, 'disk/image.img'))).blocks * 512).to.be.below(64 * 1024);
  });

  it('a symlink to an absolute path is refused (exit 1, saying how to allow it) until --allow-outside-links, which makes it as it is', async () => {
    const dir = await tempDir();
    await writeTree(dir, { 'sys/bin/awk': { symlink: '/etc/alternatives/awk' }, 'sys/bin/tool': 'x' });
    const made = await createBackup({ sources: ['sys'], cwd: dir, out: join(dir, 'out') });
    const refused = await runCli(['restore', made.manifestPath, '--to', await tempDir()]);
    expect(refused.code).to.equal(1);
    expect(refused.stdout).to.match(/^ {2}not restored sys\/bin\/awk: refused: it links to the absolute path "\/etc\/alternatives\/awk"$/m);
    expect(refused.stdout).to.match(/^ {2}warning: 1 symlink refused for leading outside .*--allow-outside-links/m);
    const target = await tempDir();
    const allowed = await runCli(['restore', made.manifestPath, '--to', target, '--allow-outside-links']);
    expect(allowed.code, allowed.stdout).to.equal(0);
    expect(await readlink(join(target, 'sys/bin/awk'))).to.equal('/etc/alternatives/awk');
  });

  it('restores (exit 0), then refuses once, up front, while files are in the way (exit 2), until --overwrite', async () => {
    const target = await tempDir();
    const first = await runCli(['restore', manifestPath, '--to', target]);
    expect(first.code, first.stderr).to.equal(0);
    expect(first.stdout).to.match(/^Restored into .*: 2 files .*, 2 folders, 1 link in/);
    expect(await readFile(join(target, 'app/sub/b.txt'), 'utf8')).to.equal('b');
    const again = await runCli(['restore', manifestPath, '--to', target]);
    expect(again.code).to.equal(2);
    expect(again.stderr).to.match(/^gulp-backup: 3 files to restore already exist in .* \(app\/a\.txt, app\/link, app\/sub\/b\.txt\); nothing was restored\. Pass --overwrite/);
    expect(again.stdout).to.equal('');
    const one = await runCli(['restore', manifestPath, '--to', target, '--include', 'a.txt']);
    expect(one.stderr).to.match(/^gulp-backup: 1 file to restore already exists in .* \(app\/a\.txt\)/);
    const forced = await runCli(['restore', manifestPath, '--to', target, '--include', 'app/a.txt', '--overwrite', '--json']);
    expect(forced.code).to.equal(0);
    expect(JSON.parse(forced.stdout)).to.deep.include({ ok: true, blocksRead: 1 });
  });

  it('an error it does not expect exits 3 with its stack and asks for a report, not 1 (damage) or 2 (input)', async () => {
    // The fault at the I/O boundary: an output that fails as ls writes to it.
    const failing = { write: () => { throw new Error('the terminal went away'); } } as unknown as NodeJS.WriteStream;
    const stderr: string[] = [];
    const errors = { write: (text: string) => stderr.push(text) } as unknown as NodeJS.WriteStream;
    const code = await main(['ls', manifestPath], { stdout: failing, stderr: errors, signal: new AbortController().signal });
    expect(code).to.equal(3);
    expect(stderr.join('')).to.match(/^gulp-backup: unexpected error: the terminal went away\nError: the terminal went away\n {4}at .*\nThis is a bug in gulp-backup [\d.]+, or a system error it does not handle yet: please report it/s);
  });

  it('ls of a manifest edited with its digest computed again: the malformed entry is said, not listed as sound (exit 1)', async () => {
    const folder = await tempDir();
    const made = await createBackup({ sources: ['app'], cwd: root, out: folder, name: 'e' });
    await editManifestEntry(made.manifestPath, 'app/a.txt', (e) => ({ ...e, mtimeNs: 'soon' }));
    const r = await runCli(['ls', made.manifestPath]);
    expect(r.code).to.equal(1);
    expect(r.stdout).to.match(/^# entry 2 of the manifest is malformed \(mtimeNs\): \{"record":"entry","path":"app\/a\.txt"/m);
    expect(r.stdout).to.match(/^-rw-r--r-- +1 .* app\/sub\/b\.txt$/m);
    expect(r.stderr).to.match(/^gulp-backup: 1 entry of .*e\.manifest\.jsonl is malformed: restore refuses it\.$/m);
  });

  it('exits 2 without --to or with a missing backup', async () => {
    expect((await runCli(['restore', manifestPath])).code).to.equal(2);
    const missing = await runCli(['restore', '/nonexistent/x.manifest.jsonl', '--to', await tempDir()]);
    expect(missing.code).to.equal(2);
    expect(missing.stderr).to.match(/not found/);
  });

  it('ls lists the entries like tar -tv, or as JSON lines', async () => {
    const r = await runCli(['ls', manifestPath]);
    expect(r.code).to.equal(0);
    expect(r.stdout.split('\n')[0]).to.match(/^# full backup [0-9a-f-]+, .*, 5 entries/);
    expect(r.stdout).to.match(/^lrwxrwxrwx +0 .* app\/link -> a\.txt$/m);
    expect(r.stdout).to.match(/^-rw-r--r-- +1 .* app\/sub\/b\.txt$/m);
    expect(r.stdout).to.match(/^drwxr-xr-x +0 .* app\/sub$/m);
    const json = await runCli(['ls', manifestPath, '--json']);
    expect(json.stdout.trim().split('\n').map((line) => (JSON.parse(line) as { path: string }).path)).to.deep.equal(['app', 'app/a.txt', 'app/link', 'app/sub', 'app/sub/b.txt']);
  });

  it('create --incremental builds a chain that ls shows, and restore brings back its point', async () => {
    const root = await tempDir();
    await writeTree(root, { 'app/a.txt': { content: 'a', mtime: 1_600_000_000 }, 'app/b.txt': { content: 'b', mtime: 1_600_000_000 } });
    const out = join(root, 'out');
    const create = (...extra: string[]) => runCli(['create', 'app', '--cwd', root, '--out', out, '-q', ...extra]);
    expect((await create('--name', 'one')).code).to.equal(0);
    await writeFile(join(root, 'app/b.txt'), 'b, changed');
    await writeFile(join(root, 'app/c.txt'), 'c, new');
    const second = await runCli(['create', 'app', '--cwd', root, '--out', out, '--name', 'two', '--incremental']);
    expect(second.code, second.stderr).to.equal(0);
    // Named against its parent, as restic does: new, changed, deleted, unchanged.
    expect(second.stdout).to.match(/^Backup .*two\.tar\.gz \(incremental\)\n {2}incremental on one\.manifest\.jsonl: files 1 new, 1 changed, 0 deleted, 1 unchanged \(1 B held by earlier backups\)/);
    const folder = await runCli(['ls', out]);
    expect(folder.stdout).to.match(/^full +\S+ \S+ +2 of 2 +files stored .* one\.manifest\.jsonl\nincremental +\S+ \S+ +2 of 3 +files stored .* two\.manifest\.jsonl {2}← one\.manifest\.jsonl\n$/);
    const chain = await runCli(['ls', join(out, 'two.manifest.jsonl')]);
    expect(chain.stdout).to.match(/^# chain, oldest first:\n# {3}full .* one\.manifest\.jsonl\n# {3}incremental .* two\.manifest\.jsonl$/m);
    const stats = await runCli(['stats', join(out, 'two.manifest.jsonl')]);
    expect(stats.stdout).to.match(/^ {2}2 files stored, 1 unchanged \(1 B held by earlier backups of its chain\)$/m);
    const target = await tempDir();
    expect((await runCli(['restore', join(out, 'two.manifest.jsonl'), '--to', target])).code).to.equal(0);
    expect(await readFile(join(target, 'app/b.txt'), 'utf8')).to.equal('b, changed');
    expect(await readFile(join(target, 'app/a.txt'), 'utf8')).to.equal('a');
    const both = await create('--incremental', '--differential');
    expect(both.code).to.equal(2);
    expect(both.stderr).to.match(/one of --incremental, --differential and --auto/);
  });

  it('ls of a folder names a parent kept in another folder (--since), and says when it is missing', async () => {
    const root = await tempDir();
    await writeTree(root, { 'app/a.txt': 'a' });
    const full = runCli(['create', 'app', '--cwd', root, '--out', join(root, 'full'), '--name', 'base', '-q']);
    expect((await full).code).to.equal(0);
    const inc = await runCli(['create', 'app', '--cwd', root, '--out', join(root, 'inc'), '--name', 'next', '--incremental', '--since', join(root, 'full'), '-q']);
    expect(inc.code, inc.stderr).to.equal(0);
    const listed = await runCli(['ls', join(root, 'inc')]);
    expect(listed.stdout).to.match(/next\.manifest\.jsonl {2}← \.\.\/full\/base\.manifest\.jsonl\n$/);
    await rename(join(root, 'full/base.manifest.jsonl'), join(root, 'full/moved.manifest.jsonl'));
    expect((await runCli(['ls', join(root, 'inc')])).stdout).to.match(/← \.\.\/full\/base\.manifest\.jsonl \(missing\)\n$/);
  });

  it('an interrupted command says what it left, in its own terms (exit 130)', async () => {
    const restore = await runCli(['restore', manifestPath, '--to', await tempDir()], AbortSignal.abort());
    expect(restore.code).to.equal(130);
    expect(restore.stderr).to.match(/interrupted; the files restored so far are in place.*--overwrite/);
    const verify = await runCli(['verify', manifestPath], AbortSignal.abort());
    expect(verify.code).to.equal(130);
    expect(verify.stderr).to.match(/(^|\n)gulp-backup: interrupted\.\n$/); // after its progress line, when stderr is not a terminal
  });
});
