/**
 * Path rules for restore: every archive is hostile (docs/DESIGN-DECISIONS.md, Restore safety).
 * Pure functions: they decide from the strings alone, before anything touches the disk.
 */

/**
 * How the system restored onto reads a name. Windows takes a backslash as a separator and `C:` as
 * a drive; POSIX systems take both as characters of a name (systemd's `dev-disk-by\x2duuid.swap`,
 * files from Windows shares), which GNU tar keeps as they are. So a backslash is a separator only
 * where it is one: elsewhere, changing it would restore `a\b` as a folder `a` holding `b`.
 */
export type PathSyntax = 'posix' | 'windows';
export const HOST_PATH_SYNTAX: PathSyntax = process.platform === 'win32' ? 'windows' : 'posix';

export interface SafePathRules {
  /** Deepest path accepted, in components. */
  maxDepth: number;
  /** The host's, unless a test asks for the other. */
  syntax?: PathSyntax;
}

export const DEFAULT_MAX_DEPTH = 256;

/**
 * Normalises an entry path to a relative POSIX path, or says why it is refused. Roots are stripped
 * repeatedly (`/`, `//`; on Windows also backslashes as separators, `C:` and `\\?\`), and `..`,
 * NUL and empty results are refused rather than rewritten.
 */
export function safeEntryPath(raw: string, rules: SafePathRules = { maxDepth: DEFAULT_MAX_DEPTH }): { path: string } | { refused: string } {
  if (raw.includes('\0')) return { refused: 'its name contains a NUL byte' };
  const windows = (rules.syntax ?? HOST_PATH_SYNTAX) === 'windows';
  let path = windows ? raw.replace(/\\/g, '/') : raw;
  // Strip roots until none is left: "/", "//server/"; on Windows "C:", "C:/", "//?/C:/" too.
  for (;;) {
    let stripped = path.replace(/^\/+/, '');
    if (windows) stripped = stripped.replace(/^[a-zA-Z]:/, '').replace(/^\?\//, '');
    if (stripped === path) break;
    path = stripped;
  }
  const parts = path.split('/').filter((part) => part !== '' && part !== '.');
  if (parts.includes('..')) return { refused: `its path ${JSON.stringify(raw)} climbs out with ..` };
  if (parts.length === 0) return { refused: `its path ${JSON.stringify(raw)} is empty once its root is removed` };
  if (parts.length > rules.maxDepth) return { refused: `its path is ${parts.length} levels deep (limit ${rules.maxDepth})` };
  return { path: parts.join('/') };
}

/**
 * Whether a symlink at `linkPath` (a safe relative path) pointing to `target` stays inside the
 * restore target. Absolute targets are refused; relative ones are resolved lexically from the
 * link's folder and must not climb above the root (with the host's path syntax, as the link will
 * be followed).
 */
export function symlinkTargetRefusal(linkPath: string, target: string, syntax: PathSyntax = HOST_PATH_SYNTAX): string | undefined {
  if (target.includes('\0')) return 'its link target contains a NUL byte';
  const windows = syntax === 'windows';
  const normalised = windows ? target.replace(/\\/g, '/') : target;
  if (normalised.startsWith('/') || (windows && /^[a-zA-Z]:/.test(normalised))) return `it links to the absolute path ${JSON.stringify(target)}`;
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
  // Most names are their own key (ASCII without capitals): no new string for them.
  return KEY_OF_ITSELF.test(path) ? path : path.normalize('NFC').toLowerCase();
}

/** Printable ASCII without capitals: its own key (anything else takes the long way, to the same answer where it is one). */
const KEY_OF_ITSELF = /^[ -@[-~]*$/;
