/**
 * Runs fuzz cases in a process of its own, so that a case which never returns (a loop that does
 * not move on blocks every timer of its process) is seen by the test, which stops this process
 * and names the case. Prints `case LABEL` before each case, `problem TEXT` for each crash or
 * write outside the target, and `done` at the end.
 *
 *   node --import tsx fuzz-cases.ts tar|manifest SEEDS_FOLDER WORK_FOLDER ITERATIONS SEED
 *
 * tar: every SEEDS_FOLDER/*.tar, *.tar.gz and *.tar.zst, mutated; manifest: SEEDS_FOLDER/b.manifest.jsonl
 * (a full backup) or c.manifest.jsonl (an incremental on it) edited, beside the archives, or c
 * read whole while b.tar.gz, which holds most of its files, is damaged; parent: an incremental
 * backup of the tree (SEEDS_FOLDER/../tree) built on b or c edited so, which must fail with a
 * BackupError or be a backup that, when verify calls it whole, restores the tree exactly.
 */
import { createHash } from 'node:crypto';
import { lstat, mkdir, readFile, readdir, readlink, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import File from 'vinyl';
import { BackupError, createBackup, restore, restoreBackup, verifyBackup } from '../../src/index.js';
import { main } from '../../src/cli/main.js';
import { EXIT_UNEXPECTED } from '../../src/cli/exit-codes.js';
import { SeededRandom, editManifest, mutateTar } from './mutate.js';

const [kind, seedsFolder, work, iterations, seed] = process.argv.slice(2) as [string, string, string, string, string];
const random = new SeededRandom(Number(seed));
const box = join(work, 'box');
const input = join(box, 'input');

/** The names our errors carry, which a PluginError copies from the error it wraps. */
const REPORTED = new Set(['BackupError', 'OptionError', 'SourceError', 'OutputError', 'ChainError', 'StoreError', 'AbortError', 'ManifestFormatError', 'TarFormatError', 'GzipFormatError', 'ZstdFormatError']);

/** Whether an error is a report: a BackupError, or the restore() plugin's PluginError made of one or of its list of entries refused. */
function isReport(error: unknown): boolean {
  if (error instanceof BackupError) return true;
  const { plugin, name, message } = error as { plugin?: string; name?: string; message?: string };
  return plugin === 'gulp-backup' && (REPORTED.has(name ?? '') || (name === 'Error' && / entries not restored:\n/.test(message ?? '')));
}

/** The restore() plugin, fed the archive (or manifest) as gulp.src gives it: by path (`read: false`), or its bytes. */
async function throughPlugin(path: string, byBytes: boolean): Promise<void> {
  const file = new File({ cwd: box, base: input, path, contents: byBytes ? await readFile(path) : null });
  const plugin = restore();
  const ended = new Promise((resolve, reject) => plugin.on('data', () => {}).on('end', resolve).on('error', reject));
  plugin.end(file);
  await ended;
}

/**
 * Verify, restore, the restore() plugin, and the CLI's ls, verify and stats of one damaged input:
 * each must end with a report or a BackupError, and write only into the target.
 */
async function tryCase(archive: string, label: string): Promise<void> {
  console.log(`case ${label}`);
  for (const [name, run] of [
    ['verify', () => verifyBackup(archive)],
    ['restore', () => restoreBackup(archive, { to: join(box, 'target') })],
    ['restore() plugin', () => throughPlugin(archive, false)],
    ...(archive.endsWith('.jsonl') ? [] : ([['restore() plugin, bytes', () => throughPlugin(archive, true)]] as const)),
  ] as const) {
    try {
      await run();
    } catch (error) {
      if (!isReport(error)) console.log(`problem ${name} ${label}: ${(error as Error).stack?.split('\n').slice(0, 3).join(' | ') ?? String(error)}`);
    }
    const outside = (await readdir(box)).filter((entry) => entry !== 'target' && entry !== 'input');
    if (outside.length > 0) console.log(`problem ${name} ${label}: wrote ${outside.join(', ')} outside the target`);
  }
  // The CLI's commands that print what they read: exit 0, 1 or 2, never 3 (an error it did not expect).
  // With a manifest, verify --source compares it with the tree it was made from (SEEDS_FOLDER/..).
  const commands = [['ls'], ['verify'], ['stats'], ...(kind === 'manifest' ? [['verify', '--source', join(seedsFolder, '..')]] : [])];
  for (const command of commands) {
    const said: string[] = [];
    const sink = { write: (text: string) => said.push(text) } as unknown as NodeJS.WriteStream;
    const code = await main([command[0]!, archive, ...command.slice(1)], { stdout: sink, stderr: sink, signal: new AbortController().signal });
    if (code === EXIT_UNEXPECTED) console.log(`problem ${command.join(' ')} (CLI) ${label}: ${said.join('').split('\n').slice(0, 3).join(' | ')}`);
  }
}

/**
 * An incremental backup of the tree built on an edited parent: a BackupError, or a backup that
 * verify either reports or calls whole, and then restores the tree exactly.
 */
async function tryParent(root: string, parent: string, tree: Map<string, string>, label: string): Promise<void> {
  console.log(`case ${label}`);
  let made;
  try {
    made = await createBackup({ sources: ['tree'], cwd: root, out: input, name: 'next', kind: 'incremental', since: parent, blockSize: '64KB' });
  } catch (error) {
    if (!isReport(error)) console.log(`problem backup ${label}: ${(error as Error).stack?.split('\n').slice(0, 3).join(' | ') ?? String(error)}`);
    console.log('outcome refused'); // not a case line: how often each ending comes, for whoever runs this by hand
    return;
  }
  try {
    const verified = await verifyBackup(made.manifestPath);
    if (!verified.ok) return void console.log('outcome reported'); // the damage the edit did is reported
    const restored = await restoreBackup(made.manifestPath, { to: join(box, 'target') });
    if (restored.failures.length > 0) console.log(`problem ${label}: verify said OK, restore failed: ${JSON.stringify(restored.failures.slice(0, 2))}`);
    const back = await treeListing(join(box, 'target', 'tree'));
    const differ = [...new Set([...tree.keys(), ...back.keys()])].filter((path) => tree.get(path) !== back.get(path));
    if (differ.length > 0) console.log(`problem ${label}: verify said OK, restore differs at ${differ.slice(0, 3).join(', ')}`);
    console.log('outcome restored');
  } catch (error) {
    if (!isReport(error)) console.log(`problem verify or restore ${label}: ${(error as Error).stack?.split('\n').slice(0, 3).join(' | ') ?? String(error)}`);
  }
}

/** Every path under a folder (names as bytes, in hex) with its type and content digest or link target. */
async function treeListing(folder: Buffer | string, prefix = '', listing = new Map<string, string>()): Promise<Map<string, string>> {
  const base = Buffer.from(folder);
  for (const name of await readdir(base, { encoding: 'buffer' })) {
    const path = Buffer.concat([base, Buffer.from('/'), name]);
    const key = `${prefix}/${name.toString('hex')}`;
    const stats = await lstat(path);
    if (stats.isDirectory()) {
      listing.set(key, 'folder');
      await treeListing(path, key, listing);
    } else if (stats.isSymbolicLink()) listing.set(key, `link ${(await readlink(path, { encoding: 'buffer' })).toString('hex')}`);
    else listing.set(key, `file ${createHash('sha256').update(await readFile(path)).digest('hex')}`);
  }
  return listing;
}

async function freshBox(): Promise<void> {
  await rm(box, { recursive: true, force: true });
  await mkdir(input, { recursive: true });
}

if (kind === 'tar') {
  // Plain tar seeds are mutated as tar (and a quarter of them then gzipped); compressed seeds
  // (ours without their manifest: blocked gzip, zstd frames and seek table) as bytes.
  const names = (await readdir(seedsFolder)).filter((name) => /\.tar(\.gz|\.zst)?$/.test(name)).sort();
  const seeds = new Map(await Promise.all(names.map(async (name) => [name, await readFile(join(seedsFolder, name))] as const)));
  for (let i = 0; i < Number(iterations); i++) {
    const name = random.pick(names);
    const { bytes, what } = mutateTar(seeds.get(name)!, random);
    const plain = name.endsWith('.tar');
    const gzipped = plain && random.below(4) === 0;
    await freshBox();
    const archive = join(input, plain ? (gzipped ? 'm.tar.gz' : 'm.tar') : `m${name.slice(name.indexOf('.'))}`);
    await writeFile(archive, gzipped ? gzipSync(bytes) : bytes);
    await tryCase(archive, `#${i} ${name}${gzipped ? ' (gzipped)' : ''}: ${what}`);
  }
} else if (kind === 'parent') {
  const root = join(seedsFolder, '..');
  const files = await Promise.all(['b.manifest.jsonl', 'b.tar.gz', 'c.manifest.jsonl', 'c.tar.gz'].map(async (name) => [name, await readFile(join(seedsFolder, name))] as const));
  const tree = await treeListing(join(root, 'tree'));
  for (let i = 0; i < Number(iterations); i++) {
    await freshBox();
    const edited = random.pick(['b.manifest.jsonl', 'c.manifest.jsonl']);
    const { text, what } = editManifest(files.find(([name]) => name === edited)![1].toString(), random);
    for (const [name, bytes] of files) await writeFile(join(input, name), name === edited ? text : bytes);
    await tryParent(root, join(input, edited), tree, `#${i} on ${edited}: ${what}`);
  }
} else {
  // A full backup b, and c, an incremental on it (entries held by b): one of the two manifests is edited.
  const files = await Promise.all(['b.manifest.jsonl', 'b.tar.gz', 'c.manifest.jsonl', 'c.tar.gz'].map(async (name) => [name, await readFile(join(seedsFolder, name))] as const));
  for (let i = 0; i < Number(iterations); i++) {
    await freshBox();
    if (random.below(4) === 0) {
      // c read whole while b's archive, which holds most of c's files, is damaged.
      const { bytes, what } = mutateTar(files.find(([name]) => name === 'b.tar.gz')![1], random);
      for (const [name, original] of files) await writeFile(join(input, name), name === 'b.tar.gz' ? bytes : original);
      await tryCase(join(input, 'c.manifest.jsonl'), `#${i} c.manifest.jsonl, b.tar.gz damaged: ${what}`);
      continue;
    }
    const edited = random.pick(['b.manifest.jsonl', 'c.manifest.jsonl']);
    const { text, what } = editManifest(files.find(([name]) => name === edited)![1].toString(), random);
    for (const [name, bytes] of files) await writeFile(join(input, name), name === edited ? text : bytes);
    await tryCase(join(input, edited), `#${i} ${edited}: ${what}`);
  }
}
console.log('done');
