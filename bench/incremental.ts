/**
 * Incremental backups of the small-files corpus (≈ 20,000 files), side by side with GNU tar's
 * --listed-incremental, as whole processes: a run where nothing changed, then a run after 1% of
 * the files changed (each rewritten in place with its own bytes reversed: same size, as compressible). Each tool builds on
 * its own full backup, made once before the timed runs; GNU tar's snapshot file is copied into
 * place inside its timed command (a 1 MB copy), since tar rewrites it.
 *
 *   npm run build && npx tsx bench/incremental.ts [--runs 5] [--node PATH]
 *
 * Reported: wall time (median, same-run ratio to GNU tar), the archive's size next to the full
 * one's, and gulp-backup's own counter of file content read (0 when nothing changed). Two rows
 * for scale: Node's start-up alone, and the floor of any Node program for this format
 * (anchors/node-incremental-floor.mjs: walk, lstat, parent manifest hashed, child's written).
 */
import { execFileSync } from 'node:child_process';
import { closeSync, openSync, readFileSync, readdirSync, writeSync } from 'node:fs';
import { mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { buildSmall } from './corpus.js';
import { BENCH, ROOT, compare, gulpBackupCli, option, table, type Tool } from './measure.js';

const WORK = join(BENCH, '.out', 'incremental');
const BIN = join(ROOT, 'bin/gulp-backup.js');
const runs = Number(option('runs') ?? 5);
const NODE = option('node') ?? 'node';

const TOOLS: Tool[] = [
  { name: 'GNU tar --listed-incremental -z', command: 'cd "$WORK" && cp base/snap "$OUT/snap" && tar --listed-incremental="$OUT/snap" -czf "$OUT/inc.tar.gz" tree' },
  { name: 'gulp-backup create --incremental', command: `cd "$WORK" && ${gulpBackupCli()} create tree -o "$OUT" --since base/full.manifest.jsonl --incremental -q` },
  { name: 'node -e 0 (Node start-up alone)', command: `${NODE} -e 0` },
  // Walk, lstat, hash the parent's manifest, write the child's: what any Node program must do.
  { name: 'Node floor (walk + lstat + manifest copy)', command: `cd "$WORK" && ${NODE} "${join(BENCH, 'anchors/node-incremental-floor.mjs')}" tree base/full.manifest.jsonl "$OUT/floor.manifest.jsonl"` },
];

/** Every file of the tree, sorted, for a deterministic choice of the 1% that change. */
function filesOf(folder: string, prefix = ''): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(join(folder, prefix), { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const path = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) found.push(...filesOf(folder, path));
    else if (entry.isFile() && !entry.name.startsWith('.')) found.push(path);
  }
  return found;
}

/** Rewrites every 100th file in place with other bytes of the same length (its own, reversed). */
function changeOnePercent(tree: string): { files: number; bytes: number } {
  let files = 0;
  let bytes = 0;
  for (const [i, path] of filesOf(tree).entries()) {
    if (i % 100 !== 0) continue;
    const full = join(tree, path);
    // The same bytes backwards: as compressible as before, but other content.
    const data = readFileSync(full).reverse();
    const size = data.length;
    const fd = openSync(full, 'r+');
    writeSync(fd, data, 0, size, 0);
    closeSync(fd);
    files++;
    bytes += size;
  }
  return { files, bytes };
}

/** gulp-backup's own statistics for one more run, to show what it read and stored. */
function gulpBackupCounters(out: string): { bytesRead: number; storedFiles: number; unchangedFiles: number; archiveBytes: number } {
  const lines = execFileSync('node', [BIN, 'create', 'tree', '-o', out, '--since', 'base/full.manifest.jsonl', '--incremental', '--json', '-q'], { cwd: WORK })
    .toString()
    .trim()
    .split('\n');
  const result = JSON.parse(lines.at(-1)!) as { statistics: { bytesRead: number; storedFiles: number; unchangedFiles: number; archiveBytes: number } };
  return result.statistics;
}

const corpus = await buildSmall();
await rm(WORK, { recursive: true, force: true });
await mkdir(join(WORK, 'base'), { recursive: true });
execFileSync('cp', ['-a', corpus, join(WORK, 'tree')]);
console.error('full backups (not timed)…');
execFileSync('tar', ['--listed-incremental=base/snap', '-czf', 'base/tar-full.tar.gz', 'tree'], { cwd: WORK });
execFileSync('node', [BIN, 'create', 'tree', '-o', 'base', '-n', 'full', '-q'], { cwd: WORK });
const fullSizes = { tar: (await stat(join(WORK, 'base/tar-full.tar.gz'))).size, gulpBackup: (await stat(join(WORK, 'base/full.tar.gz'))).size };
const env = { WORK };
const report: string[] = [];

for (const step of ['no change', '1% of the files changed'] as const) {
  if (step !== 'no change') {
    const changed = changeOnePercent(join(WORK, 'tree'));
    report.push(`(${changed.files} files, ${(changed.bytes / 1e6).toFixed(2)} MB rewritten in place, same sizes)`, '');
  }
  const medians = await compare(step, TOOLS, runs, join(WORK, 'run'), env);
  report.push(table(`### ${step}`, medians, TOOLS[0]!.name, true), '');
  const counters = gulpBackupCounters(join(WORK, 'counters'));
  await rm(join(WORK, 'counters'), { recursive: true, force: true });
  const tarIncremental = medians.get(TOOLS[0]!.name)!.bytes;
  report.push(
    `gulp-backup: ${counters.storedFiles} files stored, ${counters.unchangedFiles} unchanged, **${counters.bytesRead} bytes of file content read**; ` +
      `archive ${counters.archiveBytes} bytes = ${((100 * counters.archiveBytes) / fullSizes.gulpBackup).toFixed(2)}% of its full backup ` +
      `(GNU tar: ${tarIncremental} bytes = ${((100 * tarIncremental) / fullSizes.tar).toFixed(2)}% of its full one).`,
    '',
  );
}
console.log(report.join('\n'));
