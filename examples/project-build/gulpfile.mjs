// A project build that snapshots dist/ before `build` overwrites it: `gulp` = backup, then build.
// The first run makes a full backup, the next ones incremental backups that store only the files
// the last build changed (a new full one every 7 runs). `gulp rollback` puts the last snapshot back
// (delete: files a later build added go too; what lies outside dist/ is never touched).
import gulp from 'gulp';
import { backupTask, restoreTask, verifyTask } from 'gulp-backup';
import { mkdir, writeFile } from 'node:fs/promises';

// allowEmpty: on a fresh clone there is no dist/ yet, and the first run has nothing to snapshot.
export const backup = backupTask({ sources: ['dist'], out: 'backups', dot: true, kind: 'auto', fullEvery: 7, allowEmpty: true });

export async function build() {
  await mkdir('dist', { recursive: true });
  await writeFile('dist/app.js', `console.log(${JSON.stringify(new Date().toISOString())});\n`);
}

export const verify = verifyTask('backups');
export const rollback = restoreTask('backups', { to: '.', overwrite: true, delete: true });

export default gulp.series(backup, build);
