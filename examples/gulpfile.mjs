// An example gulpfile for a project that builds into dist/: `gulp backup` snapshots the sources
// with the engine's own scan, `gulp snapshotDist` backs up the built files through a gulp pipeline.
// In your project, import from 'gulp-backup' instead of the relative path.
import gulp from 'gulp';
import { backup, backupTask } from '../dist/index.js';

export const backupSources = backupTask({
  sources: ['src', 'assets'],
  out: 'backups',
  exclude: ['*.log', 'node_modules'],
});

export const snapshotDist = () =>
  gulp
    // encoding: false keeps binary files intact; read: false lets the plugin read in bounded memory.
    .src('dist/**', { encoding: false, read: false, resolveSymlinks: false, dot: true })
    .pipe(backup({ name: `dist-${new Date().toISOString().slice(0, 10)}`, level: 6 }))
    .pipe(gulp.dest('backups'));

export default backupSources;
