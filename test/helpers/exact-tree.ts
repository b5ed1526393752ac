/**
 * What GNU tar's extraction promises, per path: type, mode, owner, size, content digest, link
 * target, mtime and hard-link grouping, with names read as bytes. Two extractions of one archive
 * (GNU tar's and ours) are compared through this.
 */
import { createHash } from 'node:crypto';
import { lstatSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';

export interface ExactEntry {
  type: 'file' | 'directory' | 'symlink' | 'other';
  mode: number;
  uid: number;
  gid: number;
  size: number;
  sha256?: string;
  target?: string;
  /** Microseconds, as restore sets times (docs/DESIGN-DECISIONS.md). */
  mtimeUs: bigint;
  /** The first path (in name order) of the inode, for files with more than one name. */
  sameAs?: string;
}

/** Every path under `root` (names as latin1 of their bytes), the root itself as `.`. */
export function describeTree(root: string): Record<string, ExactEntry> {
  const result: Record<string, ExactEntry> = {};
  const firstNameOf = new Map<bigint, string>();
  const visit = (full: Buffer, name: string): void => {
    const stats = lstatSync(full, { bigint: true });
    const entry: ExactEntry = {
      type: stats.isFile() ? 'file' : stats.isDirectory() ? 'directory' : stats.isSymbolicLink() ? 'symlink' : 'other',
      mode: Number(stats.mode & 0o7777n),
      uid: Number(stats.uid),
      gid: Number(stats.gid),
      size: entrySize(stats),
      mtimeUs: restoredMicroseconds(stats.mtimeNs),
    };
    if (entry.type === 'symlink') entry.target = readlinkSync(full, { encoding: 'buffer' }).toString('latin1');
    if (entry.type === 'file') entry.sha256 = createHash('sha256').update(readFileSync(full)).digest('hex');
    if (stats.nlink > 1n && entry.type !== 'directory') {
      const first = firstNameOf.get(stats.ino);
      if (first === undefined) firstNameOf.set(stats.ino, name);
      else entry.sameAs = first;
    }
    result[name] = entry;
    if (entry.type === 'directory') {
      const names = (readdirSync(full, { encoding: 'buffer' }) as Buffer[]).sort(Buffer.compare);
      for (const child of names) visit(Buffer.concat([full, Buffer.from('/'), child]), name === '.' ? child.toString('latin1') : `${name}/${child.toString('latin1')}`);
    }
  };
  visit(Buffer.from(root), '.');
  return result;
}

function entrySize(stats: { isFile(): boolean; isSymbolicLink(): boolean; size: bigint }): number {
  return stats.isFile() || stats.isSymbolicLink() ? Number(stats.size) : 0;
}

/** The nearest microsecond, halves away from zero (BigInt division truncates towards zero). */
/**
 * Microseconds as restore sets them: from 1970 on the microsecond at or before; before 1970 the
 * nearest (a quarter of a microsecond from the boundary; BigInt division rounds towards zero).
 */
function restoredMicroseconds(ns: bigint): bigint {
  return ns >= 0n ? ns / 1000n : (ns - 500n) / 1000n;
}

/** Bytes the file takes on disk, against its size: a sparse file takes less. */
export function allocatedBytes(path: string): { size: number; allocated: number } {
  const stats = lstatSync(join(path));
  return { size: stats.size, allocated: stats.blocks * 512 };
}
