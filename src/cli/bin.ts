#!/usr/bin/env node
/** Process entry of the `gulp-backup` command. */
import { main } from './main.js';

process.exitCode = await main(process.argv.slice(2));
