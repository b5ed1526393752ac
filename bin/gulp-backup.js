#!/usr/bin/env node
// The installed command: the compiled CLI (`npm run build`, which `npm ci` runs through `prepare`).
import '../dist/cli/bin.js';
