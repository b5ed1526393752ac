/**
 * The least any Node.js program can do for a zstd backup in gulp-backup's format, timed as a tool
 * of its own in bench/run.ts ("Node floor, zstd"): walk the tree with readdir, read every file
 * with openSync/fstatSync/readSync/closeSync straight into 4 MiB blocks (each file behind a
 * 512-byte header holding only its name, padded to 512), hand each block, transferred, to one of
 * `os.availableParallelism()` workers that takes the SHA-256 of the files in it and compresses it
 * with Node's zstd at level 3, and write the frames in order, hashing them for the archive's
 * checksum. No lstat, no manifest, no retries, no torn-read check, no files across blocks hashed:
 * what is left once gulp-backup's own work is gone. Usage: node node-zstd-floor.mjs TREE OUT_FILE
 */
import { createHash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync, readdirSync, writeSync, constants } from 'node:fs';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

const [tree, out] = process.argv.slice(2);
const BLOCK = 4 * 1024 * 1024;
const WORKER = `
const { parentPort } = require('node:worker_threads');
const zlib = require('node:zlib');
const crypto = require('node:crypto');
const { ZSTD_c_compressionLevel, ZSTD_c_checksumFlag, ZSTD_c_contentSizeFlag } = zlib.constants;
const params = { [ZSTD_c_compressionLevel]: 3, [ZSTD_c_checksumFlag]: 1, [ZSTD_c_contentSizeFlag]: 1 };
parentPort.on('message', ({ id, block, length, ranges }) => {
  const input = new Uint8Array(block, 0, length);
  const digests = ranges.map(([offset, size]) => crypto.createHash('sha256').update(input.subarray(offset, offset + size)).digest('hex'));
  const compressed = zlib.zstdCompressSync(input, { params, chunkSize: length + (length >> 8) + 1024, info: false });
  // Transferred whole, as gulp-backup's workers do (a cloned view would copy its whole ArrayBuffer).
  const output = compressed.byteOffset === 0 && compressed.buffer.byteLength > Buffer.poolSize ? compressed : new Uint8Array(compressed);
  parentPort.postMessage({ id, block, output: output.buffer, length: output.byteLength, digests }, [block, output.buffer]);
});`;

const workers = Array.from({ length: availableParallelism() }, () => new Worker(WORKER, { eval: true }));
const waiting = new Map();
for (const worker of workers) worker.on('message', (result) => waiting.get(result.id)(result));

const fd = openSync(out, 'w');
const archiveHash = createHash('sha256');
const inFlight = [];
const spare = [];
let blocks = 0;
let block = new Uint8Array(new ArrayBuffer(BLOCK));
let filled = 0;
let ranges = [];
let digests = 0;

const drain = async (limit) => {
  while (inFlight.length > limit) {
    const { output: whole, length, block: returned, digests: done } = await inFlight.shift();
    const output = new Uint8Array(whole, 0, length);
    spare.push(returned);
    digests += done.length;
    archiveHash.update(output);
    writeSync(fd, output);
  }
};
const cut = async () => {
  const id = blocks++;
  inFlight.push(new Promise((resolve) => waiting.set(id, resolve)));
  workers[id % workers.length].postMessage({ id, block: block.buffer, length: filled, ranges }, [block.buffer]);
  block = new Uint8Array(spare.pop() ?? new ArrayBuffer(BLOCK));
  filled = 0;
  ranges = [];
  await drain(workers.length * 2);
};
const room = async () => {
  if (filled === BLOCK) await cut();
  return BLOCK - filled;
};

const header = new Uint8Array(512);
const encoder = new TextEncoder();
const store = async (path) => {
  const file = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  const { size } = fstatSync(file);
  header.fill(0);
  encoder.encodeInto(path.slice(-100), header);
  await room();
  block.set(header, filled); // 4 MiB blocks are a multiple of 512: a header never straddles two
  filled += 512;
  if (filled + size <= BLOCK) ranges.push([filled, size]);
  let left = size;
  while (left > 0) {
    const wanted = Math.min(left, await room()); // before naming the block: a cut replaces it
    const count = readSync(file, block, filled, wanted, size - left);
    if (count === 0) break;
    filled += count;
    left -= count;
  }
  closeSync(file);
  const padding = (512 - (size % 512)) % 512;
  block.fill(0, filled, filled + padding);
  filled += padding;
};

const walk = async (folder) => {
  const entries = readdirSync(folder, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1));
  for (const entry of entries) {
    const path = `${folder}/${entry.name}`;
    if (entry.isDirectory()) await walk(path);
    else if (entry.isFile()) await store(path);
  }
};
await walk(tree);
if (filled > 0) await cut();
await drain(0);
closeSync(fd);
for (const worker of workers) await worker.terminate();
if (digests === 0 || archiveHash.digest('hex').length !== 64) process.exit(1);
