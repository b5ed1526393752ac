/** Unknown option keys are refused everywhere, with a did-you-mean; strings are taken where gulp users pass them. */
import { join } from 'node:path';
import { expect } from 'chai';
import PluginError from 'plugin-error';
import { backup, backupTask, createBackup, OptionError, pruneBackups, pruneTask, restore, restoreBackup, restoreTask, verify, verifyBackup, verifyTask } from '../../src/index.js';
import { loadManifest } from '../helpers/archive.js';
import { tempDir, writeTree } from '../helpers/tree.js';

function thrown(run: () => unknown): Error {
  try {
    run();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected it to throw');
}

describe('engine: unknown option keys and string options', () => {
  it('every API refuses an unknown key when it is called (tasks and plugins: when the gulpfile loads), naming the nearest key', async () => {
    const cases: [string, () => unknown, RegExp][] = [
      ['backupTask', () => backupTask({ out: 'b', source: ['src'] } as never), /^Unknown option `source`: backupTask\(\) has no such option; did you mean `sources`\?$/],
      ['backupTask', () => backupTask({ out: 'b', exlcude: ['x'] } as never), /`exlcude`: .*did you mean `exclude`\?/],
      ['backupTask', () => backupTask({ out: 'b', Level: 3 } as never), /`Level`: .*did you mean `level`\?/],
      // The CLI's --auto written as an option: it was "did you mean `out`?".
      ['backupTask', () => backupTask({ out: 'b', auto: true } as never), /`auto`: backupTask\(\) has no such option; did you mean `kind: 'auto'`\?/],
      ['backup()', () => backup({ incremental: true } as never), /`incremental`: backup\(\) .*did you mean `kind: 'incremental'`\?/],
      ['verifyTask', () => verifyTask('b', { sources: 'x' } as never), /`sources`: verifyTask\(\) has no such option; did you mean `source`\?/],
      ['restoreTask', () => restoreTask('b', { to: 'x', overwite: true } as never), /`overwite`: restoreTask\(\) .*did you mean `overwrite`\?/],
      ['restoreTask', () => restoreTask('b', { to: 'x', zzz: 1 } as never), /`zzz`: restoreTask\(\) has no such option; its options are `to`, `include`/],
      ['backup()', () => backup({ levle: 3 } as never), /`levle`: backup\(\) .*did you mean `level`\?/],
      ['verify()', () => verify({ concurency: 2 } as never), /`concurency`: verify\(\) .*did you mean `concurrency`\?/],
      ['restore()', () => restore({ includes: 'a' } as never), /`includes`: restore\(\) .*did you mean `include`\?/],
    ];
    for (const [api, run, message] of cases) {
      const error = thrown(run);
      if (api.endsWith('()')) expect(error, api).to.be.instanceOf(PluginError);
      else expect(error, api).to.be.instanceOf(OptionError);
      expect(error.message, api).to.match(message);
    }
    for (const [promise, message] of [
      [createBackup({ out: 'b', src: 'x' } as never), /`src`: createBackup\(\) .*did you mean `sources`\?/],
      [restoreBackup('b', { to: 'x', dest: 'y' } as never), /`dest`: restoreBackup\(\)/],
      [verifyBackup('b', { sourec: 'y' } as never), /did you mean `source`\?/],
    ] as const) {
      const error = await (promise as Promise<unknown>).then(() => new Error('expected a rejection'), (e: unknown) => e as Error);
      expect(error).to.be.instanceOf(OptionError);
      expect(error.message).to.match(message);
    }
  });

  it('a path argument that is not a string (the options passed in its place) is refused by name, not a TypeError from Node', async () => {
    const cases: [() => unknown, RegExp][] = [
      [() => verifyTask({ path: 'backups' } as never), /^Expected `path` to be a manifest, an archive, or a folder of backups \(a string: verifyTask\(\) takes it first, the options after it\), got `\{"path":"backups"\}`$/],
      [() => restoreTask(undefined as never, { to: 'x' }), /^Expected `path` to be .*restoreTask\(\) takes it first/],
      [() => pruneTask({ keepLast: 3 } as never, { keepLast: 3 }), /^Expected `folder` to be the folder of backups \(a string: pruneTask\(\)/],
    ];
    for (const [run, message] of cases) {
      const error = thrown(run);
      expect(error).to.be.instanceOf(OptionError);
      expect(error.message).to.match(message);
    }
    for (const [promise, message] of [
      [verifyBackup({ path: 'b' } as never), /verifyBackup\(\) takes it first/],
      [restoreBackup(42 as never, { to: 'x' }), /restoreBackup\(\) takes it first/],
      [pruneBackups('' as never, { keepLast: 1 }), /pruneBackups\(\) takes it first/],
    ] as const) {
      const error = await (promise as Promise<unknown>).then(() => new Error('expected a rejection'), (e: unknown) => e as Error);
      expect(error).to.be.instanceOf(OptionError);
      expect(error.message).to.match(message);
    }
  });

  it('takes a string where gulp users pass one: sources, include, exclude, hashes ("sha256,md5")', async () => {
    const root = await tempDir();
    await writeTree(root, { 'src/a.js': 'a', 'src/b.txt': 'b', 'other/c.js': 'c' });
    const made = await createBackup({ cwd: root, out: join(root, 'out'), sources: 'src', include: '**/*.js', exclude: 'nothing', hashes: 'sha256,md5' });
    const manifest = await loadManifest(made.manifestPath);
    expect(manifest.entries.filter((e) => e.type === 'file').map((e) => e.path)).to.deep.equal(['src/a.js']);
    expect(Object.keys(manifest.entries.find((e) => e.path === 'src/a.js')!.hashes ?? {}).sort()).to.deep.equal(['md5', 'sha256']);
    const restored = await restoreBackup(made.manifestPath, { to: join(root, 'back'), include: 'src/a.js' });
    expect(restored.restored.files).to.equal(1);
  });
});
