/** The backup() plugin through the real gulp: gulp.src → backup() → gulp.dest. */
import { expect } from 'chai';
import { existsSync } from 'node:fs';
import { chmod, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import gulp from 'gulp';
import log from 'gulplog';
import PluginError from 'plugin-error';
import type File from 'vinyl';
import { backup, backupTask, restoreBackup, type BackupPluginOptions } from '../../src/index.js';
import { recordOpens } from '../helpers/faults.js';
import { loggedWhile } from '../helpers/gulp-log.js';
import { loadManifest, listFolder } from '../helpers/archive.js';
import { pseudoRandomBytes, run, snapshotTree, tempDir, writeTree } from '../helpers/tree.js';

describe('gulp/backup() plugin', () => {
  let root: string;
  const binary = pseudoRandomBytes(200_000, 7);
  before(async () => {
    root = await tempDir();
    await writeTree(root, {
      'site/index.html': '<h1>hi</h1>',
      'site/img/logo.png': binary,
      'site/css/a.css': 'body{}'.repeat(5000),
      'site/link': { symlink: 'index.html' },
    });
  });

  async function backUp(src: Parameters<typeof gulp.src>[1], options: BackupPluginOptions, out: string): Promise<void> {
    await pipeline(gulp.src('site/**', { cwd: root, resolveSymlinks: false, ...src }), backup(options), gulp.dest(out));
  }

  async function expectRestorable(out: string, name: string): Promise<void> {
    expect(await listFolder(out)).to.deep.equal([`${name}.manifest.jsonl`, `${name}.tar.gz`, `${name}.tar.gz.sha256`]);
    await run('sha256sum', ['-c', `${name}.tar.gz.sha256`], out);
    const restored = await tempDir();
    await run('tar', ['-xzf', join(out, `${name}.tar.gz`), '-C', restored]);
    expect(await snapshotTree(restored)).to.deep.equal(await snapshotTree(join(root, 'site')));
    expect((await readFile(join(restored, 'img/logo.png'))).equals(binary)).to.equal(true);
    const manifest = await loadManifest(join(out, `${name}.manifest.jsonl`));
    expect(manifest.entries.map((e) => e.path)).to.deep.equal(['css', 'css/a.css', 'img', 'img/logo.png', 'index.html', 'link']);
  }

  it('with out, writes the backup into that folder itself (lock, manifest last) and emits nothing', async () => {
    const out = join(await tempDir(), 'backups');
    const emitted: string[] = [];
    await pipeline(
      gulp.src('site/**', { cwd: root, resolveSymlinks: false, encoding: false, read: false }),
      backup({ out, name: 'own' }),
      async (files: AsyncIterable<{ path: string }>) => {
        for await (const file of files) emitted.push(file.path);
      },
    );
    expect(emitted).to.deep.equal([]);
    await expectRestorable(out, 'own');
    const again = await pipeline(gulp.src('site/**', { cwd: root, resolveSymlinks: false, encoding: false, read: false }), backup({ out, name: 'own' })).catch((e: unknown) => e);
    expect((again as Error).message).to.include('A backup named own already exists');
    expect(() => backup({ replace: true })).to.throw('Expected `replace` to be true or false, with `out`');
  });

  it('backs up buffered files (encoding: false)', async () => {
    const out = join(root, 'out-buffer');
    await backUp({ encoding: false }, { name: 'site' }, out);
    await expectRestorable(out, 'site');
  });

  it('backs up streamed files (buffer: false, encoding: false)', async () => {
    const out = join(root, 'out-stream');
    await backUp({ buffer: false, encoding: false }, { name: 'site' }, out);
    await expectRestorable(out, 'site');
  });

  it("logs its summary through gulp's logger, as the task does", async () => {
    const lines = await loggedWhile('info', () => backUp({ read: false }, { name: 'logged' }, join(root, 'out-logged')));
    expect(lines[0]).to.equal('Backup logged.tar.gz (full)');
    expect(lines).to.include('  3 files, 2 folders, 1 link');
  });

  it("says what gulp.src's default dot: false left out of folders it took whole, and nothing of a glob that chose", async () => {
    const dir = await tempDir();
    await writeTree(dir, {
      'dist/index.html': 'x',
      'dist/.htaccess': 'deny',
      'dist/.well-known/security.txt': 'contact',
      'dist/css/a.css': 'a',
      'dist/css/.DS_Store': 'mac',
      'flat/index.html': 'x',
      'flat/.htaccess': 'deny',
    });
    let runs = 0;
    const summary = async (glob: string, src: Parameters<typeof gulp.src>[1]): Promise<string[]> => {
      const lines = await loggedWhile('info', () =>
        pipeline(gulp.src(glob, { cwd: dir, read: false, encoding: false, resolveSymlinks: false, ...src }), backup({ out: join(dir, `out-${runs++}`) })),
      );
      return lines.filter((line) => line.includes('warning:'));
    };
    expect(await summary('dist/**', {})).to.deep.equal([
      '  warning: gulp.src left out 3 names that start with a dot (dist/.htaccess, dist/.well-known, dist/css/.DS_Store), as globs do by default: they are not in this backup. Pass { dot: true } to gulp.src to back them up.',
    ]);
    expect(await summary('dist/**', { dot: true })).to.deep.equal([]);
    // A folder of files alone: gulp.src gives no folder, the base it walked from is checked.
    expect(await summary('flat/**', {})).to.deep.equal([
      '  warning: gulp.src left out 1 name that starts with a dot (flat/.htaccess), as globs do by default: they are not in this backup. Pass { dot: true } to gulp.src to back them up.',
    ]);
    // A glob that picks some names of a folder chose; its dot names were not taken for lack of dot: true alone.
    expect(await summary('dist/**/*.css', {})).to.deep.equal([]);
  });

  it('a stream that brings no file (a glob that matched nothing) fails with NOTHING_SELECTED unless allowEmpty; its own keys get a did-you-mean', async () => {
    const dir = await tempDir();
    const out = join(dir, 'backups');
    const error = await pipeline(gulp.src('dist/**', { cwd: dir, read: false }), backup({ out })).then(
      () => undefined,
      (e: unknown) => e as PluginError & { code?: string },
    );
    expect(error?.code).to.equal('NOTHING_SELECTED');
    expect(error?.message).to.match(/was given no file: the glob of gulp.src matched nothing.*allowEmpty: true/);
    expect(existsSync(out)).to.equal(false);
    await pipeline(gulp.src('dist/**', { cwd: dir, read: false }), backup({ out, name: 'empty', allowEmpty: true }));
    expect((await loadManifest(join(out, 'empty.manifest.jsonl'))).entries).to.deep.equal([]);
    expect(() => backup({ allowEmtpy: true } as never)).to.throw(PluginError, /`allowEmtpy`: backup\(\) .*did you mean `allowEmpty`\?/);
    expect(() => backup({ outt: 'b' } as never)).to.throw(PluginError, /did you mean `out`\?/);
  });

  it('backs up files it reads itself (read: false)', async () => {
    const out = join(root, 'out-noread');
    await backUp({ read: false }, { name: 'site', codec: 'gzip', level: 9 }, out);
    await expectRestorable(out, 'site');
  });

  it('fails with a PluginError that says to pass encoding: false when gulp.src decoded a binary file', async () => {
    const out = join(root, 'out-decoded');
    const error = await backUp({}, { name: 'site' }, out).catch((e: unknown) => e);
    expect(error).to.have.property('plugin', 'gulp-backup');
    expect((error as Error).message).to.match(/logo\.png.*UTF-8.*encoding: false/s);
    expect(await listFolder(out)).to.deep.equal([]);
  });

  it("a text file whose byte-order mark gulp.src took off: named as such, with gulp 5's and gulp 4's options (it was called decoding that corrupts binary files)", async () => {
    const dir = await tempDir();
    await writeTree(dir, { 'notes/bom.txt': Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('a note\n')]) });
    const error = await pipeline(gulp.src('notes/**', { cwd: dir }), backup({ name: 'n' }), gulp.dest(join(dir, 'out'))).catch((e: unknown) => e);
    expect(error).to.have.property('code', 'GULP_CONTENTS_DECODED');
    expect((error as Error).message).to.match(/bom\.txt has 7 bytes in its contents but 10 on disk: gulp\.src removed its UTF-8 byte-order mark \(gulp 5 does unless `encoding: false`, gulp 4 unless `removeBOM: false`\)/);
  });

  it("says its error through gulp's logger too: in a .pipe() chain gulp.src takes it and gulp would never hear of it", async () => {
    const events = log as unknown as NodeJS.EventEmitter;
    const logged = new Promise<string>((resolve) => events.once('error', resolve));
    // The chain as most gulpfiles write it, and as gulp 5 treats it: it never ends, and emits no error gulp sees.
    gulp
      .src('site/**', { cwd: root, resolveSymlinks: false })
      .pipe(backup({ name: 'site' }))
      .pipe(gulp.dest(join(root, 'out-piped')));
    const silence = new Promise<string>((resolve) => setTimeout(() => resolve('(nothing logged in 10 s)'), 10_000).unref());
    expect(await Promise.race([logged, silence])).to.match(/^gulp-backup: .*logo\.png.*encoding: false/s);
  });

  it('fails the same way in stream mode, where the length is only known once the file is read', async () => {
    const out = join(root, 'out-decoded-stream');
    const error = await backUp({ buffer: false }, { name: 'site' }, out).catch((e: unknown) => e);
    expect(error).to.have.property('plugin', 'gulp-backup');
    expect((error as Error).message).to.match(/logo\.png.*encoding: false/s);
    expect((await listFolder(out)).filter((name) => name.endsWith('.manifest.jsonl'))).to.deep.equal([]);
  });

  it('merged streams: a file carried twice is stored once; two files renamed onto one path fail with DUPLICATE_PATH', async () => {
    const source = (glob: string) => gulp.src(glob, { cwd: root, resolveSymlinks: false, encoding: false });
    async function* merged(second: AsyncIterable<File>) {
      yield* source('site/**') as AsyncIterable<File>;
      yield* second;
    }
    const out = join(root, 'out-merged');
    await pipeline(Readable.from(merged(source('site/index.html') as AsyncIterable<File>)), backup({ name: 'site' }), gulp.dest(out));
    await expectRestorable(out, 'site'); // the entries listed once each

    async function* renamedOntoIndex() {
      for await (const file of source('site/css/a.css') as AsyncIterable<File>) {
        file.path = join(file.base, 'index.html'); // a rename that collides (gulp-rename, flatten)
        yield file;
      }
    }
    const collided = join(root, 'out-collided');
    const error = await pipeline(Readable.from(merged(renamedOntoIndex())), backup({ name: 'site' }), gulp.dest(collided)).catch((e: unknown) => e);
    expect(error).to.have.property('plugin', 'gulp-backup');
    expect(error).to.have.property('code', 'DUPLICATE_PATH');
    expect((error as Error).message).to.include(`${join(root, 'site/index.html')} and ${join(root, 'site/css/a.css')} would both be index.html in the archive`);
    expect(await listFolder(collided).catch(() => [])).to.deep.equal([]);
  });

  it('rejects bad options when the pipeline is built', () => {
    expect(() => backup({ level: 42 })).to.throw(/Expected `level` to be an integer from 0 to 9, got `42`/);
  });
});

