import { expect } from 'chai';
import { availableParallelism } from 'node:os';
import { OptionError } from '../../src/errors.js';
import { DEFAULT_WINDOW_MEMORY, resolveBackupOptions, type BackupOptions } from '../../src/engine/options.js';
import { validateRestoreOptions } from '../../src/engine/read/restore.js';
import { validateVerifyOptions } from '../../src/engine/read/verify.js';
import { restore } from '../../src/gulp/restore-plugin.js';

function rejects(options: Partial<BackupOptions>): OptionError {
  try {
    resolveBackupOptions({ out: 'x', ...options } as BackupOptions);
  } catch (error) {
    expect(error).to.be.instanceOf(OptionError);
    return error as OptionError;
  }
  throw new Error('expected the options to be rejected');
}

describe('engine/options', () => {
  it('fills in the defaults', () => {
    const resolved = resolveBackupOptions({ out: 'backups' });
    expect(resolved).to.include({ codec: 'gzip', level: 6, blockSize: 1024 * 1024, dot: true, followSymlinks: false });
    expect(resolved.hashes).to.deep.equal(['sha256']);
    expect(resolved.sources).to.deep.equal(['.']);
    expect(resolved.concurrency).to.equal(availableParallelism());
  });

  it('reads with a worker fewer than the cores (at least one), leaving the writing main thread a core; compresses with one per core', () => {
    const cores = availableParallelism();
    expect(validateRestoreOptions({ to: 'out' }).concurrency).to.equal(Math.max(1, cores - 1));
    expect(validateVerifyOptions({}).concurrency).to.equal(Math.max(1, cores - 1));
    expect(validateRestoreOptions({ to: 'out', concurrency: cores }).concurrency).to.equal(cores);
    expect(resolveBackupOptions({ out: 'backups', codec: 'zstd' }).concurrency).to.equal(cores);
  });

  it('quotes the bad value and says what is expected', () => {
    expect(rejects({ level: 12 }).message).to.equal('Expected `level` to be an integer from 0 to 9, got `12`');
    expect(rejects({ concurrency: 0 }).message).to.equal('Expected `concurrency` to be an integer from 1 to 1024, got `0`');
    expect(rejects({ readConcurrency: 0 }).message).to.equal('Expected `readConcurrency` to be an integer from 1 to 256, got `0`');
    expect(rejects({ hashes: ['sha256', 'crc99' as never] }).message).to.match(/`hashes`.*got `crc99`/);
    expect(rejects({ codec: 'zip' as never }).message).to.match(/one of 'gzip', 'zstd', 'none', got `zip`/);
    expect(rejects({ maxFileSize: 'lots' }).message).to.match(/`maxFileSize`.*got `lots`/);
    expect(rejects({ blockSize: 1000 }).message).to.match(/`blockSize`/);
    expect(rejects({ name: '../evil' }).message).to.match(/`name`.*got `..\/evil`/);
    expect(rejects({ onFileError: 'ignore' as never }).message).to.match(/`onFileError`.*'fail', 'skip', got `ignore`/);
    expect(rejects({ retries: -1 }).message).to.equal('Expected `retries` to be an integer from 0 to 100, got `-1`');
    expect(rejects({ exclude: ['*.log', '!'] }).message).to.match(/`exclude` to be a pattern; one that starts with ! takes back what an earlier one left out, and needs a pattern after the !, got `!`/);
    expect(rejects({ out: '' }).option).to.equal('out');
    // A name or an output folder written as a file name (predeploy.tar.gz.tar.gz, a folder named x.tar.gz).
    expect(rejects({ name: 'predeploy.tar.gz' }).message).to.match(/`name` to be the base name of the backup's files, without a suffix: predeploy \(/);
    expect(rejects({ name: 'nightly.manifest.jsonl' }).message).to.match(/without a suffix: nightly \(/);
    expect(rejects({ out: 'backups/site.tar.zst' }).message).to.match(/`out` to be the folder to write the backup into; name its files with `name`/);
    expect(resolveBackupOptions({ out: 'x', name: 'v1.2.3' }).name).to.equal('v1.2.3');
    expect(rejects({ sources: [] }).option).to.equal('sources');
  });

  it('reads human sizes', () => {
    expect(resolveBackupOptions({ out: 'x', maxFileSize: '10MB', blockSize: '4MB' })).to.include({ maxFileSize: 10 * 1024 * 1024, blockSize: 4 * 1024 * 1024 });
  });

  it("the backup's maxMemory: 0 is refused, not taken as 'no limit' (it was taken silently as the least)", () => {
    expect(resolveBackupOptions({ out: 'x', maxMemory: '64MB' }).maxMemory).to.equal(64 * 1024 * 1024);
    expect(resolveBackupOptions({ out: 'x', maxMemory: 1 }).maxMemory).to.equal(1); // raised to two blocks in flight where blocks are cut
    for (const zero of [0, '0', '0MB']) expect(() => resolveBackupOptions({ out: 'x', maxMemory: zero })).to.throw(OptionError, /`maxMemory`.*there is no 'no limit'/);
  });

  it('keeps each hash once, in the order given', () => {
    expect(resolveBackupOptions({ out: 'x', hashes: ['md5', 'sha256', 'md5'] }).hashes).to.deep.equal(['md5', 'sha256']);
  });

  it("the readers' maxMemory (a zstd window): zstd's 128 MiB by default, human sizes, at least 1 KiB", () => {
    expect(DEFAULT_WINDOW_MEMORY).to.equal(128 * 1024 * 1024);
    expect(validateRestoreOptions({ to: 'x' }).maxMemory).to.equal(DEFAULT_WINDOW_MEMORY);
    expect(validateRestoreOptions({ to: 'x', maxMemory: '2GB' }).maxMemory).to.equal(2 * 1024 ** 3);
    expect(validateVerifyOptions({ maxMemory: 256 * 1024 * 1024 }).maxMemory).to.equal(256 * 1024 * 1024);
    expect(() => validateRestoreOptions({ to: 'x', maxMemory: 12 })).to.throw(OptionError, "Expected `maxMemory` to be a size of at least '1KB'");
    expect(() => validateVerifyOptions({ maxMemory: 'lots' })).to.throw(OptionError, /`maxMemory`.*got `lots`/);
    expect(() => restore({ maxMemory: -1 })).to.throw(/`maxMemory`.*got `-1`/);
  });
});
