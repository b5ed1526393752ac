// gulp.src → gulp-tar → gulp-gzip → gulp.dest, the usual gulp recipe: node bench/anchors/gulp-tar-gzip.mjs CWD DIR OUTDIR
import { pipeline } from 'node:stream/promises';
import gulp from 'gulp';
import tar from 'gulp-tar';
import gzip from 'gulp-gzip';
const [cwd, dir, outDir] = process.argv.slice(2);
await pipeline(gulp.src(`${dir}/**`, { cwd, encoding: false, dot: true }), tar('archive.tar'), gzip({ gzipOptions: { level: 6 } }), gulp.dest(outDir));
