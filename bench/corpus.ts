/**
 * Builds the deterministic benchmark corpora under bench/.corpus/ (seeded, so every run and every
 * machine gets the same bytes):
 *   small/  ≈20,000 mixed files, ≈300 MB: source-like text, JSON, minified JS, some binary
 *   large/  ≈1 GB in a few files: compressible text, incompressible random, mostly zeros
 *   mixed/  ≈200 MB as a real project tree: an 80 MB log, 40 MB of random bytes, 16 MB of zeros,
 *           and 5,600 small files (≈61 MB) in deep folders (issue 12's tree)
 * Usage: tsx bench/corpus.ts [small|large|all] [--scale 0.1]
 */
import { mkdir, writeFile, stat } from 'node:fs/promises';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';

export const CORPUS_ROOT = new URL('./.corpus/', import.meta.url).pathname;

/** xorshift32: fast, seeded, good enough for test data. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

const WORDS =
  'const let function return import export from async await if else for while class extends new this null undefined true false string number boolean interface type value result error options path file data buffer stream backup archive manifest entry block offset length size hash sha256 gzip level concurrency worker pool promise resolve reject module default public private static'.split(
    ' ',
  );

/** A pool of source-like text; files take slices of it with variations. */
function textPool(random: () => number, size: number): Buffer {
  const parts: string[] = [];
  let length = 0;
  while (length < size) {
    const indent = '  '.repeat(random() % 4);
    let line = indent;
    const words = 3 + (random() % 9);
    for (let i = 0; i < words; i++) {
      line += WORDS[random() % WORDS.length]! + (random() % 5 === 0 ? `${random() % 1000}` : '') + (i + 1 < words ? ' ' : '');
    }
    line += random() % 3 === 0 ? ';\n' : ' {\n';
    parts.push(line);
    length += line.length;
  }
  return Buffer.from(parts.join('')).subarray(0, size);
}

