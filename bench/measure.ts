/** Timing whole processes with GNU time, and the side-by-side table, shared by the benchmarks. */
import { spawnSync } from 'node:child_process';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** bench/, the repository, and bench/.out where results and work folders go. */
export const BENCH = dirname(fileURLToPath(import.meta.url));
export const ROOT = dirname(BENCH);
export const OUT = join(BENCH, '.out');

/** The gulp-backup command line, under `--node PATH` when given. */
export function gulpBackupCli(): string {
  return `${option('node') ?? 'node'} ${join(ROOT, 'bin/gulp-backup.js')}`;
}

export interface Tool {
  name: string;
  /** Shell command; the environment holds the variables the benchmark sets ($CWD, $DIR, $OUT…). */
  command: string;
  /** Shell command run before each timed run, not timed (dropping the page cache, say). */
  prepare?: string;
}

export interface Sample {
  wall: number;
  cpu: number;
  rssMb: number;
  bytes: number;
}

/** Total size of the archives in a folder (what a backup tool wrote). */
export async function archiveSize(folder: string): Promise<number> {
  const names = (await readdir(folder)).filter((name) => /\.tar(\.gz|\.zst)?$/.test(name));
  let total = 0;
  for (const name of names) total += (await stat(join(folder, name))).size;
  return total;
}

/** Runs `tool` in a fresh `work` folder ($OUT) under /usr/bin/time. */
export async function measure(tool: Tool, work: string, env: Record<string, string>, sizeOf = archiveSize): Promise<Sample> {
  await rm(work, { recursive: true, force: true });
  await mkdir(work, { recursive: true });
  // Flush the previous run's dirty pages first, so that their writeback is not charged to this run.
  spawnSync('sync');
  if (tool.prepare) {
    const prepared = spawnSync('sh', ['-c', tool.prepare], { env: { ...process.env, ...env, OUT: work } });
    if (prepared.status !== 0) throw new Error(`${tool.name}: preparing failed: ${prepared.stderr.toString()}`);
  }
  const timing = spawnSync('/usr/bin/time', ['-f', '%e %U %S %M', 'sh', '-c', tool.command], {
    env: { ...process.env, ...env, OUT: work },
    stdio: ['ignore', 'ignore', 'pipe'],
    maxBuffer: 1 << 26,
  });
  if (timing.status !== 0) throw new Error(`${tool.name} failed: ${timing.stderr.toString()}`);
  const last = timing.stderr.toString().trim().split('\n').at(-1)!;
  const [wall, user, system, rssKb] = last.split(' ').map(Number) as [number, number, number, number];
  return { wall, cpu: user + system, rssMb: rssKb / 1024, bytes: await sizeOf(work) };
}

/** `--name value` from the command line. */
export function option(name: string): string | undefined {
  const args = process.argv.slice(2);
  const index = args.indexOf(`--${name}`);
  return index >= 0 ? args[index + 1] : undefined;
}

export const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** Runs every tool `runs` times, interleaved run by run so that drift in machine load hits them all alike. */
export async function compare(label: string, tools: Tool[], runs: number, work: string, env: Record<string, string>): Promise<Map<string, Sample>> {
  const results = new Map<string, Sample[]>();
  for (let run = 0; run < runs; run++) {
    for (const tool of tools) {
      const sample = await measure(tool, work, env);
      results.set(tool.name, [...(results.get(tool.name) ?? []), sample]);
      console.error(`${label} run ${run + 1}/${runs} ${tool.name}: ${sample.wall.toFixed(2)} s, ${sample.rssMb.toFixed(0)} MB`);
    }
  }
  return new Map(
    [...results].map(([name, samples]) => [
      name,
      {
        wall: median(samples.map((s) => s.wall)),
        cpu: median(samples.map((s) => s.cpu)),
        rssMb: median(samples.map((s) => s.rssMb)),
        bytes: median(samples.map((s) => s.bytes)),
      },
    ]),
  );
}

/** A markdown table with wall-time ratios to the reference tool. */
export function table(title: string, medians: Map<string, Sample>, reference: string, withSize: boolean): string {
  const base = medians.get(reference);
  const lines = [
    title,
    '',
    `| tool | wall s | × ${reference.replaceAll('|', '\\|')} | CPU s | peak RSS MB |${withSize ? ' output MB |' : ''}`,
    `| --- | ---: | ---: | ---: | ---: |${withSize ? ' ---: |' : ''}`,
  ];
  for (const [name, m] of medians) {
    lines.push(
      `| ${name.replaceAll('|', '\\|')} | ${m.wall.toFixed(2)} | ${base ? (m.wall / base.wall).toFixed(2) : '–'} | ${m.cpu.toFixed(1)} | ${m.rssMb.toFixed(0)} |${withSize ? ` ${(m.bytes / 1e6).toFixed(1)} |` : ''}`,
    );
  }
  return lines.join('\n');
}
