/**
 * Archives that other tools made, restored as GNU tar 1.34 extracts them. Every archive here is
 * made by the test itself: GNU tar in each format it offers, Python's tarfile, and by hand
 * (truncated, garbage-tailed, bombs). Each is extracted by GNU tar and by us into two folders,
 * compared path by path: type, mode, owner, size, content, link target, mtime (to the µs) and
 * hard-link groups. Where we differ on purpose (devices, links that lead outside), the test says so.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { chown, lchown, mkdir, readFile, readdir, symlink, truncate, utimes, writeFile, link, chmod, lutimes } from 'node:fs/promises';
import { join } from 'node:path';
import * as zlib from 'node:zlib';
import { expect } from 'chai';
import { execa } from 'execa';
import { restoreBackup } from '../../src/engine/read/restore.js';
import { craftTar, craftTarGz } from '../helpers/craft-tar.js';
import { runCli, spawnCli } from '../helpers/cli.js';
import { allocatedBytes, describeTree, type ExactEntry } from '../helpers/exact-tree.js';
import { pseudoRandomBytes, tempDir } from '../helpers/tree.js';

const AS_ROOT = process.getuid?.() === 0;

/** GNU tar's extraction of `archive` into a new folder (its exit code is kept: some archives make it complain). */
async function extractWithTar(archive: string, work: string): Promise<{ dir: string; code: number }> {
  const dir = join(work, `tar-${Math.random().toString(36).slice(2)}`);
  await mkdir(dir);
  const { exitCode } = await execa('tar', ['-xf', archive, '-C', dir], { reject: false });
  return { dir, code: exitCode ?? -1 };
}

/** Ours, through the CLI as a user runs it. */
async function extractWithUs(archive: string, work: string): Promise<{ dir: string; code: number; stdout: string; stderr: string }> {
  const dir = join(work, `ours-${Math.random().toString(36).slice(2)}`);
  const run = await runCli(['restore', archive, '--to', dir]);
  return { dir, ...run };
}

/** The two trees, less the mtimes of folders that had no entry of their own (both made them "now"). */
function expectSameTree(ours: string, tars: string, foldersWithoutEntry: string[] = []): void {
  const strip = (tree: Record<string, ExactEntry>) => {
    for (const path of foldersWithoutEntry) if (tree[path]) tree[path] = { ...tree[path]!, mtimeUs: 0n };
    return tree;
  };
  expect(strip(describeTree(ours))).to.deep.equal(strip(describeTree(tars)));
}

/** Whether any symlink under `root` resolves to a place outside it. */
function linksLeadingOutside(root: string): string[] {
  const outside: string[] = [];
  const real = realpathSync(root);
  for (const [path, entry] of Object.entries(describeTree(root))) {
    if (entry.type !== 'symlink') continue;
    let resolved: string;
    try {
      resolved = realpathSync(join(root, path));
    } catch {
      continue; // dangling or a loop: leads nowhere
    }
    if (resolved !== real && !resolved.startsWith(`${real}/`)) outside.push(`${path} -> ${resolved}`);
  }
  return outside;
}

function python(script: string, cwd: string): void {
  execFileSync('python3', ['-c', script], { cwd });
}

