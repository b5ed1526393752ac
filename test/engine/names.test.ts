/**
 * Nothing is left out without a word: dot files, names with line breaks or backslashes, names that are not UTF-8,
 * symlink loops and unreadable folders are stored, or skipped and named. Names come back byte-exact.
 */
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { chmod, mkdir, readFile, readlink } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { execa } from 'execa';
import { createBackup, restoreBackup, verifyBackup } from '../../src/index.js';
import { loadManifest } from '../helpers/archive.js';
import { runCli } from '../helpers/cli.js';
import { tempDir, writeTree } from '../helpers/tree.js';

/** Every name under `root` as bytes (hex), with its type and content: what must come back exactly. */
function treeBytes(root: string): string[] {
  const script = `
import os, sys
out = []
for folder, dirs, files in os.walk(sys.argv[1].encode()):
    dirs.sort()
    for name in sorted(dirs + files):
        full = os.path.join(folder, name)
        rel = os.path.relpath(full, sys.argv[1].encode())
        if os.path.islink(full): what = b'link:' + os.readlink(full)
        elif os.path.isdir(full): what = b'dir'
        else: what = b'file:' + open(full, 'rb').read()
        out.append(rel.hex() + ' ' + what.hex())
print('\\n'.join(sorted(out)))
`;
  return execFileSync('python3', ['-c', script, root]).toString().trim().split('\n');
}

/** Makes a tree with names that only bytes can spell. */
function writeAwkwardTree(root: string): void {
  const script = `
import os, sys
os.chdir(sys.argv[1])
os.makedirs(b'src/dir\\xff', exist_ok=True)
open(b'src/dir\\xff/caf\\xe9', 'wb').write(b'latin-1 e-acute')
open(b'src/dir\\xff/caf\\xe8', 'wb').write(b'latin-1 e-grave')
open(b'src/new\\nline.txt', 'wb').write(b'newline')
open(b'src/carriage\\r', 'wb').write(b'cr')
open(b'src/dev-disk-by\\\\x2duuid.swap', 'wb').write(b'a backslash is part of a POSIX name')
open(b'src/.env', 'wb').write(b'SECRET=1')
os.makedirs(b'src/.github', exist_ok=True)
open(b'src/.github/ci.yml', 'wb').write(b'on: push')
os.symlink(b'dir\\xff/caf\\xe9', b'src/link\\xfe')
# Read as UTF-8, both names are U+FFFD: the real character, and a byte that is not UTF-8.
os.makedirs(b'src/one-when-decoded', exist_ok=True)
open(b'src/one-when-decoded/\\xef\\xbf\\xbd', 'wb').write(b'U+FFFD itself')
open(b'src/one-when-decoded/\\xff', 'wb').write(b'the byte 0xff')
`;
  execFileSync('python3', ['-c', script, root]);
}

