/**
 * Hard links as vinyl files. Vinyl has no hard link, so the `restore()` plugin emits a link as a
 * file of its own holding its target's content (as `tar --hard-dereference` stores one), or as a
 * copy of its target's symlink. The target must have been emitted earlier in this run, as tar order
 * puts it; `restore` refuses the same links ("its hard-link target was not restored by this run").
 */
import { safeEntryPath, DEFAULT_MAX_DEPTH } from '../engine/read/safe-paths.js';
import { formatBytes } from '../report/format.js';

/** An entry as the plugin emits it. */
export interface EntryToEmit {
  path: string;
  type: 'file' | 'directory' | 'symlink';
  mode: number;
  mtime: Date;
  linkTarget: string | undefined;
  contents: Buffer;
}

/** The most content held for links still to come, when the archive does not say which files they name. */
const HELD_BYTES = 256 * 1024 * 1024;

export class HardLinkCopies {
  private readonly held = new Map<string, EntryToEmit>();
  private heldBytes = 0;
  private full = false;

  /** `targets`: the paths that links will name, when a manifest tells; otherwise every file is held, up to a budget. */
  constructor(private readonly targets?: ReadonlySet<string>) {}

  /** Keeps an emitted file or symlink that a later link may name (the same buffer, not a copy). */
  remember(entry: EntryToEmit): void {
    if (entry.type === 'directory') return;
    const key = keyOf(entry.path);
    if (key === undefined || (this.targets && !this.targets.has(entry.path))) return;
    if (this.heldBytes + entry.contents.length > HELD_BYTES) {
      this.full = true;
      return;
    }
    this.held.set(key, entry);
    this.heldBytes += entry.contents.length;
  }

  /** The entry a hard link comes out as, or why it cannot. */
  resolve(link: { path: string; linkTarget: string | undefined; mode: number; mtime: Date }): EntryToEmit | string {
    const key = keyOf(link.linkTarget ?? '');
    const target = key === undefined ? undefined : this.held.get(key);
    if (target) return { ...target, path: link.path, mode: link.mode, mtime: link.mtime };
    if (this.full) {
      return `its hard-link target ${link.linkTarget} is no longer held in memory (more than ${formatBytes(HELD_BYTES)} of files came before it); restore it with restoreTask or gulp-backup restore`;
    }
    return `its hard-link target ${link.linkTarget} was not restored by this run`;
  }
}

/** Paths as restore writes them (`./a` and `a` are one file); undefined for one it refuses. */
function keyOf(path: string): string | undefined {
  const safe = safeEntryPath(path, { maxDepth: DEFAULT_MAX_DEPTH });
  return 'path' in safe ? safe.path : undefined;
}
