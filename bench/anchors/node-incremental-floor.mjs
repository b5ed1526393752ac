/**
 * The least any Node.js program can do for a no-change incremental run of gulp-backup's format,
 * timed as a tool of its own in bench/incremental.ts: start Node, walk the tree with readdir,
 * lstat every entry with nanosecond times (the fields change detection compares), read and hash
 * the parent's manifest (its SHA-256 goes into the child's header), and write the child's manifest
 * (every entry of the tree, here the parent's bytes copied unchanged) durably, hashed for its
 * checksum. No comparison, no JSON, no archive: what is left of gulp-backup's time once its own
 * work is gone. Usage: node node-incremental-floor.mjs TREE PARENT_MANIFEST OUT_FILE
 */
import { createHash } from 'node:crypto';
import { closeSync, fsyncSync, lstatSync, openSync, readFileSync, readdirSync, writeSync } from 'node:fs';

const [tree, parentManifest, out] = process.argv.slice(2);
const paths = [];
const walk = (folder) => {
  for (const entry of readdirSync(folder, { withFileTypes: true })) {
    const path = `${folder}/${entry.name}`;
    paths.push(path);
    if (entry.isDirectory()) walk(path);
  }
};
walk(tree);
paths.sort();
let files = 0;
for (const path of paths) if (lstatSync(path, { bigint: true }).isFile()) files++;
const manifest = readFileSync(parentManifest);
const parentSha256 = createHash('sha256').update(manifest).digest('hex');
const fd = openSync(out, 'w');
writeSync(fd, manifest);
fsyncSync(fd);
closeSync(fd);
const childSha256 = createHash('sha256').update(manifest).digest('hex');
if (files === 0 || parentSha256 !== childSha256) process.exit(1);
