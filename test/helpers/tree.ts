/** Real files in temp folders, and the system's real tools, for tests. */
import { mkdtemp, mkdir, rm, symlink, utimes, writeFile, chmod, link, readdir, lstat, readFile, readlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { closeSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { execa } from 'execa';

const created: string[] = [];

export async function tempDir(prefix = 'gulp-backup-test-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  created.push(dir);
  return dir;
}

/** Removes every folder that tempDir made; called from a root hook. */
export async function removeTempDirs(): Promise<void> {
  await Promise.all(created.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
}

/** Deterministic bytes that compress poorly. */
export function pseudoRandomBytes(size: number, seed = 1): Buffer {
  const buffer = Buffer.allocUnsafe(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    buffer[i] = x & 0xff;
  }
  return buffer;
}

export interface TreeFile {
  content?: string | Buffer;
  mode?: number;
  /** Seconds since the epoch, fractions allowed. */
  mtime?: number;
  symlink?: string;
  hardlinkTo?: string;
  dir?: boolean;
}

/** Writes `files` (relative path → description) under `root`. */
export async function writeTree(root: string, files: Record<string, TreeFile | string | Buffer>): Promise<void> {
  for (const [path, spec] of Object.entries(files)) {
    const file: TreeFile = typeof spec === 'string' || Buffer.isBuffer(spec) ? { content: spec } : spec;
    const full = join(root, path);
    await mkdir(dirname(full), { recursive: true });
    if (file.dir) await mkdir(full, { recursive: true });
    else if (file.symlink !== undefined) await symlink(file.symlink, full);
    else if (file.hardlinkTo !== undefined) await link(join(root, file.hardlinkTo), full);
    else await writeFile(full, file.content ?? '');
    if (file.mode !== undefined) await chmod(full, file.mode);
    if (file.mtime !== undefined) await utimes(full, file.mtime, file.mtime);
  }
}

export interface Snapshot {
  type: 'file' | 'directory' | 'symlink';
  mode: number;
  mtimeMs: number;
  content?: string; // hex for files
  target?: string;
}

/** Type, mode, mtime (ms) and content of every path under root, for comparing trees. */
export async function snapshotTree(root: string, prefix = ''): Promise<Record<string, Snapshot>> {
  const result: Record<string, Snapshot> = {};
  for (const name of (await readdir(join(root, prefix))).sort()) {
    const rel = prefix ? `${prefix}/${name}` : name;
    const full = join(root, rel);
    const stats = await lstat(full);
    if (stats.isSymbolicLink()) {
      result[rel] = { type: 'symlink', mode: 0, mtimeMs: 0, target: await readlink(full) };
    } else if (stats.isDirectory()) {
      Object.assign(result, await snapshotTree(root, rel));
      result[rel] = { type: 'directory', mode: stats.mode & 0o7777, mtimeMs: Math.floor(stats.mtimeMs) };
    } else {
      result[rel] = { type: 'file', mode: stats.mode & 0o7777, mtimeMs: Math.floor(stats.mtimeMs), content: (await readFile(full)).toString('hex') };
    }
  }
  return result;
}

/** Runs a system tool; rejects with its stderr when it fails. */
export async function run(command: string, args: string[], cwd?: string): Promise<string> {
  const result = await execa(command, args, { cwd, stripFinalNewline: false });
  return result.stdout;
}

/**
 * Overwrites a file in place with `bytes` (same length: the size does not change). With
 * `keepTimes`, its timestamps are put back afterwards, nanosecond-exact (`touch -r`; utimes takes
 * a double of seconds and would round): a second write in the same timestamp tick.
 */
export function rewriteInPlace(path: string, bytes: Buffer, keepTimes: boolean): void {
  const reference = `${path}.times`;
  if (keepTimes) {
    writeFileSync(reference, '');
    execFileSync('touch', ['-r', path, reference]);
  }
  const fd = openSync(path, 'r+');
  writeSync(fd, bytes, 0, bytes.length, 0);
  closeSync(fd);
  if (keepTimes) {
    execFileSync('touch', ['-r', reference, path]);
    execFileSync('rm', [reference]);
  }
}
