import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { createBackup, OptionError, restoreBackup } from '../../src/index.js';
import { exclusionMatcher, selectionMatcher } from '../../src/engine/selection-patterns.js';
import { runCli } from '../helpers/cli.js';
import { loadManifest } from '../helpers/archive.js';
import { describeTree } from '../helpers/exact-tree.js';
import { tempDir, writeTree } from '../helpers/tree.js';

describe('engine: selection patterns (create --include/--exclude, restore --include)', () => {
  it('without a / a pattern matches a name at any depth; with one, the path from the top', () => {
    const cases: Array<[string, string, boolean]> = [
      ['*.md', 'a.md', true],
      ['*.md', 'docs/deep/x.md', true],
      ['node_modules', 'pkg/node_modules', true],
      ['docs/*.md', 'docs/x.md', true], // picomatch's `basename` option alone matched this against `x.md`: never
      ['docs/*.md', 'docs/deep/x.md', false],
      ['docs/*.md', 'other/docs/x.md', false],
      ['src/**', 'src/lib/util.js', true],
      ['src/**', 'src', true],
      ['**/*.map', 'dist/a/b.js.map', true],
      ['/build', 'build', true],
      ['/build', 'pkg/build', false],
      ['./build', 'build', true],
      ['build/', 'pkg/build', true], // a trailing / is a shell's completion of a folder
      ['docs/', 'docs', true],
      ['.env', 'app/.env', true],
      ['/', 'anything/at/all', true],
    ];
    for (const [pattern, path, expected] of cases) expect(selectionMatcher([pattern])(path), `${pattern} on ${path}`).to.equal(expected);
    expect(selectionMatcher(['*.md', 'src/**'])('src/a.js')).to.equal(true);
    expect(selectionMatcher(['site/docs/*.md'], { archivePrefix: 'site/' })('docs/x.md')).to.equal(true);
    expect(selectionMatcher(['docs/*.md'], { archivePrefix: 'site/' })('docs/x.md')).to.equal(true);
    expect(selectionMatcher(['*'], { dot: false })('.env')).to.equal(false); // a dot name matches only a pattern that names the dot
  });

  it('exclude reads as .gitignore does: the last pattern that matches decides, ! takes back, a trailing / means folders only', () => {
    const cases: Array<[string[], string, boolean, boolean]> = [
      [['*.log', '!keep.log'], 'logs/keep.log', false, false],
      [['*.log', '!keep.log'], 'logs/other.log', false, true],
      [['!keep.log', '*.log'], 'logs/keep.log', false, true], // the last pattern that matches decides
      [['logs/', '!logs/keep.log'], 'logs', true, true], // the folder itself: not entered, so keep.log cannot come back (git's rule)
      [['build/'], 'build', true, true],
      [['build/'], 'pkg/build', false, false], // a file named build: only folders match a trailing /
      [['build'], 'pkg/build', false, true],
      [['\\!important'], '!important', false, true], // an escaped ! names a file
      [['\\!important'], 'important', false, false],
      [['*.md', '!/README.md'], 'README.md', false, false],
      [['*.md', '!/README.md'], 'docs/README.md', false, true],
    ];
    for (const [patterns, path, isFolder, expected] of cases) {
      expect(exclusionMatcher(patterns).excludes(path, isFolder), `${patterns.join(' ')} on ${path}`).to.equal(expected);
    }
    expect(exclusionMatcher(['*.log', 'tmp/', '!keep.log']).excludedBy('a/x.log', false)).to.equal('*.log');
    expect(exclusionMatcher(['*.log', '!keep.log']).excludedBy('keep.log', false)).to.equal(undefined);
  });

  it('excludeFrom in the API, relative to cwd, as --exclude-from (a gulpfile had to read its .gitignore itself)', async () => {
    const root = await tempDir();
    await writeTree(root, {
      'repo/.gitignore': '# build output\r\nnode_modules/\r\n*.log\r\n!keep.log\r\n',
      'repo/src/a.js': 'a',
      'repo/node_modules/x/i.js': 'i',
      'repo/keep.log': 'kept',
      'repo/x.log': 'x',
    });
    const result = await createBackup({ sources: ['repo'], cwd: root, out: join(root, 'out'), exclude: 'src/*.js', excludeFrom: 'repo/.gitignore' });
    const manifest = await loadManifest(result.manifestPath);
    expect(manifest.entries.filter((entry) => entry.type === 'file').map((entry) => entry.path)).to.deep.equal(['repo/.gitignore', 'repo/keep.log']);
    expect(manifest.header.selection?.exclude, 'recorded, after exclude').to.deep.equal(['src/*.js', 'node_modules/', '*.log', '!keep.log']);
    const missing = await createBackup({ sources: ['repo'], cwd: root, out: join(root, 'out'), excludeFrom: '.backupignore' }).then(() => expect.fail('expected a rejection'), (error: unknown) => error as OptionError);
    expect(missing).to.be.instanceOf(OptionError);
    expect(missing.message).to.match(/^Expected `excludeFrom` to be a readable file of patterns, one per line \(ENOENT\), got `.*\/\.backupignore`$/);
  });

  it('create --exclude-from .gitignore: negations keep files, folders are left out whole, what is left out is counted', async () => {
    const root = await tempDir();
    await writeTree(root, {
      'repo/.gitignore': 'node_modules/\n/dist\n*.log\n!keep.log\n.env\nbuild/\n',
      'repo/src/a.js': 'a',
      'repo/src/build/b.js': 'b',
      'repo/node_modules/x/i.js': 'i',
      'repo/dist/o.js': 'o',
      'repo/lib/dist/kept.js': 'kept', // /dist is anchored at the top
      'repo/logs/keep.log': 'kept',
      'repo/logs/x.log': 'x',
      'repo/.env': 'SECRET=1',
      'repo/build': 'a file named build', // build/ names folders only
    });
    const result = await runCli(['create', 'repo', '-C', root, '-o', join(root, 'out'), '-X', join(root, 'repo/.gitignore'), '--json', '-q']);
    expect(result.code, result.stderr).to.equal(0);
    const made = JSON.parse(result.stdout.trim().split('\n').at(-1)!) as { manifestPath: string };
    const manifest = await loadManifest(made.manifestPath);
    expect(manifest.entries.filter((entry) => entry.type === 'file').map((entry) => entry.path)).to.deep.equal([
      'repo/.gitignore',
      'repo/build',
      'repo/lib/dist/kept.js',
      'repo/logs/keep.log',
      'repo/src/a.js',
    ]);
    expect(manifest.footer.leftOut?.excluded).to.equal(5); // node_modules, dist, x.log, .env, src/build
    // GNU tar agrees on what is in the archive, and verify --source on what is in the tree.
    expect(execFileSync('tar', ['-tzf', made.manifestPath.replace('.manifest.jsonl', '.tar.gz')]).toString()).to.include('repo/logs/keep.log');
    const verified = await runCli(['verify', made.manifestPath, '--source', root]);
    expect(verified.code, verified.stdout).to.equal(0);
  });

  it('create: patterns with a / exclude and include what they name (they matched nothing, silently, before)', async () => {
    const root = await tempDir();
    await writeTree(root, { 'site/docs/x.md': 'x', 'site/docs/deep/y.md': 'y', 'site/a.md': 'a', 'site/src/app.js': 'app', 'site/src/app.js.map': 'map' });
    const paths = async (options: { include?: string[]; exclude?: string[] }, name: string) =>
      (await loadManifest((await createBackup({ sources: ['site'], cwd: root, out: join(root, 'out'), name, ...options })).manifestPath)).entries
        .filter((entry) => entry.type === 'file')
        .map((entry) => entry.path);
    expect(await paths({ exclude: ['docs/*.md', 'src/**/*.map'] }, 'x')).to.deep.equal(['site/a.md', 'site/docs/deep/y.md', 'site/src/app.js']);
    expect(await paths({ include: ['src/**'] }, 'i')).to.deep.equal(['site/src/app.js', 'site/src/app.js.map']);
    expect(await paths({ exclude: ['/a.md', 'deep/'] }, 'a')).to.deep.equal(['site/docs/x.md', 'site/src/app.js', 'site/src/app.js.map']);
    // As tar's --exclude matches member names: a pattern may name the archive path too.
    expect(await paths({ exclude: ['site/docs/*.md'] }, 'p')).to.deep.equal(['site/a.md', 'site/docs/deep/y.md', 'site/src/app.js', 'site/src/app.js.map']);
    expect(await paths({ include: ['site/src/**'] }, 'q')).to.deep.equal(['site/src/app.js', 'site/src/app.js.map']);
  });

  it('restore: a folder named with a trailing / (a shell completes it so) brings its contents; *.js matches at any depth', async () => {
    const root = await tempDir();
    await writeTree(root, { 't/src/a.js': 'a', 't/src/sub/b.js': 'b', 't/docs/d.md': 'd' });
    const made = await createBackup({ sources: ['t'], cwd: root, out: join(root, 'out') });
    const restored = async (include: string) => {
      const target = await tempDir();
      await restoreBackup(made.manifestPath, { to: target, include });
      return Object.keys(describeTree(join(target, 't'))).filter((path) => path.endsWith('.js') || path.endsWith('.md')).sort();
    };
    expect(await restored('t/src/')).to.deep.equal(['src/a.js', 'src/sub/b.js']);
    expect(await restored('*.js')).to.deep.equal(['src/a.js', 'src/sub/b.js']);
    expect(await restored('t/**/b.js')).to.deep.equal(['src/sub/b.js']);
  });

  it("restore of another tool's archive: a folder brings what is beneath it, also when the archive has no entry for it (npm's tarballs), as tar -x dir does", async () => {
    const root = await tempDir();
    await writeTree(root, { 'pkg/lib/a.js': 'a', 'pkg/lib/deep/b.js': 'b', 'pkg/README.md': 'r', 'other.txt': 'o' });
    const archives = await tempDir();
    const withFolders = join(archives, 'with-folders.tar.gz');
    const withoutFolders = join(archives, 'without-folders.tar.gz');
    execFileSync('tar', ['-czf', withFolders, '-C', root, '.']); // ./pkg/, ./pkg/lib/…: folders first, with ./
    execFileSync('tar', ['-czf', withoutFolders, '-C', root, '--no-recursion', 'pkg/lib/deep/b.js', 'pkg/lib/a.js', 'pkg/README.md', 'other.txt']);
    for (const archive of [withFolders, withoutFolders]) {
      const restored = async (include: string) => {
        const target = await tempDir();
        const result = await restoreBackup(archive, { to: target, include });
        expect(result.ok, JSON.stringify(result.failures)).to.equal(true);
        return Object.keys(describeTree(target)).filter((path) => /\.(js|md|txt)$/.test(path)).sort();
      };
      expect(await restored('pkg'), archive).to.deep.equal(['pkg/README.md', 'pkg/lib/a.js', 'pkg/lib/deep/b.js']);
      expect(await restored('pkg/lib/')).to.deep.equal(['pkg/lib/a.js', 'pkg/lib/deep/b.js']);
      expect(await restored('deep')).to.deep.equal(['pkg/lib/deep/b.js']);
    }
  });

  it('a source written as a glob (gulp.src takes them) is not found, and the message says how to write it; that advice works', async () => {
    const root = await tempDir();
    await writeTree(root, { 'src/a.md': 'a', 'src/docs/b.md': 'b', 'src/c.js': 'c' });
    const error = await createBackup({ sources: ['src/*.md'], cwd: root, out: join(root, 'out') }).then(
      () => undefined,
      (e: unknown) => e as Error & { code: string },
    );
    expect(error).to.include({ code: 'SOURCE_NOT_FOUND' });
    expect(error?.message).to.include("Sources are files and folders, not glob patterns: back up src and choose with include (gulp-backup create src --include '/*.md', or sources: ['src'], include: ['/*.md'])");
    const made = await createBackup({ sources: ['src'], include: ['/*.md'], cwd: root, out: join(root, 'out') });
    expect((await loadManifest(made.manifestPath)).entries.filter((entry) => entry.type === 'file').map((entry) => entry.path)).to.deep.equal(['src/a.md']);
  });
});
