/**
 * Ctrl-C and SIGTERM during a gulp run: nothing that looks like a backup is left, neither by the
 * task (`*.partial`, the lock) nor by the plugin (the archive gulp.dest was writing under its
 * final name), and the process still ends by the signal.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { execa } from 'execa';
import { pseudoRandomBytes, tempDir } from '../helpers/tree.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

const GULPFILE = `
import gulp from 'gulp';
import { pipeline } from 'node:stream/promises';
import { backup, backupTask } from 'gulp-backup';
// Level 9 on one core: slow enough to be interrupted in the middle.
export const task = backupTask({ sources: ['data'], out: 'out', level: 9, concurrency: 1 });
export const plugin = () =>
  pipeline(gulp.src('data/**', { encoding: false, read: false }), backup({ name: 'snap', level: 9, concurrency: 1 }), gulp.dest('out'));
`;

async function project(): Promise<string> {
  const dir = await tempDir();
  await mkdir(join(dir, 'node_modules'), { recursive: true });
  await symlink(ROOT, join(dir, 'node_modules/gulp-backup'));
  await symlink(join(ROOT, 'node_modules/gulp'), join(dir, 'node_modules/gulp'));
  await writeFile(join(dir, 'package.json'), '{ "type": "module" }');
  await writeFile(join(dir, 'gulpfile.mjs'), GULPFILE);
  await mkdir(join(dir, 'data'));
  for (let i = 0; i < 4; i++) await writeFile(join(dir, 'data', `part-${i}.bin`), pseudoRandomBytes(24 * 1024 * 1024, i + 1));
  return dir;
}

/** Files in `out` (recursively), once something has been written there. */
function written(out: string): string[] {
  return existsSync(out) ? (readdirSync(out, { recursive: true }) as string[]) : [];
}

describe('gulp: Ctrl-C and SIGTERM during a run', function () {
  this.timeout(120_000);
  let dir: string;
  before(async () => {
    dir = await project();
  });

  for (const [task, signal, started] of [
    ['task', 'SIGINT', (out: string) => written(out).some((name) => name.endsWith('.partial'))],
    ['plugin', 'SIGTERM', (out: string) => written(out).some((name) => name === 'snap.tar.gz' && statSync(join(out, name)).size > 0)],
  ] as const) {
    it(`${signal} during the ${task}: its files are removed, and the process ends by the signal`, async () => {
      const out = join(dir, 'out');
      const gulp = execa(process.execPath, [join(ROOT, 'node_modules/gulp/bin/gulp.js'), task], { cwd: dir, reject: false });
      while (!started(out) && gulp.exitCode === null) await new Promise((resolve) => setTimeout(resolve, 50));
      expect(gulp.exitCode, 'the run ended before it could be interrupted').to.equal(null);
      gulp.kill(signal);
      const result = await gulp;
      expect(result.signal, String(result.stdout) + String(result.stderr)).to.equal(signal);
      expect(String(result.stdout) + String(result.stderr)).to.match(new RegExp(`${signal}: cancelling`));
      expect(written(out)).to.deep.equal([]);
    });
  }
});
