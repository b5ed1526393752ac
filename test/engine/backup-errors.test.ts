/**
 * Bad input gets a clear error and loses nothing. Faults are injected at the file-system boundary
 * (the `fileSystem` option): tests run as root, where permission bits do not stop a read.
 */
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { openSync } from 'node:fs';
import { join } from 'node:path';
import { AbortError, BackupError, backupWithProgress, createBackup, type BackupProgress } from '../../src/index.js';
import { listFolder, loadManifest } from '../helpers/archive.js';
import { scanSources } from '../../src/engine/write/scan.js';
import { openSyncFailing, openWithReadHook, systemError } from '../helpers/faults.js';
import { pseudoRandomBytes, run, tempDir, writeTree } from '../helpers/tree.js';
import { readFile } from 'node:fs/promises';


describe('engine/createBackup: failures leave nothing that looks complete', () => {
  let root: string;
  before(async () => {
    root = await tempDir();
    await writeTree(root, {
      'data/a.txt': 'a',
      'data/secret.key': 'k',
      'data/large.bin': pseudoRandomBytes(3 * 1024 * 1024),
      'data/z.txt': 'z',
    });
  });

  async function failure(options: Parameters<typeof createBackup>[0]): Promise<BackupError> {
    const error = await createBackup(options).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(BackupError);
    expect(await listFolder(options.out)).to.deep.equal([]);
    return error as BackupError;
  }

  it('a missing source: SOURCE_NOT_FOUND naming the path', async () => {
    const error = await failure({ sources: ['data', 'missing'], cwd: root, out: join(root, 'out1') });
    expect(error.code).to.equal('SOURCE_NOT_FOUND');
    expect(error.message).to.include(join(root, 'missing'));
  });

  it('an unreadable file: FILE_UNREADABLE naming the file and what to do', async () => {
    const error = await failure({
      sources: ['data'],
      cwd: root,
      out: join(root, 'out2'),
      fileSystem: {
        openSync: openSyncFailing('secret.key', 'EACCES'),
      },
    });
    expect(error.code).to.equal('FILE_UNREADABLE');
    expect(error.path).to.equal(join(root, 'data/secret.key'));
    expect(error.message).to.match(/EACCES\)\. Fix its permissions, or leave it out with an exclude pattern/);
  });

  it('a path longer than the system allows (deeper than tar -C can go): FILE_UNREADABLE that says so, not "fix its permissions"', async () => {
    const deep = await tempDir();
    // 22 levels of 200 bytes: 4,400, past PATH_MAX. Made a level at a time, as no single path can name the bottom.
    const script = "import os\nos.mkdir('data'); os.chdir('data')\nfor _ in range(22): os.mkdir('d' * 200); os.chdir('d' * 200)\nopen('leaf.txt', 'w').write('leaf')";
    execFileSync('python3', ['-c', script], { cwd: deep });
    try {
      const error = await failure({ sources: ['data'], cwd: deep, out: join(deep, 'out') });
      expect(error.code).to.equal('FILE_UNREADABLE');
      expect(error.message).to.match(/ENAMETOOLONG\)\. Its path is longer than the system lets a program name a file/);
      expect(error.message).to.not.match(/permissions/);
    } finally {
      execFileSync('rm', ['-rf', join(deep, 'data')]); // GNU rm walks with openat; Node's rm cannot name the bottom either
    }
  });

  it('a read error in the middle of a large file: FILE_UNREADABLE, no partial archive', async () => {
    const error = await failure({
      sources: ['data'],
      cwd: root,
      out: join(root, 'out3'),
      retries: 1,
      retryDelay: 1,
      fileSystem: {
        open: openWithReadHook((read) => {
          if (read >= 2) throw Object.assign(new Error('EIO: injected'), { code: 'EIO' }); // a failing disk
        }),
      },
    });
    expect(error.code).to.equal('FILE_UNREADABLE');
    expect(error.message).to.include('large.bin');
  });

  it('an output folder that cannot be made: OUTPUT_UNWRITABLE', async () => {
    const out = join(root, 'data/a.txt/sub');
    const error = await createBackup({ sources: ['data'], cwd: root, out }).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(BackupError);
    expect(error).to.have.property('code', 'OUTPUT_UNWRITABLE');
    // The advice follows the cause (here a file where a folder of the path goes), not a guess at space.
    expect((error as Error).message).to.equal(`Cannot write the backup to ${out} (ENOTDIR). A part of that path is a file, not a folder: choose an output folder.`);
  });

  it('an AbortSignal mid-way: AbortError, and the partial archive is removed', async () => {
    const controller = new AbortController();
    const out = join(root, 'out4');
    const error = await failure({
      sources: ['data'],
      cwd: root,
      out,
      blockSize: '64KB',
      signal: controller.signal,
      onProgress: (p) => {
        if (p.bytesDone > 0) controller.abort(new Error('user pressed stop'));
      },
    });
    expect(error).to.be.instanceOf(AbortError);
    expect(error.code).to.equal('ABORTED');
  });

  it('an AbortSignal already aborted: nothing is started', async () => {
    const error = await failure({ sources: ['data'], cwd: root, out: join(root, 'out5'), signal: AbortSignal.abort() });
    expect(error.code).to.equal('ABORTED');
  });

  it('retries transient errors (EBUSY, EIO) and counts the retries', async () => {
    let failures = 0;
    const r = await createBackup({
      sources: ['data'],
      cwd: root,
      out: join(root, 'out-retry'),
      retryDelay: 1,
      fileSystem: {
        openSync: (path, flags) => {
          if (path.endsWith('a.txt') && failures++ < 2) throw systemError(failures === 1 ? 'EBUSY' : 'EIO', path);
          return openSync(path, flags);
        },
        open: openWithReadHook((read) => {
          if (read === 2) throw Object.assign(new Error('EAGAIN: injected'), { code: 'EAGAIN' });
        }),
      },
    });
    expect(r.statistics.retries).to.equal(3);
    expect(r.statistics.files).to.equal(4);
    expect(r.skipped).to.deep.equal([]);
  });

  it('gives up after `retries` tries of a transient error: FILE_UNREADABLE', async () => {
    const error = await failure({
      sources: ['data'],
      cwd: root,
      out: join(root, 'out-retry-fail'),
      retries: 2,
      retryDelay: 1,
      fileSystem: {
        openSync: openSyncFailing('z.txt', 'EIO'),
      },
    });
    expect(error.code).to.equal('FILE_UNREADABLE');
    expect(error.message).to.match(/z\.txt \(EIO\)/);
  });

  it("onFileError: 'skip' lists an unreadable file and goes on", async () => {
    const r = await createBackup({
      sources: ['data'],
      cwd: root,
      out: join(root, 'out-skip'),
      onFileError: 'skip',
      fileSystem: {
        openSync: openSyncFailing('secret.key', 'EACCES'),
      },
    });
    expect(r.skipped).to.deep.equal([{ path: 'data/secret.key', reason: 'could not be read (EACCES)' }]);
    expect(r.statistics.files).to.equal(3);
  });

  it('folders removed or turned into files while the scan walks them: what is gone is listed, the backup goes on (was: ENOTDIR failed it)', async () => {
    const tree = await tempDir();
    const files: Record<string, string> = {};
    for (let i = 0; i < 20; i++) for (const name of ['a', 'b']) files[`w/victim/sub${i}/${name}.txt`] = `${i}${name}`;
    files['w/victim/trigger.skip'] = 'the walk meets it inside victim, as it lists victim';
    files['w/stays.txt'] = 'untouched';
    await writeTree(tree, files);
    let changed = false;
    // The walk has listed victim when it meets trigger.skip (excluded): the sub-folders it listed
    // and has not entered yet, and the files of those it has, are then gone or under a file.
    const scanned = await scanSources({
      cwd: tree,
      sources: ['w'],
      include: ['**'],
      exclude: ['*.skip'],
      dot: true,
      followSymlinks: false,
      maxFileSize: Infinity,
      onLeftOut: () => {
        if (changed) return;
        changed = true;
        for (let i = 0; i < 20; i++) {
          const sub = join(tree, `w/victim/sub${i}`);
          execFileSync('rm', ['-r', sub]);
          if (i % 2 === 0) execFileSync('sh', ['-c', `echo now a file > "${sub}"`]);
        }
      },
    });
    expect(changed).to.equal(true);
    const byPath = new Map(scanned.entries.map((entry) => [entry.path, entry.type]));
    expect(byPath.get('w/stays.txt')).to.equal('file');
    for (let i = 0; i < 20; i++) {
      // As it is after the change: a file where a folder was, or nothing; never a file of the old folder.
      expect(byPath.get(`w/victim/sub${i}`), `sub${i}`).to.equal(i % 2 === 0 ? 'file' : undefined);
      expect(byPath.has(`w/victim/sub${i}/a.txt`)).to.equal(false);
    }
    for (const item of scanned.skipped) expect(item.reason, item.path).to.match(/^vanished during the scan/);
    // The odd sub-folders were listed (the walk saw them) and are gone: each is named.
    for (let i = 1; i < 20; i += 2) expect(scanned.skipped.map((item) => item.path)).to.include(`w/victim/sub${i}`);
  });

  it('a file that vanishes between scan and read is skipped and recorded', async () => {
    const r = await createBackup({
      sources: ['data'],
      cwd: root,
      out: join(root, 'out6'),
      fileSystem: {
        openSync: openSyncFailing('z.txt', 'ENOENT'),
      },
    });
    expect(r.skipped).to.deep.equal([{ path: 'data/z.txt', reason: 'vanished after the scan' }]);
    const manifest = await loadManifest(r.manifestPath);
    expect(manifest.entries.map((e) => e.path)).to.not.include('data/z.txt');
    expect(manifest.footer.skipped).to.deep.equal(r.skipped);
  });

  it('files written to while read: small ones are read again, a large one is flagged', async () => {
    const tree = await tempDir();
    await writeTree(tree, { 'always.txt': 'a', 'busy.txt': 'b', 'log.txt': pseudoRandomBytes(3 * 1024 * 1024, 8), 'small.txt': 'grows' });
    const { appendFile } = await import('node:fs/promises');
    const { appendFileSync, readSync } = await import('node:fs');
    const descriptors = new Map<number, string>();
    let busyWrites = 0;
    const r = await createBackup({
      sources: ['.'],
      cwd: tree,
      out: join(root, 'out-append'),
      retries: 2,
      fileSystem: {
        openSync: (path, flags) => {
          const fd = openSync(path, flags);
          descriptors.set(fd, path);
          if (path.endsWith('small.txt')) appendFileSync(path, ' and grows'); // after the scan, before the read
          return fd;
        },
        readSync: (fd, buffer, offset, length, position) => {
          const bytes = readSync(fd, buffer, offset, length, position);
          const path = descriptors.get(fd)!;
          if (path.endsWith('always.txt') || (path.endsWith('busy.txt') && busyWrites++ === 0)) appendFileSync(path, '+'); // a writer at work
          return bytes;
        },
        open: openWithReadHook(async (read, path) => {
          if (read === 2) await appendFile(path, 'more lines\n'); // a log written to while it is read
        }),
      },
    });
    const manifest = await loadManifest(r.manifestPath);
    const byPath = new Map(manifest.entries.map((e) => [e.path, e]));
    expect(manifest.entries.filter((e) => e.changedDuringBackup).map((e) => e.path)).to.deep.equal(['always.txt', 'log.txt']);
    expect(byPath.get('log.txt')!.size).to.equal(3 * 1024 * 1024); // cut at the size in its header
    expect(byPath.get('small.txt')!.size).to.equal(15); // the size at open, consistent content
    expect(byPath.get('busy.txt')!.size).to.equal(2); // read again once the writer was done
    expect(r.statistics.retries).to.equal(3); // busy.txt once, always.txt twice
    const restored = await tempDir();
    await run('tar', ['-xzf', r.archivePath, '-C', restored]);
    expect(await readFile(join(restored, 'busy.txt'), 'utf8')).to.equal('b+');
  });

  it('a FIFO that takes the place of a file after the scan is skipped, never read', async () => {
    const tree = await tempDir();
    await writeTree(tree, { 'a.txt': 'a', 'b.txt': 'b' });
    const { execFileSync } = await import('node:child_process');
    const { rm } = await import('node:fs/promises');
    const r = await createBackup({
      sources: ['.'],
      cwd: tree,
      out: join(root, 'out-fifo-race'),
      fileSystem: {
        openSync: (path, flags) => {
          if (path.endsWith('b.txt')) {
            execFileSync('rm', ['-f', path]);
            execFileSync('mkfifo', [path]);
          }
          return openSync(path, flags);
        },
      },
    });
    await rm(join(tree, 'b.txt'));
    expect(r.skipped).to.deep.equal([{ path: 'b.txt', reason: 'is no longer a regular file' }]);
    expect(r.statistics.files).to.equal(1);
  });

  it('a hard link whose first name vanished is skipped too, not left dangling', async () => {
    const tree = await tempDir();
    await writeTree(tree, { 'a.txt': 'shared', 'b.txt': { hardlinkTo: 'a.txt' } });
    const r = await createBackup({
      sources: ['.'],
      cwd: tree,
      out: join(root, 'out-hardlink'),
      fileSystem: {
        openSync: openSyncFailing('a.txt', 'ENOENT'),
      },
    });
    expect(r.skipped).to.deep.equal([
      { path: 'a.txt', reason: 'vanished after the scan' },
      { path: 'b.txt', reason: 'its hard-link target a.txt was not stored' },
    ]);
    expect(r.statistics.entries).to.equal(0);
  });

  it('offers progress as an async iterator that ends with the backup, or throws its error', async () => {
    const run = backupWithProgress({ sources: ['data'], cwd: root, out: join(root, 'out-iterator') });
    const seen: BackupProgress[] = [];
    for await (const progress of run) seen.push(progress);
    expect(seen.at(-1)).to.include({ phase: 'done', percentage: 100 });
    expect((await run.result).statistics.files).to.equal(4);
    const failing = backupWithProgress({ sources: ['nope'], cwd: root, out: join(root, 'out-iterator-2') });
    const error = await (async () => {
      for await (const progress of failing) void progress;
    })().catch((e: unknown) => e);
    expect(error).to.have.property('code', 'SOURCE_NOT_FOUND');
  });

  it('reports progress that only grows, with exact totals, ending at 100%', async () => {
    const events: BackupProgress[] = [];
    const r = await createBackup({ sources: ['data'], cwd: root, out: join(root, 'out7'), onProgress: (p) => events.push(p) });
    expect(events[0]!.phase).to.equal('scan');
    const last = events.at(-1)!;
    expect(last).to.include({ phase: 'done', percentage: 100, filesDone: 5, filesTotal: 5 });
    expect(last.bytesTotal).to.equal(r.statistics.contentBytes);
    for (let i = 1; i < events.length; i++) {
      expect(events[i]!.percentage).to.be.at.least(events[i - 1]!.percentage);
      expect(events[i]!.bytesDone).to.be.at.least(events[i - 1]!.bytesDone);
    }
  });
});
