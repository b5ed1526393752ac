// Bundles the CLI's own modules into a few files (dist/command/), after tsc has built dist/.
// Node loads an ES module graph file by file: the ~70 modules of the CLI cost 30-40 ms of every
// run's start-up (`gulp-backup --version` 102 -> 68 ms on Node 24), as much as Node's own start.
// Dependencies stay imports (resolved from node_modules, as the library's are), and each command
// stays its own chunk, loaded only when run. The library (dist/index.js) is tsc's output as is.
import { build } from 'esbuild';

await build({
  entryPoints: ['src/cli/bin.ts'],
  outdir: 'dist/command',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20.19',
  packages: 'external',
  sourcemap: true,
  logLevel: 'warning',
});
