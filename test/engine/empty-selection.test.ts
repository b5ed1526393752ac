/** A selection that matches nothing is an error naming the patterns, unless allowEmpty (as gulp.src). */
import { join } from 'node:path';
import { expect } from 'chai';
import { BackupError, createBackup, restoreBackup } from '../../src/index.js';
import { runCli } from '../helpers/cli.js';
import { listFolder, loadManifest } from '../helpers/archive.js';
import { tempDir, writeTree } from '../helpers/tree.js';

async function rejection(promise: Promise<unknown>): Promise<BackupError> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error as BackupError,
  );
}

describe('engine: selections that match nothing, and allowEmpty', () => {
  let root: string;
  before(async () => {
    root = await tempDir();
    await writeTree(root, { 'src/app.js': 'app', 'src/lib/util.js': 'util', 'src/.env': 'secret' });
  });

  it('create: patterns that leave out every file fail with NOTHING_SELECTED (exit 2), nothing written', async () => {
    const out = join(root, 'out-none');
    const error = await rejection(createBackup({ cwd: root, sources: 'src', out, include: 'lib/**/*.ts' }));
    expect(error.code).to.equal('NOTHING_SELECTED');
    expect(error.message).to.match(/^Nothing to back up in src: 3 files matched no include pattern \(lib\/\*\*\/\*\.ts; relative to each source, or archive paths\)\. .*allowEmpty: true \(--allow-empty\)/);
    // A pattern may name archive paths (`src/…` for the source `src`), as tar's patterns name members.
    expect((await createBackup({ cwd: root, sources: 'src', out: join(root, 'out-archive-paths'), include: 'src/**/*.js' })).statistics.files).to.equal(2);
    expect(await listFolder(out).catch(() => [])).to.deep.equal([]);
    const cli = await runCli(['create', 'src', '--cwd', root, '--out', out, '--exclude', '*.js', '--no-dot']);
    expect(cli.code).to.equal(2);
    expect(cli.stderr).to.match(/2 names matched an exclude pattern \(\*\.js\); 1 dot name left out by dot: false/);
  });

  it('create: allowEmpty makes an empty backup, and a missing source (a dist/ not built yet) is listed as skipped', async () => {
    const made = await createBackup({ cwd: root, sources: ['src', 'dist'], out: join(root, 'out-empty'), include: 'nothing/**', allowEmpty: true });
    const manifest = await loadManifest(made.manifestPath);
    expect(manifest.entries.filter((e) => e.type !== 'directory')).to.deep.equal([]);
    expect(made.skipped).to.deep.include({ path: 'dist', reason: 'this source does not exist (allowEmpty)' });
    const missing = await rejection(createBackup({ cwd: root, sources: ['dist'], out: join(root, 'out-missing') }));
    expect(missing.code).to.equal('SOURCE_NOT_FOUND');
    const cli = await runCli(['create', 'dist', '--cwd', root, '--out', join(root, 'out-cli'), '--allow-empty', '--quiet']);
    expect(cli.code, cli.stderr).to.equal(0);
  });

  it('restore: a pattern matches the archive path or the path within its source; one that matches nothing fails (exit 2) unless allowEmpty', async () => {
    const made = await createBackup({ cwd: root, sources: 'src', out: join(root, 'out-r') });
    // `app.js` is how the file was named when `src` was backed up; `src/app.js` is its archive path.
    for (const include of ['src/app.js', '/src/app.js', 'app.js']) {
      const result = await restoreBackup(made.manifestPath, { to: await tempDir(), include });
      expect(result.restored.files, include).to.equal(1);
    }
    // Without a `/`, a pattern matches a name at any depth, as create's patterns do.
    expect((await restoreBackup(made.manifestPath, { to: await tempDir(), include: '*.js' })).restored.files).to.equal(2);
    const error = await rejection(restoreBackup(made.manifestPath, { to: join(root, 'never-made'), include: ['apps.js'] }));
    expect(error.code).to.equal('NOTHING_SELECTED');
    expect(error.message).to.match(/^No entry of .* matches 'apps\.js'\. Patterns match archive paths/);
    expect(await listFolder(root)).to.not.include('never-made');
    const empty = await restoreBackup(made.manifestPath, { to: await tempDir(), include: 'apps.js', allowEmpty: true });
    expect(empty.restored.files).to.equal(0);
    const cli = await runCli(['restore', made.manifestPath, '--to', await tempDir(), '--include', 'apps.js']);
    expect(cli.code).to.equal(2);
    expect(cli.stderr).to.match(/No entry of .* matches 'apps\.js'/);
  });
});
