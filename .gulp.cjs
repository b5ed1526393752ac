// Lets gulp-cli load gulpfile.ts: tsx's require hook compiles TypeScript on the fly.
require('tsx/cjs');

module.exports = {};
