/**
 * `npx gulp backup` backs up this repository (sources, tests, docs; not node_modules, build output
 * or earlier backups) into backups/, with progress and a summary: a full backup first, then
 * incremental ones that read only what changed (backupTask's `kind: 'auto'`, a new full backup
 * every 10 runs or 7 days); `npx gulp verify` checks the
 * newest backup there, and `npx gulp restore` restores it into restored/. Copy the pattern into
 * your own gulpfile: `import { backupTask, verifyTask, restoreTask } from 'gulp-backup'`.
 */
import { backupTask, restoreTask, verifyTask } from './src/index.js';

export const backup = backupTask({
  sources: ['.'],
  out: 'backups',
  dot: true,
  // What git ignores (node_modules, dist, backups, restored, the bench corpus), and git's own folder.
  exclude: ['.git', '.many-cores'],
  excludeFrom: '.gitignore',
});

export const verify = verifyTask('backups');

// overwrite: a second `npx gulp restore` replaces what the first one restored.
export const restore = restoreTask('backups', { to: 'restored', overwrite: true });

export default backup;
