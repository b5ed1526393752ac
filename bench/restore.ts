/**
 * Restore and verify, side by side, as whole processes, on an archive of each corpus made by
 * gulp-backup (a valid .tar.gz, so every tool reads the same bytes). gulp-backup's restore also
 * proves every file's SHA-256; its verify checks every block and every file hash.
 *
 *   npm run build && npx tsx bench/restore.ts [--corpus small|large|all] [--runs 3] [--work /dev/shm/gb] [--codec zstd --node PATH]
 *
 * --work chooses where the restores write: a tmpfs measures the tools' own cost, apart from the
 * disk (a cloud volume's IOPS limits can slow every tool sevenfold once its burst is spent).
 * --codec zstd measures a .tar.zst instead, against zstd and GNU tar; gulp-backup then runs under
 * --node (Node.js 22.15 or later).
 */
import { execFileSync } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { buildLarge, buildSmall } from './corpus.js';
import { BENCH, OUT, ROOT, compare, gulpBackupCli, option, table, type Tool } from './measure.js';

const node = option('node') ?? 'node';
const cli = gulpBackupCli();
const cores = availableParallelism();
const zstd = option('codec') === 'zstd';

// What any Node.js restore costs before its own work: writing the files of the tar, given already
// decompressed, with nothing checked (anchors/node-restore-floor.mjs).
const NODE_FLOOR: Tool = { name: 'Node floor (plain .tar, no checks)', command: `${node} ${join(BENCH, 'anchors/node-restore-floor.mjs')} "$PLAIN_TAR" "$OUT"` };
const GZIP_RESTORE: Tool[] = [
  { name: 'tar -xzf', command: 'tar -xzf "$ARCHIVE" -C "$OUT"' },
  { name: `pigz -dc | tar -xf -`, command: 'pigz -dc "$ARCHIVE" | tar -xf - -C "$OUT"' },
  { name: 'node-tar x()', command: `node -e "import('tar').then((t) => t.x({ file: process.argv[1], cwd: process.argv[2] }))" "$ARCHIVE" "$OUT"` },
  NODE_FLOOR,
  { name: 'gulp-backup restore', command: `${cli} restore "$MANIFEST" --to "$OUT" --quiet` },
  { name: 'gulp-backup restore, made by tar | pigz', command: `${cli} restore "$FOREIGN" --to "$OUT" --quiet` },
];
const GZIP_VERIFY: Tool[] = [
  { name: 'gzip -t + sha256sum', command: 'gzip -t "$ARCHIVE" && cd "$EXTRACTED" && find . -type f -print0 | xargs -0 sha256sum > /dev/null' },
  { name: 'gulp-backup verify', command: `${cli} verify "$MANIFEST" --quiet` },
];
const ZSTD_RESTORE: Tool[] = [
  { name: 'zstd -dc | tar -xf -', command: 'zstd -q -dc "$ARCHIVE" | tar -xf - -C "$OUT"' },
  { name: 'tar --zstd -xf', command: 'tar --zstd -xf "$ARCHIVE" -C "$OUT"' },
  NODE_FLOOR,
  { name: 'gulp-backup restore', command: `${cli} restore "$MANIFEST" --to "$OUT" --quiet` },
  { name: 'gulp-backup restore, made by tar | zstd', command: `${cli} restore "$FOREIGN" --to "$OUT" --quiet` },
];
const ZSTD_VERIFY: Tool[] = [
  { name: 'zstd -t + sha256sum', command: 'zstd -q -t "$ARCHIVE" && cd "$EXTRACTED" && find . -type f -print0 | xargs -0 sha256sum > /dev/null' },
  { name: 'gulp-backup verify', command: `${cli} verify "$MANIFEST" --quiet` },
];
const [RESTORE, VERIFY] = zstd ? [ZSTD_RESTORE, ZSTD_VERIFY] : [GZIP_RESTORE, GZIP_VERIFY];
const archiveName = zstd ? 'b.tar.zst' : 'b.tar.gz';

const which = option('corpus') ?? 'all';
const runs = Number(option('runs') ?? 3);
await mkdir(OUT, { recursive: true });
for (const corpus of ['small', 'large'] as const) {
  if (which !== 'all' && which !== corpus) continue;
  const path = corpus === 'small' ? await buildSmall() : await buildLarge();
  const backups = join(OUT, `backup-${corpus}`);
  const extracted = join(OUT, `extracted-${corpus}`);
  await rm(backups, { recursive: true, force: true });
  await rm(extracted, { recursive: true, force: true });
  await mkdir(extracted, { recursive: true });
  const codec = zstd ? ['--codec', 'zstd'] : [];
  execFileSync(node, [join(ROOT, 'bin/gulp-backup.js'), 'create', basename(path), '--cwd', dirname(path), '--out', backups, '--name', 'b', '--dot', '--quiet', ...codec]);
  execFileSync('tar', ['-xf', join(backups, archiveName), '-C', extracted]);
  const plainTar = join(backups, 'plain.tar');
  execFileSync('sh', ['-c', `${zstd ? 'zstd -q -dc' : 'gzip -dc'} "${join(backups, archiveName)}" > "${plainTar}"`]);
  // Another tool's archive of the same tar: one stream, read without a manifest.
  const foreign = join(backups, zstd ? 'foreign.tar.zst' : 'foreign.tar.gz');
  execFileSync('sh', ['-c', `${zstd ? `zstd -q -3 -T${cores}` : `pigz -6 -p ${cores}`} -c "${plainTar}" > "${foreign}"`]);
  const env = { ARCHIVE: join(backups, archiveName), MANIFEST: join(backups, 'b.manifest.jsonl'), EXTRACTED: extracted, PLAIN_TAR: plainTar, FOREIGN: foreign };
  const work = option('work') ?? join(OUT, 'work');
  const restore = await compare(`restore ${corpus}`, RESTORE, runs, work, env);
  const verify = await compare(`verify ${corpus}`, VERIFY, runs, work, env);
  const text = [
    table(`### Restore of ${archiveName} into ${work}, ${corpus} corpus, ${cores} cores, median of ${runs}`, restore, RESTORE[0]!.name, false),
    table(`### Verify of ${archiveName}, ${corpus} corpus, ${cores} cores, median of ${runs}`, verify, VERIFY[0]!.name, false),
  ].join('\n\n');
  await writeFile(join(OUT, `restore-${corpus}${zstd ? '-zstd' : ''}.md`), `${text}\n`);
  console.log(`${text}\n`);
  await rm(extracted, { recursive: true, force: true });
}
await rm(option('work') ?? join(OUT, 'work'), { recursive: true, force: true });