describe('gulp/backup() plugin, incremental', () => {
  /** A folder holding `site/`, a page and an image with old mtimes (outside any racy window). */
  async function siteTree(): Promise<string> {
    const root = await tempDir();
    await writeTree(root, {
      'site/index.html': { content: '<h1>hi</h1>', mtime: 1_600_000_000 },
      'site/img/logo.png': { content: pseudoRandomBytes(50_000, 9), mtime: 1_600_000_000 },
    });
    return root;
  }

  it('with read: false and since, opens only the files that changed, and the chain restores exactly', async () => {
    const root = await siteTree();
    const out = join(root, 'backups');
    const run = async (name: string, options: BackupPluginOptions, opened: string[]) =>
      pipeline(
        gulp.src('site/**', { cwd: root, read: false, resolveSymlinks: false }),
        backup({ name, since: out, fileSystem: recordOpens(opened), ...options }),
        gulp.dest(out),
      );
    const first: string[] = [];
    await run('one', { kind: 'auto' }, first);
    expect(first).to.have.length(2);
    await writeFile(join(root, 'site/index.html'), '<h1>hello</h1>');
    const second: string[] = [];
    await run('two', { kind: 'incremental' }, second);
    expect(second).to.deep.equal([join(root, 'site/index.html')]);
    const manifest = await loadManifest(join(out, 'two.manifest.jsonl'));
    expect(manifest.header).to.include({ kind: 'incremental' });
    expect(manifest.header.parent).to.include({ manifest: 'one.manifest.jsonl' });
    const target = await tempDir();
    const restored = await restoreBackup(join(out, 'two.manifest.jsonl'), { to: target });
    expect(restored.failures).to.deep.equal([]);
    expect(await snapshotTree(target)).to.deep.equal(await snapshotTree(join(root, 'site')));
  });

  it("warns when most of the parent's files did not come through the stream (gulp.src's since: gulp.lastRun), and not for a few deletions", async () => {
    const root = await siteTree();
    await writeTree(root, { 'site/a.txt': 'a', 'site/b.txt': 'b' });
    const out = join(root, 'backups');
    const warnings = async (src: Parameters<typeof gulp.src>[1]): Promise<string[]> => {
      const lines = await loggedWhile('info', () => pipeline(gulp.src('site/**', { cwd: root, read: false, resolveSymlinks: false, ...src }), backup({ out, kind: 'auto' })));
      return lines.filter((line) => line.includes('warning:'));
    };
    expect(await warnings({})).to.deep.equal([]);
    // The whole stream again, one file of four gone: a deletion, said in the counts alone.
    await rm(join(root, 'site/b.txt'));
    expect(await warnings({})).to.deep.equal([]);
    const lastRun = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 20));
    await writeFile(join(root, 'site/a.txt'), 'a, changed');
    expect(await warnings({ since: lastRun })).to.deep.equal([
      '  warning: 2 of the 3 files of the backup this one builds on did not come through the stream and count as deleted: a restore of this backup will not have them. ' +
        'If gulp.src was given since (gulp.lastRun), drop it: an incremental backup finds what changed itself, and needs every file.',
    ]);
  });

  it('with contents read by gulp.src, a file whose status moved is compared from its buffer and stays in the chain', async () => {
    const root = await siteTree();
    const out = join(root, 'backups');
    const run = (name: string, kind: BackupPluginOptions['kind']) =>
      pipeline(gulp.src('site/**', { cwd: root, encoding: false, resolveSymlinks: false }), backup({ name, since: out, kind }), gulp.dest(out));
    await run('one', 'full');
    await chmod(join(root, 'site/img/logo.png'), 0o600); // the ctime moves; the bytes do not
    await writeFile(join(root, 'site/index.html'), '<h1>ho</h1>'); // same size: read, compared, stored
    await utimes(join(root, 'site/index.html'), 1_600_000_000, 1_600_000_000);
    await run('two', 'incremental');
    const manifest = await loadManifest(join(out, 'two.manifest.jsonl'));
    const byPath = new Map(manifest.entries.map((e) => [e.path, e]));
    expect(byPath.get('img/logo.png')).to.include({ heldBy: (await loadManifest(join(out, 'one.manifest.jsonl'))).header.id, mode: 0o600 });
    expect(byPath.get('index.html')!.heldBy).to.equal(undefined);
    const target = await tempDir();
    expect((await restoreBackup(join(out, 'two.manifest.jsonl'), { to: target })).failures).to.deep.equal([]);
    expect(await snapshotTree(target)).to.deep.equal(await snapshotTree(join(root, 'site')));
  });

  it("contents a plugin made or changed (no stat, or the source file's stat) are compared by hash: a new content of the same size is stored, never held", async () => {
    const root = await siteTree();
    const out = join(root, 'backups');
    const { default: Vinyl } = await import('vinyl');
    // A generated file (no stat at all) and a source file transformed by a plugin (its stat kept, as
    // plugins keep it; the same length, or the decoding guard would take it for gulp.src's UTF-8).
    const run = (name: string, kind: BackupPluginOptions['kind'], generated: string, transform: (text: string) => string) =>
      pipeline(
        gulp.src('site/index.html', { cwd: root, encoding: false, resolveSymlinks: false }),
        new Transform({
          objectMode: true,
          transform(file: File, _encoding, callback) {
            file.contents = Buffer.from(transform((file.contents as Buffer).toString()));
            this.push(file);
            this.push(new Vinyl({ cwd: root, base: join(root, 'site'), path: join(root, 'site/bundle.js'), contents: Buffer.from(generated) }));
            callback();
          },
        }),
        backup({ name, since: out, kind }),
        gulp.dest(out),
      );
    await run('one', 'full', 'AAAA', (text) => text);
    await run('two', 'incremental', 'BBBB', (text) => text.toUpperCase());
    await run('three', 'incremental', 'BBBB', (text) => text.toUpperCase());
    const target = await tempDir();
    expect((await restoreBackup(join(out, 'two.manifest.jsonl'), { to: target })).failures).to.deep.equal([]);
    expect(await readFile(join(target, 'bundle.js'), 'utf8')).to.equal('BBBB');
    expect(await readFile(join(target, 'index.html'), 'utf8')).to.equal('<H1>HI</H1>');
    // Unchanged contents are still found unchanged, by their hash.
    const three = await loadManifest(join(out, 'three.manifest.jsonl'));
    expect(three.entries.filter((e) => e.type === 'file').every((e) => e.heldBy !== undefined)).to.equal(true);
  });

  it('streamed contents (buffer: false) are hashed as they are stored: unchanged ones stay in the chain, changed ones are stored', async () => {
    const root = await siteTree();
    const out = join(root, 'backups');
    const run = (name: string, kind: BackupPluginOptions['kind']) =>
      pipeline(gulp.src('site/**', { cwd: root, buffer: false, encoding: false, resolveSymlinks: false }), backup({ name, since: out, kind }), gulp.dest(out));
    await run('one', 'full');
    await writeFile(join(root, 'site/index.html'), '<h1>ho</h1>'); // same size
    await utimes(join(root, 'site/index.html'), 1_600_000_000, 1_600_000_000);
    await run('two', 'incremental');
    const byPath = new Map((await loadManifest(join(out, 'two.manifest.jsonl'))).entries.map((e) => [e.path, e]));
    expect(byPath.get('img/logo.png')!.heldBy).to.not.equal(undefined);
    expect(byPath.get('index.html')!.heldBy).to.equal(undefined);
    const target = await tempDir();
    expect((await restoreBackup(join(out, 'two.manifest.jsonl'), { to: target })).failures).to.deep.equal([]);
    expect(await snapshotTree(target)).to.deep.equal(await snapshotTree(join(root, 'site')));
  });

  it('refuses an incremental kind without since when the pipeline is built', () => {
    expect(() => backup({ kind: 'incremental' })).to.throw(/since/);
  });
});

describe('gulp/backupTask()', () => {
  it('makes a gulp task (named when asked) that backs up and returns the result', async () => {
    const root = await tempDir();
    await writeTree(root, { 'src/a.txt': 'a' });
    const task = backupTask({ sources: ['src'], cwd: root, out: join(root, 'backups'), name: 'nightly' }, 'nightly-backup');
    expect(task.displayName).to.equal('nightly-backup');
    expect(task.description).to.equal('Back up src into ' + join(root, 'backups'));
    const result = await task();
    expect(result.archivePath).to.equal(join(root, 'backups/nightly.tar.gz'));
    await run('gzip', ['-t', result.archivePath]);
  });
});
