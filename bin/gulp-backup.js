#!/usr/bin/env node
// The installed command: the CLI as scripts/bundle-cli.mjs bundles it (`npm run build`, which `npm pack` runs first).
import '../dist/command/bin.js';