describe('engine: nothing left out (names, dot files, loops, unreadable folders)', () => {
  it('stores dot files, line breaks and names that are not UTF-8 byte-exact; verify, restore and GNU tar agree', async () => {
    const root = await tempDir();
    writeAwkwardTree(root);
    const made = await createBackup({ sources: ['src'], cwd: root, out: join(root, 'out') });
    expect(made.skipped).to.deep.equal([]);
    const manifest = await loadManifest(made.manifestPath);
    expect(manifest.entries).to.have.length(14);
    // Two names that differ only in bytes that are not UTF-8 stay two (U+FFFD would merge them).
    expect(new Set(manifest.entries.map((e) => e.path)).size).to.equal(14);
    expect(manifest.entries.map((e) => e.path)).to.include.members(['src/one-when-decoded/\ufffd', 'src/one-when-decoded/\udcff']);
    const report = await verifyBackup(made.manifestPath);
    expect(report.ok, report.problems.join('; ')).to.equal(true);
    // Compared with the live tree, names that are not UTF-8 are read as bytes too.
    const compared = await verifyBackup(made.manifestPath, { source: root });
    expect(compared.source).to.deep.include({ changed: [], missing: [], new: [] });
    expect(compared.ok).to.equal(true);
    const restored = await tempDir();
    const result = await restoreBackup(made.manifestPath, { to: restored });
    expect(result.failures).to.deep.equal([]);
    expect(treeBytes(join(restored, 'src'))).to.deep.equal(treeBytes(join(root, 'src')));
    const byGnuTar = await tempDir();
    execFileSync('tar', ['-xzf', made.archivePath, '-C', byGnuTar]);
    expect(treeBytes(join(byGnuTar, 'src'))).to.deep.equal(treeBytes(join(root, 'src')));
    // And an archive GNU tar made of the same tree restores byte-exact without a manifest.
    const foreign = join(await tempDir(), 'gnu.tar');
    execFileSync('tar', ['--format', 'posix', '-C', root, '-cf', foreign, 'src']);
    const fromGnu = await tempDir();
    expect((await restoreBackup(foreign, { to: fromGnu })).failures).to.deep.equal([]);
    expect(treeBytes(join(fromGnu, 'src'))).to.deep.equal(treeBytes(join(root, 'src')));
  });

  it('ls shows each name on one line, quoted as GNU tar quotes it (line breaks, backslashes, bytes that are not UTF-8)', async () => {
    const root = await tempDir();
    writeAwkwardTree(root);
    execFileSync('python3', ['-c', "open(b'src/back\\\\slash\\ttab', 'wb').write(b'x')"], { cwd: root });
    const made = await createBackup({ sources: ['src'], cwd: root, out: join(root, 'out') });
    const listed = await runCli(['ls', made.manifestPath]);
    expect(listed.code).to.equal(0);
    // What follows the date and time of each line (tar -tv's columns), with the folders' slash dropped from tar's.
    const ours = listed.stdout.trim().split('\n').slice(1).map((line) => line.replace(/^\S+ +\d+ \S+ \S+ /, '').replace(/ -> .*$/, ''));
    const gnu = execFileSync('tar', ['-tzf', made.archivePath]).toString().trim().split('\n').map((line) => line.replace(/\/$/, ''));
    expect(ours).to.deep.equal(gnu);
    expect(ours).to.include.members(['src/new\\nline.txt', 'src/carriage\\r', 'src/dir\\377/caf\\351', 'src/back\\\\slash\\ttab']);
    // The reports that list names quote them the same way: a dry run, one line per entry.
    const dryRun = await runCli(['create', 'src', '--cwd', root, '--dry-run']);
    expect(dryRun.stdout.split('\n').filter((line) => line.startsWith('  store '))).to.have.length(gnu.length);
    expect(dryRun.stdout).to.include('  store src/new\\nline.txt (7 B)\n');
  });

  it('follows symlinks to files, and lists symlink loops as skipped instead of failing (as tar -h does)', async () => {
    const root = await tempDir();
    await mkdir(join(root, 'src/loop'), { recursive: true });
    execFileSync('sh', ['-c', 'echo x > src/f && ln -s f src/to-f && ln -s ../loop src/loop/self && ln -s a src/b && ln -s b src/a'], { cwd: root });
    const made = await createBackup({ sources: ['src'], cwd: root, out: join(root, 'out'), followSymlinks: true });
    expect(made.skipped.map((s) => s.path).sort()).to.deep.equal(['src/a', 'src/b']);
    expect(made.skipped[0]!.reason).to.match(/symlink loop/);
    const manifest = await loadManifest(made.manifestPath);
    expect(manifest.entries.find((e) => e.path === 'src/to-f')).to.include({ type: 'file', size: 2 });
    // A link back to a folder the walk is in is stored as the link: restored, it is the same loop,
    // where an empty folder (and a level of copies before it) came back before.
    expect(manifest.entries.find((e) => e.path === 'src/loop/self')).to.include({ type: 'symlink', linkTarget: '../loop' });
    expect(manifest.entries.filter((e) => e.path.startsWith('src/loop/self/'))).to.deep.equal([]);
  });

  it('with followSymlinks, a link to a folder walked already (up a level, or a second link) is stored as the link, and said', async () => {
    const root = await tempDir();
    await writeTree(root, { 'src/lib/a.js': 'a', 'src/lib/up': { symlink: '..' }, 'src/z-again': { symlink: 'lib' }, 'outside/o.txt': 'o', 'src/out': { symlink: '../outside' } });
    const made = await createBackup({ sources: ['src'], cwd: root, out: join(root, 'out'), followSymlinks: true });
    const manifest = await loadManifest(made.manifestPath);
    const byPath = new Map(manifest.entries.map((e) => [e.path, e]));
    expect(byPath.get('src/lib/up')).to.include({ type: 'symlink', linkTarget: '..' });
    expect(byPath.get('src/z-again')).to.include({ type: 'symlink', linkTarget: 'lib' });
    // A link to a folder not otherwise in the backup is followed, as before.
    expect(byPath.get('src/out')).to.include({ type: 'directory' });
    expect(byPath.get('src/out/o.txt')).to.include({ type: 'file' });
    expect(made.warnings.join('\n')).to.match(/2 symlinks lead to a folder this backup holds already \(a loop, or a second link to one folder: src\/lib\/up, …\): stored as links, not followed again/);
    const target = await tempDir();
    expect((await restoreBackup(made.manifestPath, { to: target })).ok).to.equal(true);
    expect(await readlink(join(target, 'src/lib/up'))).to.equal('..');
  });

  it('with onFileError: skip, an unreadable folder is skipped and named, not fatal', async () => {
    const root = await tempDir();
    await chmod(root, 0o755); // the unprivileged child must reach it
    await mkdir(join(root, 'src/locked'), { recursive: true });
    await mkdir(join(root, 'out'));
    execFileSync('sh', ['-c', 'echo a > src/a.txt && echo s > src/locked/secret && chmod 000 src/locked && chmod 777 out'], { cwd: root });
    // Tests run as root, whom permission bits do not stop: the backup runs as `nobody`.
    const bin = fileURLToPath(new URL('../../src/cli/bin.ts', import.meta.url));
    const args = ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '--import', import.meta.resolve('tsx'), bin, 'create', 'src', '-o', 'out', '--json'];
    const failing = await execa('setpriv', [...args, '--name', 'fails'], { cwd: root, reject: false, env: { HOME: '/tmp' } });
    expect(failing.exitCode, failing.stderr).to.equal(2);
    expect(failing.stderr).to.match(/Cannot read .*locked/);
    const skipping = await execa('setpriv', [...args, '--name', 'skips', '--on-file-error', 'skip'], { cwd: root, reject: false, env: { HOME: '/tmp' } });
    expect(skipping.exitCode, skipping.stderr).to.equal(0);
    const manifest = await loadManifest(join(root, 'out/skips.manifest.jsonl'));
    expect(manifest.footer.skipped.map((s) => s.path)).to.deep.equal(['src/locked']);
    expect(manifest.footer.skipped[0]!.reason).to.match(/folder cannot be read \(EACCES\)/);
    expect(manifest.entries.map((e) => e.path)).to.include('src/a.txt');
    expect(await readFile(join(root, 'src/a.txt'), 'utf8')).to.equal('a\n');
  });
});
