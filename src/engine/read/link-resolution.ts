/**
 * Where a symlink leads, resolved through the links already on disk rather than as text: with
 * `a -> .` in place, `b -> a/..` leaves the folder although its text does not. Components that do
 * not exist (yet) are taken as written; the restore re-checks every link it made once it has
 * made them all, as a later link can change where an earlier one leads.
 */
import { lstatSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { decodeNameBytes, fsPath } from '../../format/path-bytes.js';
import { HOST_PATH_SYNTAX } from './safe-paths.js';

/** Links followed before a target is taken for a loop (Linux's own limit). */
const MAX_LINK_HOPS = 40;

/**
 * Why a link at `linkPath` (relative to `root`, its folders real folders) pointing to `target`
 * leaves `root`, or undefined when it stays inside (or dangles inside).
 */
export function linkEscape(root: string, linkPath: string, target: string): string | undefined {
  const resolved: string[] = linkPath.split('/').slice(0, -1);
  const pending = splitTarget(target);
  if (pending === undefined) return `it links to the absolute path ${JSON.stringify(target)}`;
  let hops = 0;
  while (pending.length > 0) {
    const part = pending.shift()!;
    if (part === '..') {
      if (resolved.length === 0) return `its link target ${JSON.stringify(target)} leads outside the restore folder`;
      resolved.pop();
      continue;
    }
    const candidate = [...resolved, part].join('/');
    if (!isLink(join(root, candidate))) {
      resolved.push(part);
      continue;
    }
    // A loop leads nowhere (the kernel gives up with ELOOP, as here): it is kept, as tar keeps it.
    if (++hops > MAX_LINK_HOPS) return undefined;
    const next = splitTarget(decodeNameBytes(readlinkSync(fsPath(join(root, candidate)), { encoding: 'buffer' })));
    if (next === undefined) return `its link target ${JSON.stringify(target)} leads through ${candidate}, a link to an absolute path`;
    pending.unshift(...next);
  }
  return undefined;
}

/**
 * Whether `path` is a symlink now. A name that cannot be there (a component over the system's
 * limit, a file where a folder would be) is not one, and stays no link while the file system
 * keeps its rules: it is taken as written, as a missing one is (GNU tar makes such dangling links,
 * and a symlink's target may hold a component no name can have). Other errors are thrown.
 */
function isLink(path: string): boolean {
  try {
    return lstatSync(fsPath(path), { throwIfNoEntry: false })?.isSymbolicLink() === true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENAMETOOLONG' || code === 'ENOTDIR') return false;
    throw error;
  }
}

/** The components of a relative target (`.` and empty ones dropped), read as the host reads it; undefined for an absolute one. */
function splitTarget(target: string): string[] | undefined {
  const windows = HOST_PATH_SYNTAX === 'windows';
  const normalised = windows ? target.replace(/\\/g, '/') : target;
  if (normalised.startsWith('/') || (windows && /^[a-zA-Z]:/.test(normalised))) return undefined;
  return normalised.split('/').filter((part) => part !== '' && part !== '.');
}