function randomBytes(random: () => number, size: number): Buffer {
  const buffer = Buffer.allocUnsafe(size);
  const words = new Uint32Array(buffer.buffer, buffer.byteOffset, Math.floor(size / 4));
  for (let i = 0; i < words.length; i++) words[i] = random();
  for (let i = words.length * 4; i < size; i++) buffer[i] = random() & 0xff;
  return buffer;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

export async function buildSmall(scale = 1): Promise<string> {
  const root = join(CORPUS_ROOT, scale === 1 ? 'small' : `small-${scale}`);
  if (await exists(join(root, '.complete'))) return root;
  const random = rng(20261128);
  const pool = textPool(random, 8 * 1024 * 1024);
  const files = Math.round(20000 * scale);
  for (let i = 0; i < files; i++) {
    const dir = join(root, `pkg${i % 40}`, `mod${(i >> 3) % 25}`);
    if (i < 1000) await mkdir(dir, { recursive: true });
    const kind = random() % 10;
    // Sizes: mostly a few KB, a tail up to ~200 KB: mean ≈ 15 KB.
    const size = Math.min(400_000, Math.floor(((random() % 1000) / 1000) ** 3 * 60_000) + (random() % 4000));
    let data: Buffer;
    if (kind < 7) {
      const start = random() % (pool.length - size - 1);
      data = Buffer.from(pool.subarray(start, start + size));
      data[random() % Math.max(1, size)] = 0x41 + (i % 26); // no two files alike
    } else if (kind < 9) {
      data = Buffer.from(JSON.stringify(Array.from({ length: Math.ceil(size / 40) }, (_, n) => ({ id: n + i, name: WORDS[random() % WORDS.length], v: random() % 100000 }))).slice(0, size));
    } else {
      data = randomBytes(random, size);
    }
    await writeFile(join(dir, `file${i}.${['ts', 'js', 'json', 'md', 'bin'][kind % 5]}`), data);
  }
  await writeFile(join(root, '.complete'), '');
  return root;
}

export async function buildLarge(scale = 1): Promise<string> {
  const root = join(CORPUS_ROOT, scale === 1 ? 'large' : `large-${scale}`);
  if (await exists(join(root, '.complete'))) return root;
  await mkdir(root, { recursive: true });
  const random = rng(424242);
  const pool = textPool(random, 16 * 1024 * 1024);
  const mib = 1024 * 1024;
  const plan: Array<[string, number, (n: number) => Buffer]> = [
    ['text-1.log', 200, () => Buffer.from(pool.subarray(random() % (8 * mib), random() % (8 * mib) + 8 * mib).subarray(0, mib))],
    ['text-2.log', 200, () => Buffer.from(pool.subarray(random() % (8 * mib)).subarray(0, mib))],
    ['random-1.bin', 150, () => randomBytes(random, mib)],
    ['random-2.bin', 150, () => randomBytes(random, mib)],
    ['sparse-1.img', 150, (n) => (n % 16 === 0 ? randomBytes(random, mib) : Buffer.alloc(mib))],
    ['zeros-1.img', 150, () => Buffer.alloc(mib)],
  ];
  for (const [name, sizeMib, chunk] of plan) await writeMiBs(join(root, name), Math.max(1, Math.round(sizeMib * scale)), chunk);
  await writeFile(join(root, '.complete'), '');
  return root;
}

/** A file of `count` MiB, each from `chunk` (a short chunk is padded with spaces). */
async function writeMiBs(path: string, count: number, chunk: (n: number) => Buffer): Promise<void> {
  const mib = 1024 * 1024;
  const out = createWriteStream(path);
  for (let n = 0; n < count; n++) {
    const data = chunk(n);
    if (!out.write(data.length === mib ? data : Buffer.concat([data, Buffer.alloc(mib - data.length, 0x20)]))) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

export async function buildMixed(scale = 1): Promise<string> {
  const root = join(CORPUS_ROOT, scale === 1 ? 'mixed' : `mixed-${scale}`);
  if (await exists(join(root, '.complete'))) return root;
  await mkdir(root, { recursive: true });
  const random = rng(20261130);
  const pool = textPool(random, 8 * 1024 * 1024);
  const mib = 1024 * 1024;
  const big: Array<[string, number, () => Buffer]> = [
    ['logs/app.log', 80, () => Buffer.from(pool.subarray(random() % (7 * mib)).subarray(0, mib))],
    ['assets/blob.bin', 40, () => randomBytes(random, mib)],
    ['assets/empty.img', 16, () => Buffer.alloc(mib)],
  ];
  for (const [name, sizeMib, chunk] of big) {
    await mkdir(join(root, name, '..'), { recursive: true });
    await writeMiBs(join(root, name), Math.max(1, Math.round(sizeMib * scale)), chunk);
  }
  // Small files, ≈11 KB on average, five to eight folders deep.
  const files = Math.round(5600 * scale);
  for (let i = 0; i < files; i++) {
    const depth = 5 + (i % 4);
    const dir = join(root, 'src', ...Array.from({ length: depth }, (_, level) => `d${level}-${(i >> (level + 2)) % 6}`));
    await mkdir(dir, { recursive: true });
    const size = 200 + (random() % 21_600);
    const start = random() % (pool.length - size - 1);
    const data = i % 10 === 9 ? randomBytes(random, size) : Buffer.from(pool.subarray(start, start + size));
    await writeFile(join(dir, `f${i}.${['ts', 'js', 'json', 'css', 'png'][i % 5]}`), data);
  }
  await writeFile(join(root, '.complete'), '');
  return root;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const which = process.argv[2] ?? 'all';
  const scaleIndex = process.argv.indexOf('--scale');
  const scale = scaleIndex > 0 ? Number(process.argv[scaleIndex + 1]) : 1;
  if (which === 'small' || which === 'all') console.log(await buildSmall(scale));
  if (which === 'large' || which === 'all') console.log(await buildLarge(scale));
  if (which === 'mixed' || which === 'all') console.log(await buildMixed(scale));
}
