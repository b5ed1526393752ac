/**
 * A real case-insensitive file system for tests, as macOS and Windows users restore onto: a FUSE
 * mount (case-insensitive-fs.py, Debian's python3-fusepy) over a temp folder. Tests and CI run as
 * root on a machine with /dev/fuse; `.ci/run` installs the package.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { tempDir } from './tree.js';

const SCRIPT = fileURLToPath(new URL('./case-insensitive-fs.py', import.meta.url));
/** Debian's own Python, where python3-fusepy installs (a pyenv python3 on PATH does not see it). */
const PYTHON = '/usr/bin/python3';

export interface MountedFolder {
  /** Where the file system is mounted: names here are found whatever their case. */
  path: string;
  unmount(): Promise<void>;
}

/**
 * `like: 'fat'`: also refuses symlinks, hard links, modes and owners (EPERM), as vfat and exfat do.
 * `like: 'sshfs'`: a rename onto a name that exists fails (EPERM), as over sshfs.
 */
export async function mountCaseInsensitive(like?: 'fat' | 'sshfs'): Promise<MountedFolder> {
  const base = await tempDir('gulp-backup-casefold-');
  const backing = join(base, 'backing');
  const path = join(base, 'mnt');
  await Promise.all([mkdir(backing), mkdir(path)]);
  const server: ChildProcess = spawn(PYTHON, [SCRIPT, backing, path, ...(like ? [like] : [])], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  server.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => server.once('exit', () => resolve()));
  for (let waited = 0; !(await mounted(path)); waited += 50) {
    if (server.exitCode !== null || waited > 10_000) {
      server.kill();
      throw new Error(`could not mount a case-insensitive file system at ${path} (needs /dev/fuse, root, and Debian's python3-fusepy): ${stderr}`);
    }
    await sleep(50);
  }
  return {
    path,
    async unmount() {
      try {
        execFileSync('umount', [path]);
      } catch (error) {
        // Busy (a test failed with a file open): detach it, and end the server all the same, so
        // that no mount or process outlives the run.
        execFileSync('umount', ['-l', path]);
        server.kill();
        await exited;
        throw error;
      }
      await exited;
    },
  };
}

async function mounted(path: string): Promise<boolean> {
  const mounts = await readFile('/proc/self/mountinfo', 'utf8');
  return mounts.split('\n').some((line) => line.split(' ')[4] === path);
}
