/**
 * gulp 4, which many projects still run: its own CLI (gulp-cli 2, listening on gulplog 1) over a
 * gulpfile that imports this package (which loads gulplog 2). Run as a user runs it: the real
 * gulp 4.0.2 binary (the `gulp4` alias in devDependencies), in a project folder whose `gulp` is
 * gulp 4. Before, any failing task crashed gulp 4's CLI with ERR_UNHANDLED_ERROR instead of
 * printing its error, and nothing this package logged was printed.
 */
import { expect } from 'chai';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { pseudoRandomBytes, tempDir, writeTree } from '../helpers/tree.js';

const GULP4 = fileURLToPath(new URL('../../node_modules/gulp4', import.meta.url));
const SOURCE = new URL('../../src/index.ts', import.meta.url).href;

/** A gulp 4 project: `gulp` is gulp 4, the gulpfile imports this package's source (through tsx). */
async function gulp4Project(gulpfile: string): Promise<string> {
  const dir = await tempDir();
  await mkdir(join(dir, 'node_modules'));
  await symlink(GULP4, join(dir, 'node_modules/gulp'));
  await writeFile(join(dir, 'gulpfile.mjs'), gulpfile.replaceAll('GULP_BACKUP', SOURCE));
  return dir;
}

async function runGulp4(dir: string, task: string) {
  return execa(process.execPath, [join(GULP4, 'bin/gulp.js'), task, '--no-color'], {
    cwd: dir,
    reject: false,
    env: { NODE_OPTIONS: `--import=${import.meta.resolve('tsx')}`, FORCE_COLOR: '0' },
  });
}

describe('gulp 4 (gulp-cli 2, gulplog 1)', () => {
  it("prints a failing task's error (it crashed with ERR_UNHANDLED_ERROR once this package was imported)", async () => {
    const dir = await gulp4Project(`import 'GULP_BACKUP';\nexport const boom = (done) => done(new Error('plain failure'));\n`);
    const run = await runGulp4(dir, 'boom');
    expect(run.exitCode).to.equal(1);
    expect(run.stdout + run.stderr).to.include('Error: plain failure').and.not.include('ERR_UNHANDLED_ERROR');
  });

  it("prints what the plugin says (its summary, a warning), and the plugin's own error", async () => {
    const gulpfile = `import gulp from 'gulp';
import { backup } from 'GULP_BACKUP';
export const snap = () => gulp.src('site/**', { removeBOM: false }).pipe(backup({ name: 'site' })).pipe(gulp.dest('backups'));
export const stripped = () => gulp.src('site/**').pipe(backup({ name: 'bad' })).pipe(gulp.dest('backups'));
`;
    const dir = await gulp4Project(gulpfile);
    await writeTree(dir, {
      'site/index.html': '<h1>hi</h1>',
      'site/logo.png': pseudoRandomBytes(3000, 2),
      'site/bom.txt': Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('marked\n')]),
      'site/.htaccess': 'deny',
    });
    const snap = await runGulp4(dir, 'snap');
    expect(snap.exitCode, snap.stdout + snap.stderr).to.equal(0);
    expect(snap.stdout).to.match(/Backup site\.tar\.gz \(full\)/);
    // gulp.src left .htaccess out (dot: false): the plugin's warning reaches gulp 4's log.
    expect(snap.stdout).to.match(/warning: .*\.htaccess.*dot: true/);
    const stripped = await runGulp4(dir, 'stripped');
    expect(stripped.exitCode).to.equal(1);
    expect(stripped.stdout + stripped.stderr).to.match(/bom\.txt .*gulp 4 unless `removeBOM: false`/).and.not.include('ERR_UNHANDLED_ERROR');
  });
});
