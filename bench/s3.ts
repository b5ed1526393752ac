/**
 * Backups to object storage, side by side with the same backup to a local folder: a local S3
 * protocol server (s3rver, in its own process, storing on the same disk as the folder), whole CLI
 * processes, wall time, CPU and peak RSS of the gulp-backup process, medians of --runs runs; then
 * restores from both, and the bytes fetched to restore one 1 MiB file of the 1 GB backup.
 *
 *   npm run build && npx tsx bench/s3.ts [--corpus large|small] [--runs 3] [--node PATH]
 *
 * Writes bench/.out/results-s3-<corpus>.md.
 */
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { buildLarge, buildSmall } from './corpus.js';
import { BENCH, OUT, ROOT, compare, gulpBackupCli, option, table, type Tool } from './measure.js';

const cli = gulpBackupCli();
const cores = availableParallelism();
const corpus = option('corpus') ?? 'large';
const runs = Number(option('runs') ?? 3);

await mkdir(OUT, { recursive: true });
const path = corpus === 'small' ? await buildSmall() : await buildLarge();
const CWD = dirname(path);
const DIR = basename(path);
// The 1 MiB file of the random-access measurement, beside the corpus.
const ONE = 'one-mib.bin';
execFileSync('sh', ['-c', `head -c 1048576 /dev/urandom > "${join(CWD, ONE)}"`]);

const data = join(OUT, 's3-data');
await rm(data, { recursive: true, force: true });
await mkdir(data, { recursive: true });
const server = spawn('node', [join(BENCH, 'anchors/s3-server.mjs'), data], { stdio: ['ignore', 'pipe', 'inherit'], cwd: ROOT });
const [endpoint] = (await once(createInterface({ input: server.stdout! }), 'line')) as [string];
const env = {
  CWD,
  DIR,
  AWS_ACCESS_KEY_ID: 'S3RVER',
  AWS_SECRET_ACCESS_KEY: 'S3RVER',
  AWS_ENDPOINT_URL: endpoint,
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
};
Object.assign(process.env, env);

try {
  // Each run writes a fresh prefix; the previous run's objects are removed first (not timed).
  const clearBucket = `rm -rf "${data}/bench/run"`;
  const backups: Tool[] = [
    { name: `tar | pigz -6 -p${cores}`, command: `cd "$CWD" && tar -cf - "$DIR" | pigz -6 -p${cores} > "$OUT/archive.tar.gz"` },
    { name: 'gulp-backup → folder', command: `${cli} create "$DIR" --cwd "$CWD" --out "$OUT" --name archive --quiet` },
    { name: 'gulp-backup → S3', command: `${cli} create "$DIR" --cwd "$CWD" --out s3://bench/run --name archive --quiet`, prepare: clearBucket },
  ];
  const backupMedians = await compare(`backup to S3, ${corpus}`, backups, runs, join(OUT, 'work'), env);
  const backupTable = table(`### Backup to S3 (s3rver on 127.0.0.1), ${corpus} corpus, ${cores} cores, median of ${runs}`, backupMedians, 'gulp-backup → folder', false);

  // Sources for the restores: the same tree (and the 1 MiB file) backed up once to each place.
  const local = join(OUT, 's3-local');
  await rm(local, { recursive: true, force: true });
  execFileSync('sh', ['-c', `${cli} create "${DIR}" "${ONE}" --cwd "${CWD}" --out "${local}" --name src --quiet`], { env: process.env });
  execFileSync('sh', ['-c', `${cli} create "${DIR}" "${ONE}" --cwd "${CWD}" --out s3://bench/src --name src --quiet`], { env: process.env });
  const restores: Tool[] = [
    { name: 'tar -xzf (folder)', command: `tar -xzf "${join(local, 'src.tar.gz')}" -C "$OUT"` },
    { name: 'gulp-backup restore ← folder', command: `${cli} restore "${join(local, 'src.manifest.jsonl')}" --to "$OUT" --quiet` },
    { name: 'gulp-backup restore ← S3', command: `${cli} restore s3://bench/src/src.manifest.jsonl --to "$OUT" --quiet` },
    { name: 'gulp-backup verify ← folder', command: `${cli} verify "${join(local, 'src.manifest.jsonl')}" --quiet` },
    { name: 'gulp-backup verify ← S3', command: `${cli} verify s3://bench/src/src.manifest.jsonl --quiet` },
  ];
  const restoreMedians = await compare(`restore from S3, ${corpus}`, restores, runs, join(OUT, 'work'), env);
  const restoreTable = table(`### Restore and verify from S3, ${corpus} corpus, ${cores} cores, median of ${runs}`, restoreMedians, 'gulp-backup restore ← folder', false);

  // Random access: one 1 MiB file out of the whole backup.
  const target = join(OUT, 'work', 'one');
  await rm(target, { recursive: true, force: true });
  const one = JSON.parse(execFileSync('sh', ['-c', `${cli} restore s3://bench/src/src.manifest.jsonl --to "${target}" --include ${ONE} --json`], { env: process.env }).toString()) as {
    blocksRead: number;
    blocksTotal: number;
    store: { requests: number; bytesRead: number };
    elapsedMs: number;
  };
  const manifestBytes = (await import('node:fs')).statSync(join(local, 'src.manifest.jsonl')).size;
  execFileSync('cmp', [join(target, ONE), join(CWD, ONE)]);
  const randomAccess =
    `Restoring \`${ONE}\` (1 MiB) from the S3 backup of the ${corpus} corpus: ${one.blocksRead} of ${one.blocksTotal} blocks, ` +
    `${(one.store.bytesRead / 1048576).toFixed(2)} MiB fetched from the server in ${one.store.requests} requests ` +
    `(the manifest is ${(manifestBytes / 1024).toFixed(1)} KiB of it), ${(one.elapsedMs / 1000).toFixed(2)} s; the file compared equal.`;

  const text = `${backupTable}\n\n${restoreTable}\n\n${randomAccess}\n`;
  await writeFile(join(OUT, `results-s3-${corpus}.md`), text);
  console.log(text);
} finally {
  server.kill();
  await rm(data, { recursive: true, force: true });
  await rm(join(CWD, ONE), { force: true });
}
