/**
 * Hostile archives (DESIGN.md §6): each test is named after the attack. Every one must end with a
 * clear failure naming the entry, nothing written outside the target, and no partial file.
 */
import { gzipCodec } from '../../src/format/codecs/gzip-codec.js';
import { expect } from 'chai';
import { access, mkdir, readdir, readlink, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import gulp from 'gulp';
import { createBackup, restore, restoreBackup, type RestoreResult } from '../../src/index.js';
import { BlockCodecPool } from '../../src/engine/block-codec-pool.js';
import { encodeMemberHeader, encodeMemberTrailer } from '../../src/format/blocked-gzip.js';
import { editManifestEntry } from '../helpers/archive.js';
import { spawnCli } from '../helpers/cli.js';
import { DEFAULT_MAX_DEPTH, safeEntryPath, symlinkTargetRefusal } from '../../src/engine/read/safe-paths.js';
import { craftTarGz, type CraftedEntry } from '../helpers/craft-tar.js';
import { tempDir, writeTree } from '../helpers/tree.js';
import { crc32, deflateRawSync } from 'node:zlib';

interface Sandbox {
  root: string;
  target: string;
  result: RestoreResult;
}

/** Restores a crafted archive into sandbox/target, beside sandbox/outside/sentinel. */
async function restoreCrafted(entries: CraftedEntry[], prepare?: (target: string) => Promise<void>, options: { allowOutsideLinks?: boolean } = {}): Promise<Sandbox> {
  const root = await tempDir();
  await writeTree(root, { 'outside/sentinel': 'untouched' });
  const target = join(root, 'target');
  await mkdir(target);
  await prepare?.(target);
  const archive = join(root, 'evil.tar.gz');
  await writeFile(archive, craftTarGz(entries));
  const result = await restoreBackup(archive, { to: target, ...options });
  return { root, target, result };
}

/** Every path under `folder`, links not followed (Node 20's `readdir({ recursive: true })` follows them, round a loop too). */
async function names(folder: string, prefix = ''): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(folder, { withFileTypes: true })) {
    found.push(prefix + entry.name);
    if (entry.isDirectory()) found.push(...(await names(join(folder, entry.name), `${prefix}${entry.name}/`)));
  }
  return found.sort();
}

/** Nothing but the sentinel outside the target, and no partial file anywhere. */
async function expectContained(sandbox: Sandbox): Promise<void> {
  expect(await names(join(sandbox.root, 'outside'))).to.deep.equal(['sentinel']);
  expect((await names(sandbox.root)).filter((name) => !name.startsWith('outside') && !name.startsWith('target') && name !== 'evil.tar.gz')).to.deep.equal([]);
  expect((await names(sandbox.target)).filter((name) => name.includes('partial'))).to.deep.equal([]);
}

function failureOf(result: RestoreResult, path: string): string {
  const failure = result.failures.find((f) => f.path === path);
  expect(failure, `a failure for ${path} in ${JSON.stringify(result.failures)}`).to.not.equal(undefined);
  return failure!.reason;
}

