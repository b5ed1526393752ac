/**
 * `npx gulp backup` backs up this repository (sources, tests, docs; not node_modules, build output
 * or earlier backups) into backups/, with progress and a summary. Copy the pattern into your own
 * gulpfile: `import { backupTask } from 'gulp-backup'`.
 */
import { backupTask } from './src/index.js';

export const backup = backupTask({
  sources: ['.'],
  out: 'backups',
  dot: true,
  exclude: ['node_modules', '.git', 'backups', 'dist', '.many-cores', 'bench/.corpus', 'bench/.out'],
});

export default backup;
