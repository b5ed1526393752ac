/**
 * Path rules for restore: every archive is hostile (docs/DESIGN-DECISIONS.md, Restore safety).
 * Pure functions: they decide from the strings alone, before anything touches the disk.
 */

export interface SafePathLimits {
  /** Deepest path accepted, in components. */
  maxDepth: number;
}

export const DEFAULT_MAX_DEPTH = 256;

/**
 * Normalises an entry path to a relative POSIX path, or says why it is refused. Separators are
 * normalised (backslashes too, as Windows would read them), roots are stripped repeatedly
 * (`/`, `//`, `C:`, `\\?\`), and `..`, NUL and empty results are refused rather than rewritten.
 */
export function safeEntryPath(raw: string, limits: SafePathLimits = { maxDepth: DEFAULT_MAX_DEPTH }): { path: string } | { refused: string } {
  if (raw.includes('\0')) return { refused: 'its name contains a NUL byte' };
  let path = raw.replace(/\\/g, '/');
  // Strip roots until none is left: "/", "//server/", "C:", "C:/", "//?/C:/".
  for (;;) {
    const stripped = path.replace(/^\/+/, '').replace(/^[a-zA-Z]:/, '').replace(/^\?\//, '');
    if (stripped === path) break;
    path = stripped;
  }
  const parts = path.split('/').filter((part) => part !== '' && part !== '.');
  if (parts.includes('..')) return { refused: `its path ${JSON.stringify(raw)} climbs out with ..` };
  if (parts.length === 0) return { refused: `its path ${JSON.stringify(raw)} is empty once its root is removed` };
  if (parts.length > limits.maxDepth) return { refused: `its path is ${parts.length} levels deep (limit ${limits.maxDepth})` };
  return { path: parts.join('/') };
}

/**
 * Whether a symlink at `linkPath` (a safe relative path) pointing to `target` stays inside the
 * restore target. Absolute targets are refused; relative ones are resolved lexically from the
 * link's folder and must not climb above the root.
 */
export function symlinkTargetRefusal(linkPath: string, target: string): string | undefined {
  if (target.includes('\0')) return 'its link target contains a NUL byte';
  const normalised = target.replace(/\\/g, '/');
  if (normalised.startsWith('/') || /^[a-zA-Z]:/.test(normalised)) return `it links to the absolute path ${JSON.stringify(target)}`;
  const stack = linkPath.split('/').slice(0, -1);
  for (const part of normalised.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (stack.length === 0) return `its link target ${JSON.stringify(target)} points outside the restore folder`;
      stack.pop();
    } else stack.push(part);
  }
  return undefined;
}

/** A key under which two names that one file system may treat as the same collide (case, Unicode form). */
export function collisionKey(path: string): string {
  return path.normalize('NFC').toLowerCase();
}
