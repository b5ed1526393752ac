/**
 * Side-by-side benchmark of whole processes on the deterministic corpora (bench/corpus.ts):
 * wall time, CPU time, peak RSS and output size, medians of --runs runs, with ratios to
 * `tar | pigz` taken in the same run (the machines are shared and noisy: compare ratios).
 *
 *   npm run build && npx tsx bench/run.ts [--corpus small|large|all] [--runs 3] [--only name,name] [--scale 1]
 *
 * Needs tar, gzip, pigz and GNU time (/usr/bin/time) on the PATH. Writes bench/.out/results-<corpus>.md.
 */
import { spawnSync } from 'node:child_process';
import { mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildLarge, buildSmall } from './corpus.js';

const BENCH = dirname(fileURLToPath(import.meta.url));
const ROOT = dirname(BENCH);
const OUT = join(BENCH, '.out');

interface Tool {
  name: string;
  /** Shell command; $CWD, $DIR and $OUT are set in its environment. */
  command: string;
}

const cores = availableParallelism();
const cli = `node ${join(ROOT, 'bin/gulp-backup.js')}`;
const TOOLS: Tool[] = [
  { name: 'tar | gzip -6', command: 'cd "$CWD" && tar -cf - "$DIR" | gzip -6 > "$OUT/archive.tar.gz"' },
  { name: `tar | pigz -6 -p${cores}`, command: `cd "$CWD" && tar -cf - "$DIR" | pigz -6 -p${cores} > "$OUT/archive.tar.gz"` },
  { name: 'node-tar c({gzip})', command: `node ${join(BENCH, 'anchors/node-tar.mjs')} "$CWD" "$DIR" "$OUT/archive.tar.gz"` },
  { name: 'gulp-tar + gulp-gzip', command: `node ${join(BENCH, 'anchors/gulp-tar-gzip.mjs')} "$CWD" "$DIR" "$OUT"` },
  { name: 'gulp-backup CLI', command: `${cli} create "$DIR" --cwd "$CWD" --out "$OUT" --name archive --dot --quiet` },
  // The same with libuv's pool cut to one thread: compression must not depend on it.
  { name: 'gulp-backup CLI, UV_THREADPOOL_SIZE=1', command: `UV_THREADPOOL_SIZE=1 ${cli} create "$DIR" --cwd "$CWD" --out "$OUT" --name archive --dot --quiet` },
  { name: 'gulp-backup CLI -j1', command: `${cli} create "$DIR" --cwd "$CWD" --out "$OUT" --name archive --dot --quiet --concurrency 1` },
  { name: 'gulp-backup plugin', command: `node ${join(BENCH, 'anchors/gulp-backup-plugin.mjs')} "$CWD" "$DIR" "$OUT"` },
];

interface Sample {
  wall: number;
  cpu: number;
  rssMb: number;
  bytes: number;
}

async function archiveSize(folder: string): Promise<number> {
  const names = (await readdir(folder)).filter((name) => /\.tar(\.gz)?(\.gz)?$/.test(name));
  let total = 0;
  for (const name of names) total += (await stat(join(folder, name))).size;
  return total;
}

async function measure(tool: Tool, cwd: string, dir: string): Promise<Sample> {
  const out = join(OUT, 'work');
  await rm(out, { recursive: true, force: true });
  await mkdir(out, { recursive: true });
  const timing = spawnSync('/usr/bin/time', ['-f', '%e %U %S %M', 'sh', '-c', tool.command], {
    env: { ...process.env, CWD: cwd, DIR: dir, OUT: out },
    stdio: ['ignore', 'ignore', 'pipe'],
    maxBuffer: 1 << 26,
  });
  if (timing.status !== 0) throw new Error(`${tool.name} failed: ${timing.stderr.toString()}`);
  return parseTime(timing.stderr.toString(), await archiveSize(out));
}

function parseTime(stderr: string, bytes: number): Sample {
  const last = stderr.trim().split('\n').at(-1)!;
  const [wall, user, system, rssKb] = last.split(' ').map(Number) as [number, number, number, number];
  return { wall, cpu: user + system, rssMb: rssKb / 1024, bytes };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function benchCorpus(corpus: 'small' | 'large', runs: number, only: string[] | undefined, scale: number): Promise<string> {
  const path = corpus === 'small' ? await buildSmall(scale) : await buildLarge(scale);
  const cwd = dirname(path);
  const dir = basename(path);
  const tools = only ? TOOLS.filter((tool) => only.some((name) => tool.name.includes(name))) : TOOLS;
  const results = new Map<string, Sample[]>();
  // Interleave the tools run by run, so that drift in machine load hits them all alike.
  for (let run = 0; run < runs; run++) {
    for (const tool of tools) {
      const sample = await measure(tool, cwd, dir);
      results.set(tool.name, [...(results.get(tool.name) ?? []), sample]);
      console.error(`${corpus} run ${run + 1}/${runs} ${tool.name}: ${sample.wall.toFixed(2)} s, ${sample.rssMb.toFixed(0)} MB`);
    }
  }
  const medians = new Map([...results].map(([name, samples]) => [name, {
    wall: median(samples.map((s) => s.wall)),
    cpu: median(samples.map((s) => s.cpu)),
    rssMb: median(samples.map((s) => s.rssMb)),
    bytes: median(samples.map((s) => s.bytes)),
  }]));
  const pigz = [...medians].find(([name]) => name.includes('pigz'))?.[1];
  const gzip = [...medians].find(([name]) => name.startsWith('tar | gzip'))?.[1];
  const lines = [
    `### ${corpus} corpus (${dir}), ${cores} cores, median of ${runs}`,
    '',
    '| tool | wall s | × pigz wall | CPU s | peak RSS MB | output MB | × gzip size |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const [name, m] of medians) {
    lines.push(
      `| ${name.replaceAll('|', '\\|')} | ${m.wall.toFixed(2)} | ${pigz ? (m.wall / pigz.wall).toFixed(2) : '–'} | ${m.cpu.toFixed(1)} | ${m.rssMb.toFixed(0)} | ${(m.bytes / 1e6).toFixed(1)} | ${gzip ? (m.bytes / gzip.bytes).toFixed(4) : '–'} |`,
    );
  }
  return lines.join('\n');
}

const args = process.argv.slice(2);
const option = (name: string) => {
  const index = args.indexOf(`--${name}`);
  return index >= 0 ? args[index + 1] : undefined;
};
const which = option('corpus') ?? 'all';
const runs = Number(option('runs') ?? 3);
const scale = Number(option('scale') ?? 1);
const only = option('only')?.split(',');
await mkdir(OUT, { recursive: true });
const tables: string[] = [];
for (const corpus of ['small', 'large'] as const) {
  if (which !== 'all' && which !== corpus) continue;
  const table = await benchCorpus(corpus, runs, only, scale);
  tables.push(table);
  await writeFile(join(OUT, `results-${corpus}.md`), `${table}\n`);
  console.log(`${table}\n`);
}
await rm(join(OUT, 'work'), { recursive: true, force: true });
