/**
 * Backup, side by side, as whole processes on the deterministic corpora (bench/corpus.ts): wall
 * time, CPU time, peak RSS and output size, medians of --runs runs, with ratios to `tar | pigz`
 * taken in the same run (the machines are shared and noisy: compare ratios, not seconds).
 *
 *   npm run build && npx tsx bench/run.ts [--corpus small|large|mixed|all] [--runs 3] [--only name,name] [--scale 1] [--cold]
 *
 * --cold drops the page cache before every run (as root): reads come from the disk, which is where
 * `--read-concurrency` (files read at once) matters. --node PATH runs gulp-backup under that Node.js
 * (the zstd rows need 22.15 or later).
 *
 * Needs tar, gzip, pigz, zstd and GNU time (/usr/bin/time). Writes bench/.out/results-<corpus>.md.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { buildLarge, buildMixed, buildSmall } from './corpus.js';
import { BENCH, OUT, compare, gulpBackupCli, option, table, type Tool } from './measure.js';

const cores = availableParallelism();
const node = option('node') ?? 'node';
const cli = gulpBackupCli();
const PIGZ = `tar | pigz -6 -p${cores}`;

const TOOLS: Tool[] = [
  { name: 'tar | gzip -6', command: 'cd "$CWD" && tar -cf - "$DIR" | gzip -6 > "$OUT/archive.tar.gz"' },
  { name: PIGZ, command: `cd "$CWD" && tar -cf - "$DIR" | pigz -6 -p${cores} > "$OUT/archive.tar.gz"` },
  { name: `tar | zstd -3 -T${cores}`, command: `cd "$CWD" && tar -cf - "$DIR" | zstd -q -3 -T${cores} > "$OUT/archive.tar.zst"` },
  { name: 'node-tar c({gzip})', command: `node ${join(BENCH, 'anchors/node-tar.mjs')} "$CWD" "$DIR" "$OUT/archive.tar.gz"` },
  { name: 'gulp-tar + gulp-gzip', command: `node ${join(BENCH, 'anchors/gulp-tar-gzip.mjs')} "$CWD" "$DIR" "$OUT"` },
  { name: 'gulp-backup CLI', command: `${cli} create "$DIR" --cwd "$CWD" --out "$OUT" --name archive --dot --quiet` },
  // The same with libuv's pool cut to one thread: compression must not depend on it.
  { name: 'gulp-backup CLI --codec zstd', command: `${cli} create "$DIR" --cwd "$CWD" --out "$OUT" --name archive --dot --quiet --codec zstd` },
  // What any Node.js program costs for a zstd backup before gulp-backup's own work (anchors/node-zstd-floor.mjs).
  { name: 'Node floor, zstd (no lstat, manifest or checks)', command: `cd "$CWD" && ${node} ${join(BENCH, 'anchors/node-zstd-floor.mjs')} "$DIR" "$OUT/archive.tar.zst"` },
  { name: 'gulp-backup CLI, UV_THREADPOOL_SIZE=1', command: `UV_THREADPOOL_SIZE=1 ${cli} create "$DIR" --cwd "$CWD" --out "$OUT" --name archive --dot --quiet` },
  { name: 'gulp-backup CLI -j1', command: `${cli} create "$DIR" --cwd "$CWD" --out "$OUT" --name archive --dot --quiet --concurrency 1` },
  // Memory limits: peak RSS should stay under the limit plus a fixed overhead.
  { name: 'gulp-backup CLI --max-memory 2MB', command: `${cli} create "$DIR" --cwd "$CWD" --out "$OUT" --name archive --dot --quiet --max-memory 2MB` },
  { name: 'gulp-backup CLI --max-memory 64MB -j8', command: `${cli} create "$DIR" --cwd "$CWD" --out "$OUT" --name archive --dot --quiet --max-memory 64MB -j 8` },
  { name: 'gulp-backup CLI --read-concurrency 8', command: `${cli} create "$DIR" --cwd "$CWD" --out "$OUT" --name archive --dot --quiet --read-concurrency 8` },
  { name: 'gulp-backup CLI --read-concurrency 32', command: `${cli} create "$DIR" --cwd "$CWD" --out "$OUT" --name archive --dot --quiet --read-concurrency 32` },
  { name: 'gulp-backup plugin', command: `${node} ${join(BENCH, 'anchors/gulp-backup-plugin.mjs')} "$CWD" "$DIR" "$OUT"` },
];

const which = option('corpus') ?? 'all';
const runs = Number(option('runs') ?? 3);
const scale = Number(option('scale') ?? 1);
const only = option('only')?.split(',');
const cold = process.argv.includes('--cold');
const DROP_CACHES = 'sync && echo 3 > /proc/sys/vm/drop_caches';
await mkdir(OUT, { recursive: true });
for (const corpus of ['small', 'large', 'mixed'] as const) {
  if (which !== 'all' && which !== corpus) continue;
  const path = corpus === 'small' ? await buildSmall(scale) : corpus === 'large' ? await buildLarge(scale) : await buildMixed(scale);
  // A name that is a tool's whole name picks that tool alone; otherwise every tool whose name holds it.
  const chosen = only ? TOOLS.filter((tool) => only.some((name) => tool.name === name || (!TOOLS.some((t) => t.name === name) && tool.name.includes(name)))) : TOOLS;
  const tools = cold ? chosen.map((tool) => ({ ...tool, prepare: DROP_CACHES })) : chosen;
  const medians = await compare(`backup ${corpus}`, tools, runs, join(OUT, 'work'), { CWD: dirname(path), DIR: basename(path) });
  const text = table(`### Backup, ${corpus} corpus (${basename(path)}), ${cores} cores, ${cold ? 'cold page cache, ' : ''}median of ${runs}`, medians, PIGZ, true);
  const gzip = medians.get('tar | gzip -6');
  const sizes = gzip ? `\n\nOutput size relative to \`gzip -6\`: ${[...medians].map(([name, m]) => `${name} ${(m.bytes / gzip.bytes).toFixed(4)}`).join(', ')}.` : '';
  await writeFile(join(OUT, `results-${corpus}${cold ? '-cold' : ''}.md`), `${text}${sizes}\n`);
  console.log(`${text}${sizes}\n`);
}
await rm(join(OUT, 'work'), { recursive: true, force: true });
