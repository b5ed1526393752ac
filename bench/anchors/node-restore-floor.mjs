/**
 * The least any Node.js program can do to restore a tar archive, timed as a tool of its own in
 * bench/restore.ts ("Node floor, tar already decompressed"): read an uncompressed tar in 4 MiB
 * chunks and, per entry, `mkdirSync` a folder or `openSync`/`writeSync`/`closeSync` a file, on
 * the main thread, as tar does. Less than any real restore: no decompression (the archive is
 * given as a plain .tar), no hash, no temporary name and rename, no mode, owner or time, no
 * checks of names, links or paths; pax and GNU long-name records are skipped. What is left once
 * the work gulp-backup adds is gone. Usage: node node-restore-floor.mjs ARCHIVE.tar TARGET
 */
import { closeSync, mkdirSync, openSync, readSync, writeSync } from 'node:fs';

const [archive, target] = process.argv.slice(2);
const CHUNK = 4 * 1024 * 1024;
const input = openSync(archive, 'r');
const buffer = Buffer.allocUnsafe(CHUNK);
let start = 0;
let end = 0;
let position = 0;
/** Makes at least `count` bytes (at most CHUNK) available from `start`; false at the archive's end. */
const have = (count) => {
  if (end - start >= count) return true;
  buffer.copy(buffer, 0, start, end);
  end -= start;
  start = 0;
  while (end < count) {
    const read = readSync(input, buffer, end, CHUNK - end, position);
    if (read === 0) return false;
    end += read;
    position += read;
  }
  return true;
};
const text = (from, length) => {
  const field = buffer.subarray(from, from + length);
  const nul = field.indexOf(0);
  return field.toString('utf8', 0, nul === -1 ? length : nul);
};

let files = 0;
while (have(512) && buffer[start] !== 0) {
  const size = parseInt(text(start + 124, 12), 8) || 0;
  const type = String.fromCharCode(buffer[start + 156] || 48);
  const prefix = text(start + 345, 155);
  const name = prefix ? `${prefix}/${text(start, 100)}` : text(start, 100);
  start += 512;
  const path = `${target}/${name}`;
  if (type === '5') mkdirSync(path, { recursive: true });
  const output = type === '0' ? openSync(path, 'w') : undefined;
  if (output !== undefined) files++;
  let left = size + ((512 - (size % 512)) % 512);
  let content = size;
  while (left > 0) {
    if (!have(Math.min(left, CHUNK))) throw new Error('archive ends inside an entry');
    const count = Math.min(left, end - start);
    if (output !== undefined && content > 0) writeSync(output, buffer, start, Math.min(count, content));
    content -= Math.min(count, content);
    start += count;
    left -= count;
  }
  if (output !== undefined) closeSync(output);
}
closeSync(input);
if (files === 0) process.exit(1);