describe('restore: hostile archives', () => {
  it('path traversal with ../', async () => {
    const box = await restoreCrafted([{ path: '../outside/evil.txt', body: 'x' }, { path: 'ok.txt', body: 'fine' }]);
    expect(failureOf(box.result, '../outside/evil.txt')).to.match(/climbs out/);
    expect(await names(box.target)).to.deep.equal(['ok.txt']);
    await expectContained(box);
  });

  it('absolute paths: /, // (roots stripped); on POSIX a backslash and C: are characters of a name, kept inside the target as GNU tar keeps them', async () => {
    const marker = `/tmp/gulp-backup-attack-${process.pid}-${Date.now()}`;
    const box = await restoreCrafted([
      { path: `${marker}/abs.txt`, body: 'a' },
      { path: '//server/share.txt', body: 'b' },
      { path: 'C:..\\..\\outside\\win.txt', body: 'c' },
      { path: 'C:\\win\\sys.txt', body: 'd' },
      { path: '..\\..\\outside\\back.txt', body: 'e' },
      { path: 'dev-disk-by\\x2duuid.swap', body: 'f' },
    ]);
    await access(marker).then(
      () => expect.fail(`${marker} was written outside the target`),
      () => {},
    );
    expect(await names(box.target)).to.include.members([
      `${marker.slice(1)}/abs.txt`,
      'server/share.txt',
      'C:..\\..\\outside\\win.txt',
      'C:\\win\\sys.txt',
      '..\\..\\outside\\back.txt',
      'dev-disk-by\\x2duuid.swap',
    ]);
    expect(box.result.failures).to.deep.equal([]);
    await expectContained(box);
  });

  it('on Windows, where a backslash separates and C: is a drive, the same names are stripped or refused', () => {
    const windows = { maxDepth: DEFAULT_MAX_DEPTH, syntax: 'windows' } as const;
    expect(safeEntryPath('C:\\win\\sys.txt', windows)).to.deep.equal({ path: 'win/sys.txt' });
    expect(safeEntryPath('\\\\?\\C:\\x.txt', windows)).to.deep.equal({ path: 'x.txt' });
    expect(safeEntryPath('..\\..\\outside\\back.txt', windows)).to.have.property('refused').that.matches(/climbs out/);
    expect(safeEntryPath('C:..\\..\\outside\\win.txt', windows)).to.have.property('refused').that.matches(/climbs out/);
    expect(symlinkTargetRefusal('a/link', '..\\..\\x', 'windows')).to.match(/points outside/);
    expect(symlinkTargetRefusal('a/link', 'C:\\x', 'windows')).to.match(/absolute path/);
    // The same strings on POSIX: one name each, inside the target.
    expect(safeEntryPath('..\\..\\outside\\back.txt', { maxDepth: DEFAULT_MAX_DEPTH, syntax: 'posix' })).to.deep.equal({ path: '..\\..\\outside\\back.txt' });
    expect(symlinkTargetRefusal('a/link', '..\\..\\x', 'posix')).to.equal(undefined);
  });

  it('symlink then a file written through it', async () => {
    const box = await restoreCrafted([
      { path: 'inner', type: 'Directory' },
      { path: 'link', type: 'SymbolicLink', linkpath: 'inner' },
      { path: 'link/through.txt', body: 'must not pass through the link' },
    ]);
    expect(failureOf(box.result, 'link/through.txt')).to.match(/symlink/);
    expect(await names(join(box.target, 'inner'))).to.deep.equal([]);
    await expectContained(box);
  });

  it('symlink whose target escapes the restore folder', async () => {
    const box = await restoreCrafted([
      { path: 'up', type: 'SymbolicLink', linkpath: '../outside' },
      { path: 'abs', type: 'SymbolicLink', linkpath: '/etc' },
      { path: 'up/sentinel', body: 'overwrite attempt' },
    ]);
    expect(failureOf(box.result, 'up')).to.match(/outside the restore folder/);
    expect(failureOf(box.result, 'abs')).to.match(/absolute path/);
    expect(box.result.warnings).to.include(
      `2 symlinks refused for leading outside ${box.target} (an absolute target, or climbing out), as from an archive that may be hostile; ` +
        'for a backup you trust, --allow-outside-links (allowOutsideLinks: true) restores them as they are, as GNU tar does',
    );
    await expectContained(box);
  });

  it('allowOutsideLinks (a backup the user trusts): links that lead outside are made as they are, and still nothing is written through them', async () => {
    const entries: CraftedEntry[] = [
      { path: 'up', type: 'SymbolicLink', linkpath: '../outside' },
      { path: 'abs', type: 'SymbolicLink', linkpath: '/etc/alternatives/awk' },
      { path: 'here', type: 'SymbolicLink', linkpath: '.' },
      { path: 'later', type: 'SymbolicLink', linkpath: 'here/..' }, // leads outside once `here` is made
      { path: 'hard-up', type: 'Link', linkpath: 'up' },
      { path: 'up/sentinel', body: 'overwrite attempt' },
      { path: 'abs/x', body: 'through an absolute link' },
      { path: 'ok.txt', body: 'fine' },
    ];
    const box = await restoreCrafted(entries, undefined, { allowOutsideLinks: true });
    expect(await readlink(join(box.target, 'up'))).to.equal('../outside');
    expect(await readlink(join(box.target, 'abs'))).to.equal('/etc/alternatives/awk');
    expect(await readlink(join(box.target, 'later'))).to.equal('here/..');
    expect(await readlink(join(box.target, 'hard-up'))).to.equal('../outside');
    expect(box.result.failures.map((failure) => failure.path).sort()).to.deep.equal(['abs/x', 'up/sentinel']);
    expect(failureOf(box.result, 'up/sentinel')).to.match(/symlink/);
    expect(box.result.warnings.join('\n')).to.not.match(/allow-outside-links/);
    await expectContained(box);
    // Without it, the same archive keeps none of them, and says how to allow them.
    const hostile = await restoreCrafted(entries);
    expect(hostile.result.restored.symlinks).to.equal(1); // `here`
    expect(hostile.result.warnings.join('\n')).to.match(/^3 symlinks refused for leading outside/m); // up, abs, later
    expect(failureOf(hostile.result, 'hard-up')).to.match(/was not restored/);
    await expectContained(hostile);
  });

  it('symlinks whose targets name what cannot exist (a component past NAME_MAX, a path through a file) dangle inside: made, as GNU tar makes them; climbing out through them is still refused', async () => {
    const long = 'x'.repeat(300);
    const box = await restoreCrafted([
      { path: 'a.txt', body: 'a' },
      { path: 'long', type: 'SymbolicLink', linkpath: long },
      { path: 'long-deeper', type: 'SymbolicLink', linkpath: `${long}/y/..` },
      { path: 'through-file', type: 'SymbolicLink', linkpath: 'a.txt/inner' },
      { path: 'out-long', type: 'SymbolicLink', linkpath: `${long}/../../outside` },
      { path: 'out-file', type: 'SymbolicLink', linkpath: 'a.txt/../../outside' },
    ]);
    expect(box.result.failures.map((failure) => failure.path).sort()).to.deep.equal(['out-file', 'out-long']);
    expect(failureOf(box.result, 'out-long')).to.match(/outside the restore folder/);
    expect(box.result.restored.symlinks).to.equal(3);
    expect(await readlink(join(box.target, 'long'))).to.equal(long);
    expect(await readlink(join(box.target, 'through-file'))).to.equal('a.txt/inner');
    await expectContained(box);
  });

  it('hard link whose target escapes the restore folder', async () => {
    const box = await restoreCrafted([{ path: 'h', type: 'Link', linkpath: '../outside/sentinel' }]);
    expect(failureOf(box.result, 'h')).to.match(/climbs out/);
    await expectContained(box);
  });

  it('directory replaced by a symlink in the target before the restore', async () => {
    const box = await restoreCrafted([{ path: 'docs/readme.txt', body: 'x' }], async (target) => {
      await symlink('../outside', join(target, 'docs'));
    });
    expect(failureOf(box.result, 'docs/readme.txt')).to.match(/symlink in the target/);
    await expectContained(box);
  });

  it('NUL byte in a name: a tar parser cuts the name there, and what is written stays inside', async () => {
    const box = await restoreCrafted([{ path: 'evil\u0000.txt/../../outside/x', body: 'x' }]);
    await expectContained(box);
  });

  it('unicode and case variants of a planted symlink name: never written through; on a file system that tells them apart, folders of their own (they were refused here too; the case-insensitive file system is in case-insensitive-file-systems.test.ts)', async () => {
    const box = await restoreCrafted([
      { path: 'real', type: 'Directory' },
      { path: 'Caf\u00e9', type: 'SymbolicLink', linkpath: 'real' },
      { path: 'Cafe\u0301/nfd.txt', body: 'through an NFD twin' },
      { path: 'caf\u00e9/lower.txt', body: 'through a lower-case twin' },
    ]);
    expect(box.result.failures).to.deep.equal([]);
    expect(await names(box.target)).to.deep.equal(['Caf\u00e9', 'Cafe\u0301', 'Cafe\u0301/nfd.txt', 'caf\u00e9', 'caf\u00e9/lower.txt', 'real'].sort());
    expect(await names(join(box.target, 'real'))).to.deep.equal([]);
    await expectContained(box);
  });

  it('very deep nesting', async () => {
    const deep = `${Array.from({ length: 300 }, (_, i) => `d${i}`).join('/')}/f.txt`;
    const box = await restoreCrafted([{ path: deep, body: 'deep' }]);
    expect(failureOf(box.result, deep)).to.match(/301 levels deep \(limit 256\)/);
    await expectContained(box);
  });

  it('device and FIFO entries are never created', async () => {
    const box = await restoreCrafted([
      { path: 'fifo', type: 'FIFO' },
      { path: 'null', type: 'CharacterDevice' },
    ]);
    expect(box.result.skipped.map((s) => s.path)).to.deep.equal(['fifo', 'null']);
    expect(await names(box.target)).to.deep.equal([]);
  });

  it('entry larger than declared: the extra bytes are not trusted', async () => {
    const box = await restoreCrafted([{ path: 'small.txt', body: 'A'.repeat(2000), declaredSize: 10 }]);
    // The parser takes the declared 10 bytes; the rest is not a valid header, so the walk stops.
    expect(box.result.ok).to.equal(false);
    await expectContained(box);
  });

  it('gzip bomb: a member that inflates past the length it declares is stopped, on this thread (a small backup) and in a worker', async () => {
    const pool = new BlockCodecPool(1);
    try {
      const bomb = Buffer.alloc(16 * 1024 * 1024);
      const deflated = deflateRawSync(bomb, { level: 9 });
      const member = Buffer.concat([encodeMemberHeader(deflated.length, 65_536), deflated, encodeMemberTrailer(crc32(bomb), 65_536)]);
      const here = await pool.decompress(gzipCodec, new Uint8Array(member).buffer, member.length, 65_536);
      expect(here.error).to.match(/buffer|length|larger/i);
      // A block larger than what is inflated here starts the worker; every later block goes to it.
      const large = Buffer.alloc(1024 * 1024, 'large');
      const deflatedLarge = deflateRawSync(large);
      const largeMember = Buffer.concat([encodeMemberHeader(deflatedLarge.length, large.length), deflatedLarge, encodeMemberTrailer(crc32(large), large.length)]);
      expect((await pool.decompress(gzipCodec, new Uint8Array(largeMember).buffer, largeMember.length, large.length)).data?.equals(large)).to.equal(true);
      const inWorker = await pool.decompress(gzipCodec, new Uint8Array(member).buffer, member.length, 65_536);
      expect(inWorker.error).to.equal(here.error);
    } finally {
      await pool.close();
    }
  });

  describe('with a manifest', () => {
    let root: string;
    before(async () => {
      root = await tempDir();
      await writeTree(root, { 'data/a.txt': 'alpha', 'data/b.txt': 'bravo' });
    });

    it('manifest edited to lie about a hash: the file is refused, no partial left', async () => {
      const made = await createBackup({ sources: ['data'], cwd: root, out: await tempDir(), name: 'm' });
      await editManifestEntry(made.manifestPath, 'data/a.txt', (e) => ({ ...e, hashes: { sha256: 'f'.repeat(64) } }));
      const target = await tempDir();
      const result = await restoreBackup(made.manifestPath, { to: target });
      expect(failureOf(result, 'data/a.txt')).to.match(/SHA-256/);
      expect(await names(target)).to.deep.equal(['data', 'data/b.txt']);
    });

    it('a backup that recorded MD5 (or SHA-1) alone: restore proves each file against it, small and large, and the plugin too (it checked nothing before)', async () => {
      const tree = await tempDir();
      await writeTree(tree, { 'd/small.txt': 'small', 'd/large.bin': Buffer.alloc(2 * 1024 * 1024, 7), 'd/ok.txt': 'ok' });
      for (const [hashes, name] of [[['md5'], 'MD5'], [['sha1', 'md5'], 'SHA-1']] as const) {
        const made = await createBackup({ sources: ['d'], cwd: tree, out: await tempDir(), name: 'h', hashes: [...hashes] });
        const intact = await restoreBackup(made.manifestPath, { to: await tempDir() });
        expect(intact.ok, JSON.stringify(intact.failures)).to.equal(true);
        for (const path of ['d/small.txt', 'd/large.bin']) {
          await editManifestEntry(made.manifestPath, path, (e) => ({ ...e, hashes: Object.fromEntries(hashes.map((algorithm) => [algorithm, '0'.repeat(algorithm === 'md5' ? 32 : 40)])) }));
        }
        const target = await tempDir();
        const result = await restoreBackup(made.manifestPath, { to: target });
        expect(failureOf(result, 'd/small.txt')).to.equal(`its content does not match its ${name} in the manifest`);
        expect(failureOf(result, 'd/large.bin')).to.equal(`its content does not match its ${name} in the manifest`);
        expect(await names(target)).to.deep.equal(['d', 'd/ok.txt']);
        const error = await pipeline(gulp.src(made.manifestPath, { read: false }), restore(), gulp.dest(await tempDir())).catch((e: unknown) => e as Error);
        expect(error?.message).to.include(`d/small.txt: its content does not match its ${name} in the manifest`);
      }
    });

    it('NUL byte in a name (manifest): refused, naming the entry', async () => {
      const made = await createBackup({ sources: ['data'], cwd: root, out: await tempDir(), name: 'm' });
      await editManifestEntry(made.manifestPath, 'data/a.txt', (e) => ({ ...e, path: 'data/a.txt\u0000/../../x' }));
      const result = await restoreBackup(made.manifestPath, { to: await tempDir() });
      expect(failureOf(result, 'data/a.txt\u0000/../../x')).to.match(/NUL byte/);
    });

    it('manifest edited with malformed fields: refused, not a crash', async () => {
      const made = await createBackup({ sources: ['data'], cwd: root, out: await tempDir(), name: 'm' });
      await editManifestEntry(made.manifestPath, 'data/a.txt', (e) => ({ ...e, mtimeNs: 'soon', size: -1 }));
      const result = await restoreBackup(made.manifestPath, { to: await tempDir() });
      expect(failureOf(result, 'data/a.txt')).to.match(/malformed \(size\)/);
      expect(result.restored.files).to.equal(1);
    });

    it('manifest edited to point content past the end of the tar stream: refused, not a hang', async () => {
      const made = await createBackup({ sources: ['data'], cwd: root, out: await tempDir(), name: 'm' });
      await editManifestEntry(made.manifestPath, 'data/a.txt', (e) => ({ ...e, dataOffset: e.dataOffset! + 4000 }));
      const result = await restoreBackup(made.manifestPath, { to: await tempDir() });
      expect(failureOf(result, 'data/a.txt')).to.match(/points past the end/);
    });

    it('manifest edited so that its offsets do not follow one another: verify names the entries, restore the file; both end', async () => {
      const made = await createBackup({ sources: ['data'], cwd: root, out: await tempDir(), name: 'm' });
      // Each once made a loop that never moved on (found by test/engine/fuzzed-archives.test.ts).
      await editManifestEntry(made.manifestPath, 'data/a.txt', (e) => ({ ...e, offset: [] as unknown as number, dataOffset: '9'.repeat(40) as unknown as number }));
      const verify = await spawnCli(['verify', made.manifestPath], root, 30_000);
      expect(verify.exitCode, verify.stderr).to.equal(1);
      expect(verify.stdout).to.include('damaged data/a.txt: its manifest record is malformed (offset)');
      const target = await tempDir();
      const restore = await spawnCli(['restore', made.manifestPath, '--to', target], root, 30_000);
      expect(restore.exitCode, restore.stderr).to.equal(1);
      expect(restore.stdout).to.include('not restored data/a.txt: refused: its manifest record is malformed (dataOffset)');
      expect(await names(target)).to.deep.equal(['data', 'data/b.txt']);
    });

    it('manifest edited to say an unknown backup holds a file: refused before anything is written', async () => {
      const made = await createBackup({ sources: ['data'], cwd: root, out: await tempDir(), name: 'm' });
      await editManifestEntry(made.manifestPath, 'data/a.txt', (e) => ({ ...e, heldBy: 'elsewhere' }));
      const target = join(await tempDir(), 'target');
      const error = await restoreBackup(made.manifestPath, { to: target }).catch((e: unknown) => e);
      expect(error).to.have.property('code', 'MANIFEST_INVALID');
      expect(await names(target).catch(() => [])).to.deep.equal([]);
    });

    it('manifest edited to plant a traversal path: refused', async () => {
      const made = await createBackup({ sources: ['data'], cwd: root, out: await tempDir(), name: 'm' });
      await editManifestEntry(made.manifestPath, 'data/a.txt', (e) => ({ ...e, path: '../../a.txt' }));
      const result = await restoreBackup(made.manifestPath, { to: await tempDir() });
      expect(failureOf(result, '../../a.txt')).to.match(/climbs out/);
    });

    it('manifest from another archive: every file fails its check', async () => {
      const made = await createBackup({ sources: ['data'], cwd: root, out: await tempDir(), name: 'm' });
      const other = await tempDir();
      await writeTree(other, { 'data/a.txt': 'ALPHA', 'data/b.txt': 'BRAVO' });
      const swapped = await createBackup({ sources: ['data'], cwd: other, out: await tempDir(), name: 'm' });
      await writeFile(made.archivePath, await import('node:fs/promises').then((fs) => fs.readFile(swapped.archivePath)));
      const target = await tempDir();
      const result = await restoreBackup(made.manifestPath, { to: target });
      expect(result.failures.map((f) => f.path)).to.deep.equal(['data/a.txt', 'data/b.txt']);
      expect(await names(target)).to.deep.equal(['data']);
    });
  });
});
