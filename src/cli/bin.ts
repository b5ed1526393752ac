#!/usr/bin/env node
/** Process entry of the `gulp-backup` command. */
import { main } from './main.js';

// `gulp-backup ls … | head` closes the pipe early: that is the reader's choice, not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});

process.exitCode = await main(process.argv.slice(2));