describe('archives made by other tools, restored as GNU tar extracts them', function () {
  this.timeout(120_000);
  let work: string;
  /** A tree every format can hold. */
  let plain: string;
  /** More than ustar and v7 can hold: long names and link targets, times before 1970 and nanoseconds. */
  let extended: string;

  before(async () => {
    work = await tempDir();
    plain = join(work, 'plain');
    await mkdir(join(plain, 'docs/deep'), { recursive: true });
    await mkdir(join(plain, 'private'));
    await writeFile(join(plain, 'hello.txt'), 'hello');
    await writeFile(join(plain, 'empty'), '');
    await writeFile(join(plain, 'docs/big.bin'), pseudoRandomBytes(1_500_000, 3)); // over the 1 MiB small-file limit
    await writeFile(join(plain, 'docs/deep/tool.sh'), '#!/bin/sh\n');
    await chmod(join(plain, 'docs/deep/tool.sh'), 0o4755);
    await chmod(join(plain, 'docs'), 0o750);
    await chmod(join(plain, 'private'), 0o700);
    await symlink('hello.txt', join(plain, 'greeting'));
    await symlink('../hello.txt', join(plain, 'docs/up'));
    await link(join(plain, 'hello.txt'), join(plain, 'hello-again.txt'));
    await link(join(plain, 'greeting'), join(plain, 'greeting-again')); // a hard link to a symlink
    if (AS_ROOT) {
      await chown(join(plain, 'hello.txt'), 1234, 5678);
      await lchown(join(plain, 'greeting'), 4321, 8765);
      await chown(join(plain, 'docs/deep/tool.sh'), 1234, 5678); // chown clears set-user-ID: set it again
      await chmod(join(plain, 'docs/deep/tool.sh'), 0o4755);
    }
    await utimes(join(plain, 'hello.txt'), 1_580_608_922, 1_580_608_922);
    await lutimes(join(plain, 'greeting'), 978_307_201, 978_307_201);
    for (const folder of ['docs/deep', 'docs', 'private', '.']) await utimes(join(plain, folder), 915_148_800, 915_148_800);

    extended = join(work, 'extended');
    execFileSync('cp', ['-a', plain, extended]);
    const long = 'n'.repeat(150);
    await mkdir(join(extended, long, long), { recursive: true });
    await writeFile(join(extended, long, long, `${long}.txt`), 'deep and long');
    await symlink(`${long}/${long}/${long}.txt`, join(extended, 'long-link'));
    execFileSync('touch', ['-d', '1960-05-01 10:00:00.123456789', join(extended, 'private')]);
    execFileSync('touch', ['-h', '-d', '2020-02-02 02:02:02.987654321', join(extended, 'hello.txt')]);
    for (const folder of [join(long, long), long, '.']) execFileSync('touch', ['-d', '1999-01-01', join(extended, folder)]);
  });

  for (const [format, source] of [
    ['gnu', 'extended'],
    ['oldgnu', 'extended'],
    ['posix', 'extended'],
    ['ustar', 'plain'],
    ['v7', 'plain'],
  ] as const) {
    it(`tar --format=${format} -C dir . (root entry, owners, modes, set-user-ID, links, hard links to symlinks${source === 'extended' ? ', long names, pre-1970 times' : ''})`, async () => {
      const archive = join(work, `${format}.tar`);
      execFileSync('tar', [`--format=${format}`, '-C', source === 'plain' ? plain : extended, '-cf', archive, '.']);
      const tars = await extractWithTar(archive, work);
      const ours = await extractWithUs(archive, work);
      expect(ours.code, ours.stdout + ours.stderr).to.equal(0);
      expect(tars.code).to.equal(0);
      expectSameTree(ours.dir, tars.dir);
      if (AS_ROOT) expect(describeTree(ours.dir)['hello.txt']).to.include({ uid: 1234, gid: 5678 });
      expect(describeTree(ours.dir)['greeting-again']).to.include({ type: 'symlink', sameAs: 'greeting' });
      // verify and ls read it whole too: ls lists what tar -t lists.
      expect((await runCli(['verify', archive])).code).to.equal(0);
      const listed = await runCli(['ls', archive]);
      expect(listed.code).to.equal(0);
      expect(listed.stdout.trim().split('\n').length).to.equal(execFileSync('tar', ['-tf', archive]).toString().trim().split('\n').length);
    });
  }

  for (const [format, source] of [
    ['pax', 'extended'],
    ['gnutar', 'extended'],
    ['ustar', 'plain'],
    ['v7', 'plain'],
  ] as const) {
    it(`bsdtar --format ${format} (libarchive: folders listed breadth-first, before their files): the tree GNU tar extracts, folder times as recorded`, async () => {
      const dir = source === 'plain' ? plain : extended;
      const archive = join(work, `bsdtar-${format}.tar`);
      execFileSync('bsdtar', ['--format', format, '-C', dir, '-cf', archive, '.']);
      const extractionStartUs = BigInt(Date.now() - 1000) * 1000n;
      const tars = await extractWithTar(archive, work);
      const ours = await extractWithUs(archive, work);
      expect(ours.code, ours.stdout + ours.stderr).to.equal(0);
      expect(tars.code).to.equal(0);
      const original = describeTree(dir);
      const folders = Object.keys(original).filter((path) => original[path]!.type === 'directory');
      // GNU tar sets a folder's time when it leaves the folder: one whose files come later gets the extraction's time.
      expectSameTree(ours.dir, tars.dir, folders);
      // Where the two differ, GNU tar's is the time of the extraction and ours the recorded one.
      const [restored, gnu] = [describeTree(ours.dir), describeTree(tars.dir)];
      const differing = folders.filter((folder) => restored[folder]!.mtimeUs !== gnu[folder]!.mtimeUs);
      for (const folder of differing) {
        expect(gnu[folder]!.mtimeUs > extractionStartUs, folder).to.equal(true);
        expect(restored[folder]!.mtimeUs, folder).to.equal(original[folder]!.mtimeUs);
      }
      if (source === 'extended') expect(differing.length, 'a folder whose files come later').to.be.above(0);
      expect((await runCli(['verify', archive])).stdout).not.to.match(/warning/);
    });
  }

  it('tar --sparse (old GNU, and PAX 0.0, 0.1, 1.0): same content, and sparse on disk as GNU tar makes it', async () => {
    const source = join(work, 'sparse-source');
    await mkdir(source);
    const image = join(source, 'disk.img');
    await writeFile(image, '');
    await truncate(image, 48 * 1024 * 1024);
    execFileSync('sh', ['-c', `printf data-at-10M | dd of=${image} bs=1 seek=10485760 conv=notrunc status=none; printf end | dd of=${image} bs=1 seek=50331645 conv=notrunc status=none`]);
    const small = join(source, 'small.img');
    await writeFile(small, '');
    await truncate(small, 3 * 1024 * 1024);
    execFileSync('sh', ['-c', `printf x | dd of=${small} bs=1 seek=1000 conv=notrunc status=none`]);
    const variants: [string, string[]][] = [
      ['old GNU', ['--format=gnu']],
      ['PAX 0.0', ['--format=posix', '--sparse-version=0.0']],
      ['PAX 0.1', ['--format=posix', '--sparse-version=0.1']],
      ['PAX 1.0', ['--format=posix', '--sparse-version=1.0']],
    ];
    for (const [name, flags] of variants) {
      const archive = join(work, `sparse-${name.replace(/\W/g, '')}.tar`);
      execFileSync('tar', [...flags, '--sparse', '-C', source, '-cf', archive, '.']);
      const tars = await extractWithTar(archive, work);
      const ours = await extractWithUs(archive, work);
      expect(ours.code, `${name}: ${ours.stdout}`).to.equal(0);
      expectSameTree(ours.dir, tars.dir);
      const { size, allocated } = allocatedBytes(join(ours.dir, 'disk.img'));
      expect(size, name).to.equal(48 * 1024 * 1024);
      expect(allocated, `${name}: ${allocated} bytes allocated`).to.be.below(1024 * 1024);
    }
  });

  it('tar --listed-incremental, level 0 and 1 (GNU dump directories: folder entries whose content lists their names): verified, listed and restored as GNU tar extracts them', async () => {
    const tree = join(work, 'dumped');
    execFileSync('cp', ['-a', plain, tree]);
    const snapshot = join(work, 'dumped.snar');
    const level0 = join(work, 'level0.tar.gz');
    const level1 = join(work, 'level1.tar');
    execFileSync('tar', ['--listed-incremental', snapshot, '-C', tree, '-czf', level0, '.']);
    await writeFile(join(tree, 'docs/new.txt'), 'added after level 0');
    await utimes(join(tree, 'docs/new.txt'), 1_700_000_000, 1_700_000_000);
    execFileSync('tar', ['--listed-incremental', snapshot, '-C', tree, '-cf', level1, '.']);
    // The first folder entry of each is a dump directory with content: the case this test is about.
    expect(execFileSync('tar', ['-tvf', level1]).toString()).to.match(/^d\S+ \S+ +[1-9]\d* /);
    for (const archive of [level0, level1]) {
      const verified = await runCli(['verify', archive]);
      expect(verified.code, verified.stdout + verified.stderr).to.equal(0);
      const listed = await runCli(['ls', archive]);
      expect(listed.code, listed.stderr).to.equal(0);
      expect(listed.stdout.trim().split('\n').length).to.equal(execFileSync('tar', ['-tf', archive]).toString().trim().split('\n').length);
      const tars = await extractWithTar(archive, work);
      const ours = await extractWithUs(archive, work);
      expect(ours.code, ours.stdout).to.equal(0);
      expectSameTree(ours.dir, tars.dir);
    }
  });

  it('tar -M volumes: the first is cut short (exit 1, as GNU tar fails it), a continuation is named, never reported restored (was exit 0, "skipped")', async () => {
    const folder = join(work, 'volumes');
    await mkdir(folder);
    await writeFile(join(folder, 'big.bin'), pseudoRandomBytes(300_000, 21));
    await writeFile(join(folder, 'small.txt'), 'after');
    const [first, second] = [join(work, 'vol1.tar'), join(work, 'vol2.tar')];
    execFileSync('tar', ['-cM', '-L', '200', '-f', first, '-f', second, '-C', folder, 'big.bin', 'small.txt']);
    expect(execFileSync('tar', ['-tvf', second]).toString()).to.match(/^M.* big\.bin--Continued at byte/);
    // GNU tar without -M fails both volumes: exit 2.
    expect((await extractWithTar(second, work)).code).to.equal(2);
    const ours = await extractWithUs(second, work);
    expect(ours.code, ours.stdout).to.equal(1);
    expect(ours.stdout).to.match(/not restored big\.bin: it continues a file begun in an earlier volume of a multi-volume archive \(tar -M\)/);
    expect(existsSync(join(ours.dir, 'small.txt'))).to.equal(true);
    expect(existsSync(join(ours.dir, 'big.bin'))).to.equal(false);
    const verified = await runCli(['verify', second]);
    expect(verified.code, verified.stdout).to.equal(0); // the tar structure is whole
    expect(verified.stdout).to.match(/warning: "big\.bin": it continues a file begun in an earlier volume/);
    expect((await extractWithUs(first, work)).code).to.equal(1);
  });

  it('tar archives joined with cat: the first one is read, as GNU tar reads it, and a warning says more follows (was said nowhere)', async () => {
    const folder = join(work, 'joined');
    await mkdir(folder);
    await writeFile(join(folder, 'one.txt'), 'one');
    await writeFile(join(folder, 'two.bin'), pseudoRandomBytes(40_000, 22));
    const parts = ['one.txt', 'two.bin'].map((name) => execFileSync('tar', ['-cf', '-', '-C', folder, name]));
    for (const [suffix, bytes] of [
      ['tar', Buffer.concat(parts)],
      ['tar.gz', Buffer.concat(parts.map((part) => zlib.gzipSync(part)))],
    ] as const) {
      const archive = join(work, `joined.${suffix}`);
      await writeFile(archive, bytes);
      expect(execFileSync('tar', ['-tf', archive]).toString()).to.equal('one.txt\n');
      const warning = /warning: data follows the end-of-archive marker of .*joined\.tar(\.gz)? \(tar archives joined with cat\?\)/;
      const verified = await runCli(['verify', archive]);
      expect(verified.code, verified.stdout).to.equal(0);
      expect(verified.stdout, suffix).to.match(warning);
      const ours = await extractWithUs(archive, work);
      expect(ours.code).to.equal(0);
      expect(ours.stdout, suffix).to.match(warning);
      expectSameTree(ours.dir, (await extractWithTar(archive, work)).dir, ['.']);
      // One archive alone, padded with zeros to GNU tar's 10 KiB record: no warning.
      const alone = join(work, `alone.${suffix}`);
      await writeFile(alone, suffix === 'tar' ? parts[0]! : zlib.gzipSync(parts[0]!));
      expect((await runCli(['verify', alone])).stdout).not.to.match(/warning/);
      expect((await extractWithUs(alone, work)).stdout).not.to.match(/warning/);
    }
  });

  it('npm pack and git archive tarballs (no folder entries; a pax global comment holding the commit)', async () => {
    const pkg = join(work, 'pkg');
    await mkdir(join(pkg, 'lib'), { recursive: true });
    await writeFile(join(pkg, 'package.json'), JSON.stringify({ name: 'tiny', version: '1.0.0', bin: 'lib/cli.js' }));
    await writeFile(join(pkg, 'lib/cli.js'), '#!/usr/bin/env node\n');
    await writeFile(join(pkg, 'lib/data.bin'), pseudoRandomBytes(70_000, 4));
    await execa('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', work], { cwd: pkg });
    execFileSync('git', ['init', '-q', pkg]);
    execFileSync('git', ['-C', pkg, 'add', '.']);
    execFileSync('git', ['-C', pkg, '-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-q', '-m', 'x']);
    execFileSync('git', ['-C', pkg, 'archive', '--format=tar.gz', '--prefix=repo/', '-o', join(work, 'repo.tar.gz'), 'HEAD']);
    for (const [archive, folders] of [
      [join(work, 'tiny-1.0.0.tgz'), ['.', 'package', 'package/lib']],
      [join(work, 'repo.tar.gz'), ['.']],
    ] as const) {
      const tars = await extractWithTar(archive, work);
      const ours = await extractWithUs(archive, work);
      expect(ours.code, ours.stdout).to.equal(0);
      expectSameTree(ours.dir, tars.dir, [...folders]);
      expect((await runCli(['verify', archive])).code).to.equal(0);
    }
  });

  it('entries without their folders: the folders are made with 0777 less the umask, as GNU tar makes them', async () => {
    const archive = join(work, 'no-folders.tar');
    execFileSync('tar', ['-C', plain, '--no-recursion', '-cf', archive, 'docs/deep/tool.sh', 'hello.txt']);
    const tars = await extractWithTar(archive, work);
    const ours = await extractWithUs(archive, work);
    expect(ours.code).to.equal(0);
    expectSameTree(ours.dir, tars.dir, ['.', 'docs', 'docs/deep']);
    expect(describeTree(ours.dir)['docs']!.mode).to.equal(0o777 & ~currentUmask());
  });

  it('a later entry of the same name replaces the earlier one (tar -r), also over a symlink; a hard link to the earlier keeps it', async () => {
    const source = join(work, 'appended');
    await mkdir(source);
    const archive = join(work, 'appended.tar');
    await symlink('elsewhere', join(source, 'name'));
    execFileSync('tar', ['-C', source, '-cf', archive, 'name']);
    execFileSync('rm', [join(source, 'name')]);
    await writeFile(join(source, 'name'), 'first');
    await link(join(source, 'name'), join(source, 'link'));
    execFileSync('tar', ['-C', source, '-rf', archive, 'name', 'link']);
    execFileSync('rm', [join(source, 'link')]);
    await writeFile(join(source, 'name'), 'second, longer');
    execFileSync('tar', ['-C', source, '-rf', archive, 'name']);
    const tars = await extractWithTar(archive, work);
    const ours = await extractWithUs(archive, work);
    expect(ours.code, ours.stdout).to.equal(0);
    expectSameTree(ours.dir, tars.dir, ['.']);
    expect(await readFile(join(ours.dir, 'name'), 'utf8')).to.equal('second, longer');
    expect(await readFile(join(ours.dir, 'link'), 'utf8')).to.equal('first');
    expect(await readFile(join(tars.dir, 'link'), 'utf8')).to.equal('first');
  });

  it('tar --zstd: restored where Node reads zstd (22.15 and later), else refused with exit 2 naming what it needs', async () => {
    const archive = join(work, 'z.tar.zst');
    execFileSync('tar', ['--zstd', '-C', plain, '-cf', archive, '.']);
    const ours = await extractWithUs(archive, work);
    if ('createZstdDecompress' in zlib) {
      expect(ours.code, ours.stdout + ours.stderr).to.equal(0);
      expectSameTree(ours.dir, (await extractWithTar(archive, work)).dir, ['.']);
    } else {
      expect(ours.code).to.equal(2);
      expect(ours.stderr).to.match(/zstd-compressed; reading it needs Node\.js 22\.15 or later/);
    }
  });

  it('pzstd (a skippable frame before each frame, as zstd -d, zstd -t and GNU tar read it): told zstd by its bytes, restored and verified (was "not a tar archive")', async () => {
    const tar = join(work, 'for-pzstd.tar');
    execFileSync('tar', ['-C', plain, '-cf', tar, '.']);
    const archive = join(work, 'p.tar.zst');
    execFileSync('pzstd', ['-q', '-f', '-p', '2', tar, '-o', archive]);
    expect(readFileSync(archive).subarray(0, 4).readUInt32LE(0)).to.equal(0x184d2a50); // a skippable frame first
    const ours = await extractWithUs(archive, work);
    const verified = await runCli(['verify', archive]);
    if ('createZstdDecompress' in zlib) {
      expect(ours.code, ours.stdout + ours.stderr).to.equal(0);
      expectSameTree(ours.dir, (await extractWithTar(archive, work)).dir);
      expect(verified.code, verified.stdout + verified.stderr).to.equal(0);
      expect(verified.stdout).to.match(/the zstd frames \(with their checksums/);
    } else {
      for (const run of [ours, verified]) {
        expect(run.code).to.equal(2);
        expect(run.stderr).to.match(/zstd-compressed; reading it needs Node\.js 22\.15 or later/);
      }
    }
  });

  it('a .tar.zst made with a zstd dictionary (zstd -D): refused with exit 2 naming the dictionary, never called damaged (was DAMAGED, "Dictionary mismatch")', async () => {
    const samples = join(work, 'samples');
    await mkdir(samples);
    for (let i = 0; i < 300; i++) await writeFile(join(samples, `s${i}`), `sample ${i} of a corpus, lorem ipsum dolor sit amet ${i * 7919}\n`.repeat(1 + (i % 5)));
    const dictionary = join(work, 'dictionary');
    execFileSync('zstd', ['-q', '--train', '--maxdict=4096', '-o', dictionary, ...readdirSync(samples).map((name) => join(samples, name))]);
    const archive = join(work, 'd.tar.zst');
    execFileSync('tar', ['-C', plain, '-I', `zstd -D ${dictionary}`, '-cf', archive, '.']);
    expect(() => execFileSync('zstd', ['-t', '-q', archive], { stdio: 'ignore' })).to.throw(); // zstd cannot read it either
    for (const run of [await extractWithUs(archive, work), await runCli(['verify', archive])]) {
      expect(run.code).to.equal(2);
      // On every Node: no Node reads it without its dictionary.
      expect(run.stderr).to.match(/was compressed with a zstd dictionary \(id \d+\), which it cannot be read without.*zstd -d -D DICTIONARY/);
      expect(run.stdout).to.not.match(/DAMAGED/);
    }
  });

  it("Python's tarfile: pax global headers, repeated pax headers, names that are not UTF-8 in three formats, negative and odd mtimes", async () => {
    const dir = join(work, 'python');
    await mkdir(dir);
    python(
      String.raw`
import tarfile, io
def add(tf, name, data=b'', **kw):
    ti = tarfile.TarInfo(name); ti.size = len(data); ti.mtime = kw.pop('mtime', 1600000000); ti.mode = kw.pop('mode', 0o644)
    for k, v in kw.items(): setattr(ti, k, v)
    tf.addfile(ti, io.BytesIO(data))
with tarfile.open('global.tar', 'w', format=tarfile.PAX_FORMAT, pax_headers={'uid': '777', 'gid': '888', 'mtime': '1234567890.5', 'comment': 'hi'}) as tf:
    add(tf, 'g1.txt', b'one')
    add(tf, 'g2.txt', b'two', pax_headers={'uid': '5'})
for fmt, name in [(tarfile.GNU_FORMAT, 'gnu'), (tarfile.PAX_FORMAT, 'pax'), (tarfile.USTAR_FORMAT, 'ustar')]:
    with tarfile.open('names-' + name + '.tar', 'w', format=fmt, encoding='utf-8', errors='surrogateescape') as tf:
        add(tf, 'caf\udce9.txt', b'latin-1 e-acute')
        add(tf, 'caf\udce8.txt', b'latin-1 e-grave')
        add(tf, 'caf\u00e9.txt', b'utf-8')
for fmt, name in [(tarfile.GNU_FORMAT, 'gnu'), (tarfile.PAX_FORMAT, 'pax')]:
    with tarfile.open('negative-' + name + '.tar', 'w', format=fmt) as tf:
        add(tf, 'old.txt', b'old', mtime=-1234567890)
        add(tf, 'just-before.txt', b'frac', mtime=-1.25)
with tarfile.open('odd-mtime.tar', 'w', format=tarfile.PAX_FORMAT) as tf:
    add(tf, 'odd.txt', b'odd', pax_headers={'mtime': 'not-a-number'}, mtime=1500000000)
    add(tf, 'ok.txt', b'ok')
def pax(records):
    body = b''
    for k, v in records.items():
        rec = (' %s=%s\n' % (k, v)).encode()
        n = len(rec) + 1
        while len(str(n)) + len(rec) != n: n += 1
        body += str(n).encode() + rec
    ti = tarfile.TarInfo('PaxHeader'); ti.type = tarfile.XHDTYPE; ti.size = len(body)
    return ti.tobuf(format=tarfile.USTAR_FORMAT) + body + b'\0' * ((512 - len(body) % 512) % 512)
ti = tarfile.TarInfo('short'); ti.size = 5; ti.mtime = 1600000000
entry = ti.tobuf(format=tarfile.USTAR_FORMAT) + b'hello' + b'\0' * 507
open('repeated.tar', 'wb').write(pax({'path': 'first-name.txt', 'mtime': '1111111111'}) + pax({'path': 'second-name.txt'}) + entry + b'\0' * 1024)
`,
      dir,
    );
    const names = ['global', 'names-gnu', 'names-pax', 'names-ustar', 'negative-gnu', 'negative-pax', 'odd-mtime', 'repeated'];
    for (const name of names) {
      const archive = join(dir, `${name}.tar`);
      const tars = await extractWithTar(archive, work);
      const ours = await extractWithUs(archive, work);
      expect(ours.code, `${name}: ${ours.stdout}${ours.stderr}`).to.equal(0);
      expectSameTree(ours.dir, tars.dir, ['.']);
    }
    // Spot checks of what the comparison covers.
    const restored = (name: string) => describeTree(join(work, readdirSync(work).find((d) => d.startsWith('ours-') && existsSync(join(work, d, name)))!));
    expect(restored('g1.txt')['g1.txt']).to.include({ uid: AS_ROOT ? 777 : process.getuid!(), mtimeUs: 1_234_567_890_500_000n });
    expect(Object.keys(restored('caf\xe9.txt'))).to.include.members(['caf\xe9.txt', 'caf\xe8.txt', 'caf\xc3\xa9.txt']); // latin1 view of the bytes
    expect(restored('old.txt')['old.txt']!.mtimeUs).to.equal(-1_234_567_890_000_000n);
    expect(Object.keys(restored('second-name.txt'))).to.not.include('first-name.txt');
  });

  describe('links stay inside (where we differ from GNU tar on purpose: it creates them)', () => {
    it('a -> ., b -> a/.., c -> b/canary: b is refused, and nothing leads outside', async () => {
      const target = join(work, 'links-1', 'out');
      await mkdir(join(work, 'links-1'));
      await writeFile(join(work, 'links-1', 'canary'), 'outside');
      const archive = join(work, 'links-1.tar.gz');
      await writeFile(
        archive,
        craftTarGz([
          { path: 'a', type: 'SymbolicLink', linkpath: '.' },
          { path: 'b', type: 'SymbolicLink', linkpath: 'a/..' },
          { path: 'c', type: 'SymbolicLink', linkpath: 'b/canary' },
        ]),
      );
      const result = await restoreBackup(archive, { to: target });
      expect(result.failures.map((f) => f.path)).to.deep.equal(['b']);
      expect(result.failures[0]!.reason).to.match(/leads outside the restore folder/);
      expect(linksLeadingOutside(target)).to.deep.equal([]);
    });

    it('a link made later that changes where an earlier one leads: the earlier one is removed at the end', async () => {
      const target = join(work, 'links-2');
      const archive = join(work, 'links-2.tar');
      await writeFile(
        archive,
        craftTar([
          { path: 'c', type: 'SymbolicLink', linkpath: 'b/..' }, // b does not exist yet: c stays inside
          { path: 'b', type: 'SymbolicLink', linkpath: '.' }, // now c is ./.. : outside
          { path: 'kept', type: 'SymbolicLink', linkpath: 'b/file' },
          { path: 'loop', type: 'SymbolicLink', linkpath: 'loop/x' }, // leads nowhere: kept
        ]),
      );
      const result = await restoreBackup(archive, { to: target });
      expect(result.failures.map((f) => f.path)).to.deep.equal(['c']);
      expect(result.failures[0]!.reason).to.match(/^removed: .*through links restored after it/);
      expect(existsSync(join(target, 'c'))).to.equal(false);
      expect(readdirSync(target).sort()).to.deep.equal(['b', 'kept', 'loop']);
      expect(linksLeadingOutside(target)).to.deep.equal([]);
    });

    it('a hard link to a hard link, as GNU tar extracts it', async () => {
      const archive = join(work, 'chained-links.tar');
      await writeFile(
        archive,
        craftTar([
          { path: 'a', body: 'shared' },
          { path: 'b', type: 'Link', linkpath: 'a' },
          { path: 'c', type: 'Link', linkpath: 'b' },
        ]),
      );
      const ours = await extractWithUs(archive, work);
      expect(ours.code, ours.stdout).to.equal(0);
      expectSameTree(ours.dir, (await extractWithTar(archive, work)).dir, ['.']);
      expect(describeTree(ours.dir)['c']).to.include({ sameAs: 'a' });
    });

    it('a hard link to a symlink is checked from its own folder (deep/l -> ../x is inside; a link to it at the top is not)', async () => {
      const target = join(work, 'links-3');
      const archive = join(work, 'links-3.tar');
      await writeFile(
        archive,
        craftTar([
          { path: 'deep/sub/l', type: 'SymbolicLink', linkpath: '../../x' },
          { path: 'deep/sub/same', type: 'Link', linkpath: 'deep/sub/l' },
          { path: 'top', type: 'Link', linkpath: 'deep/sub/l' },
        ]),
      );
      const result = await restoreBackup(archive, { to: target });
      expect(result.failures.map((f) => f.path)).to.deep.equal(['top']);
      expect(result.failures[0]!.reason).to.match(/hard link to the symlink deep\/sub\/l.*leads outside/);
      expect(describeTree(target)['deep/sub/same']).to.include({ type: 'symlink', target: '../../x' });
      expect(linksLeadingOutside(target)).to.deep.equal([]);
    });
  });

  describe('damaged and odd archives: a clear word, exit 0, 1 or 2, within seconds', () => {
    let good: Buffer;
    before(async () => {
      const archive = join(work, 'good.tar.gz');
      execFileSync('tar', ['-czf', archive, '-C', plain, '.']);
      good = await readFile(archive);
    });

    async function tryAll(name: string, bytes: Buffer): Promise<{ restore: Awaited<ReturnType<typeof extractWithUs>>; verify: Awaited<ReturnType<typeof runCli>>; ls: Awaited<ReturnType<typeof runCli>> }> {
      const archive = join(work, name);
      await writeFile(archive, bytes);
      return { restore: await extractWithUs(archive, work), verify: await runCli(['verify', archive]), ls: await runCli(['ls', archive]) };
    }

    it('trailing garbage after the last gzip member: everything restored, as gzip and GNU tar do, with a warning', async () => {
      const { restore, verify, ls } = await tryAll('garbage.tar.gz', Buffer.concat([good, Buffer.from('GARBAGE after the gzip member')]));
      expect([restore.code, verify.code, ls.code]).to.deep.equal([0, 0, 0]);
      expect(restore.stdout).to.match(/warning: bytes that are not gzip data follow the last gzip member/);
      expect(verify.stdout).to.match(/warning: bytes that are not gzip data/);
      expectSameTree(restore.dir, (await extractWithTar(join(work, 'good.tar.gz'), work)).dir);
    });

    it('links that declare a size and carry data (as some tars write them): the data is skipped and the entries after are read, as GNU tar reads them', async () => {
      const bytes = craftTar([
        { path: 'a.txt', body: 'alpha' },
        { path: 'soft', type: 'SymbolicLink', linkpath: 'a.txt', body: 'data a symlink carries', declaredSize: 22 },
        { path: 'hard', type: 'Link', linkpath: 'a.txt', body: 'x'.repeat(700), declaredSize: 700 },
        { path: 'after.txt', body: 'read after them' },
      ]);
      const { restore, verify, ls } = await tryAll('links-with-data.tar', bytes);
      expect([restore.code, verify.code, ls.code], restore.stdout + verify.stdout + ls.stderr).to.deep.equal([0, 0, 0]);
      expectSameTree(restore.dir, (await extractWithTar(join(work, 'links-with-data.tar'), work)).dir, ['.']);
      expect(await readFile(join(restore.dir, 'after.txt'), 'utf8')).to.equal('read after them');
    });

    it('zero padding after the gzip member (tape blocks): read as GNU tar reads it, without a word', async () => {
      const { restore, verify, ls } = await tryAll('padded.tar.gz', Buffer.concat([good, Buffer.alloc(10_240)]));
      expect([restore.code, verify.code, ls.code]).to.deep.equal([0, 0, 0]);
      expect(restore.stdout + verify.stdout + ls.stderr).to.not.match(/warning/);
    });

    it('cut short inside an entry: the entries before are restored, the cut one is not, exit 1', async () => {
      const { restore, verify, ls } = await tryAll('cut.tar.gz', good.subarray(0, Math.floor(good.length * 0.8)));
      expect([restore.code, verify.code, ls.code]).to.deep.equal([1, 1, 1]);
      expect(restore.stdout).to.match(/not restored \S+: unexpected end of file/);
      expect(restore.stdout).to.match(/damaged archive \(.*cut short.*\): the entries after this point were not restored/);
      expect(ls.stderr).to.match(/is damaged \(unexpected end of file\); the entries before the damage are listed/);
      expect(readdirSync(restore.dir).filter((name) => name.endsWith('.partial'))).to.deep.equal([]);
    });

    it('cut short in the gzip trailer: every entry restored, but the archive is not called whole (exit 1)', async () => {
      const { restore, verify } = await tryAll('cut-trailer.tar.gz', good.subarray(0, good.length - 4));
      expect([restore.code, verify.code]).to.deep.equal([1, 1]);
      expect(restore.stdout).to.match(/damaged archive after its last entry \(unexpected end of file\): every entry was restored/);
      expectSameTree(restore.dir, (await extractWithTar(join(work, 'good.tar.gz'), work)).dir);
    });

    it('a CRC-32 that does not match: exit 1, named', async () => {
      const bad = Buffer.from(good);
      bad[bad.length - 8] = bad[bad.length - 8]! ^ 1;
      const { restore, verify, ls } = await tryAll('bad-crc.tar.gz', bad);
      expect([restore.code, verify.code, ls.code]).to.deep.equal([1, 1, 1]);
      expect(restore.stdout + verify.stdout).to.match(/CRC-32 mismatch/);
    });

    it('a plain tar named .tar.gz: told by its bytes, restored and verified', async () => {
      const archive = join(work, 'plain-named.tar.gz');
      execFileSync('tar', ['-cf', archive, '-C', plain, '.']);
      const { restore, verify } = await tryAll('plain-named.tar.gz', await readFile(archive));
      expect([restore.code, verify.code]).to.deep.equal([0, 0]);
    });

    it('not an archive at all (random bytes, a gzip of random bytes or of a gzip, fewer bytes than a header, an empty file): exit 2, saying so', async () => {
      const cases: [string, Buffer, RegExp][] = [
        ['random.tar.gz', pseudoRandomBytes(5000, 9), /random\.tar\.gz is not a tar archive: gulp-backup reads tar/],
        ['random-inside.tar.gz', zlib.gzipSync(pseudoRandomBytes(5000, 9)), /is not a tar archive \(it is gzip-compressed, but what is inside is not tar\)/],
        ['twice.tar.gz', zlib.gzipSync(zlib.gzipSync(Buffer.from('a small text'))), /twice\.tar\.gz is not a tar archive \(it is gzip-compressed, but what is inside is not tar\)/],
        ['short.tar', Buffer.from('three hundred bytes of text, not tar\n'.repeat(8)), /short\.tar is not a tar archive: gulp-backup reads tar/],
        ['empty.tar', Buffer.alloc(0), /empty\.tar is empty \(0 bytes\): it is not an archive/],
      ];
      for (const [name, bytes, message] of cases) {
        const { restore, verify, ls } = await tryAll(name, bytes);
        expect([restore.code, verify.code, ls.code], name).to.deep.equal([2, 2, 2]);
        for (const run of [restore, verify, ls]) expect(run.stderr, name).to.match(message);
      }
    });

    it('bzip2, xz and lzma (which has no magic bytes): exit 2, naming the compression and what to do, never "damaged"', async () => {
      const tarBytes = execFileSync('tar', ['-cf', '-', '-C', plain, 'hello.txt']);
      for (const [tool, name] of [
        ['bzip2', 'x.tar.bz2'],
        ['xz', 'x.tar.xz'],
        ['lzma', 'x.tar.lzma'],
      ] as const) {
        const compressed = tool === 'lzma' ? execFileSync('xz', ['--format=lzma', '-c'], { input: tarBytes }) : execFileSync(tool, ['-c'], { input: tarBytes });
        const { restore, verify, ls } = await tryAll(name, compressed);
        expect([restore.code, verify.code, ls.code], name).to.deep.equal([2, 2, 2]);
        expect(restore.stderr).to.match(new RegExp(`${tool}-compressed, which gulp-backup does not read\\. Decompress it first`));
        expect(verify.stdout + verify.stderr).to.not.match(/DAMAGED/);
      }
      // A tar whose first name is "]" starts with the bytes an .lzma file starts with: still a tar.
      const bracket = join(work, 'bracket');
      await mkdir(bracket);
      await writeFile(join(bracket, ']'), 'a name of one bracket');
      const { restore, verify } = await tryAll('bracket.tar', execFileSync('tar', ['-cf', '-', '-C', bracket, ']']));
      expect([restore.code, verify.code]).to.deep.equal([0, 0]);
      expect(await readFile(join(restore.dir, ']'), 'utf8')).to.equal('a name of one bracket');
      // One whose first name starts with a zstd skippable frame's magic (P*M and byte 0x18): still a tar.
      const skippable = join(work, 'skippable');
      await mkdir(skippable);
      await writeFile(join(skippable, 'P*M\x18'), 'a name like a frame');
      const lookalike = await tryAll('lookalike.tar', execFileSync('tar', ['-cf', '-', '-C', skippable, 'P*M\x18']));
      expect([lookalike.restore.code, lookalike.verify.code]).to.deep.equal([0, 0]);
      expect(await readFile(join(lookalike.restore.dir, 'P*M\x18'), 'utf8')).to.equal('a name like a frame');
    });

    it('a gzip of 256 MiB of zeros (no tar inside) ends at once, reading at most 64 MiB past the end', async () => {
      const bomb = zlib.gzipSync(Buffer.alloc(256 * 1024 * 1024), { level: 1 });
      const { restore, verify, ls } = await tryAll('zeros.tar.gz', bomb);
      expect([restore.code, verify.code, ls.code]).to.deep.equal([0, 0, 0]);
      expect(restore.stdout).to.match(/more than 64 MiB of data follow the end of the tar archive/);
      expect(readdirSync(restore.dir)).to.deep.equal([]);
    });

    it('a .tar.zst that inflates 30,000-fold (1 GiB of zeros in 34 KB): verify and restore in a child stay under 400 MB of memory (4 GiB took 4.5 GB), or refuse where Node has no zstd', async () => {
      const size = 2 ** 30;
      // A frame for the tar header, then one for the content and the end blocks: zstd -d and GNU tar read frames one after another.
      const header = execFileSync('zstd', ['-q', '-c'], { input: craftTar([{ path: 'zeros.bin', declaredSize: size }]).subarray(0, 512) });
      const body = execFileSync('sh', ['-c', `head -c ${size + 1024} /dev/zero | zstd -q -3 -c`], { maxBuffer: 1 << 24 });
      const archive = join(work, 'zeros.tar.zst');
      await writeFile(archive, Buffer.concat([header, body]));
      expect((await readFile(archive)).length).to.be.below(64 * 1024);
      const index = new URL('../../src/index.ts', import.meta.url).href;
      const script =
        `const { verifyBackup, restoreBackup } = await import(${JSON.stringify(index)});` +
        `try { const verified = await verifyBackup(process.argv[1]); const restored = await restoreBackup(process.argv[1], { to: process.argv[2], sparse: true });` +
        ` console.log(JSON.stringify({ verified: verified.ok, restored: restored.restored.bytes, maxRssMB: process.resourceUsage().maxRSS / 1024 })); }` +
        ` catch (error) { console.log(JSON.stringify({ code: error.code, message: error.message })); }`;
      const target = join(work, 'zeros-out');
      const { stdout } = await execa(process.execPath, ['--import', import.meta.resolve('tsx'), '--input-type=module', '-e', script, archive, target]);
      const result = JSON.parse(stdout) as { verified?: boolean; restored?: number; maxRssMB?: number; code?: string; message?: string };
      if ('createZstdDecompress' in zlib) {
        expect(result, stdout).to.include({ verified: true, restored: size });
        expect(result.maxRssMB).to.be.below(400);
        expect(statSync(join(target, 'zeros.bin')).size).to.equal(size);
      } else {
        expect(result.code).to.equal('ARCHIVE_UNSUPPORTED');
        expect(result.message).to.match(/zstd-compressed; reading it needs Node\.js 22\.15 or later/);
      }
    });

    it('SIGTERM during one huge entry: the process stops at once, exit 143, no partial file left', async () => {
      // One entry that declares 8 GB: a header member, then the same 64 MiB of zeros member again and again.
      const header = craftTar([{ path: 'huge.bin', declaredSize: 8_000_000_000 }]).subarray(0, 512);
      const zeros = zlib.gzipSync(Buffer.alloc(64 * 1024 * 1024), { level: 9 });
      const archive = join(work, 'huge.tar.gz');
      await writeFile(archive, Buffer.concat([zlib.gzipSync(header), ...Array.from({ length: 120 }, () => zeros)]));
      const target = join(work, 'huge-out');
      const child = spawnCli(['restore', archive, '--to', target], work);
      // Wait until the entry is being written (its temporary file exists and grows).
      for (;;) {
        const partial = existsSync(target) ? (await readdir(target)).find((name) => name.endsWith('.partial')) : undefined;
        if ((partial && statSync(join(target, partial)).size > 0) || child.exitCode !== null) break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      child.kill('SIGTERM');
      const { exitCode, stderr } = await child;
      expect(exitCode).to.equal(143);
      expect(stderr).to.match(/interrupted/);
      expect(await readdir(target)).to.deep.equal([]);
    });
  });
});

function currentUmask(): number {
  return Number.parseInt(execFileSync('sh', ['-c', 'umask']).toString().trim(), 8);
}
