// gulp.src (read: false) → gulp-backup's backup() → gulp.dest: node bench/anchors/gulp-backup-plugin.mjs CWD DIR OUTDIR
import { pipeline } from 'node:stream/promises';
import gulp from 'gulp';
import { backup } from '../../dist/index.js';
const [cwd, dir, outDir] = process.argv.slice(2);
await pipeline(gulp.src(`${dir}/**`, { cwd, read: false, encoding: false, dot: true, resolveSymlinks: false }), backup({ name: 'archive' }), gulp.dest(outDir));
