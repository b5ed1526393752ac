/**
 * Names of a restore that a target's file system takes for one (`README` and `readme` on macOS or
 * Windows), told before anything is written: a dry run cannot meet them as the restore does (by
 * finding the earlier entry under the later name), so it asks whether the file system ignores
 * case or Unicode form, by looking up names the folder holds spelt otherwise, and applies the
 * restore's rules.
 */
import { lstatSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { EntryType } from '../../format/manifest.js';

/** What a file system takes two spellings of a name for: one name when they differ in case, in Unicode form. */
export interface NameFolding {
  case: boolean | undefined;
  form: boolean | undefined;
}

/**
 * How the file system that holds `folder` (or would: its nearest existing ancestor, where it
 * would be made) folds names, asked of the names there, or in folders above on the same file
 * system: the first with a letter spelt in the other case, the first whose Unicode forms differ
 * spelt in the other form. Undefined for what none of them shows.
 */
export function nameFolding(folder: string): NameFolding {
  const folding: NameFolding = { case: undefined, form: undefined };
  let dir = folder;
  let stats = statSync(dir, { throwIfNoEntry: false });
  while (!stats?.isDirectory()) {
    const parent = dirname(dir);
    if (parent === dir) return folding;
    dir = parent;
    stats = statSync(dir, { throwIfNoEntry: false });
  }
  const device = stats.dev;
  for (;;) {
    askNames(dir, folding);
    if (folding.case !== undefined && folding.form !== undefined) return folding;
    const parent = dirname(dir);
    if (parent === dir || statSync(parent, { throwIfNoEntry: false })?.dev !== device) return folding;
    dir = parent;
  }
}

/** Fills in what `dir`'s names show: whether a name spelt otherwise is found as the same entry. */
function askNames(dir: string, folding: NameFolding): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  const listed = new Set(names);
  for (const name of names) {
    // A name read from bytes that are not UTF-8 cannot be spelt otherwise reliably.
    if (name.includes('\uFFFD')) continue;
    if (folding.case === undefined) folding.case = sameEntry(dir, name, swapCase(name), listed);
    if (folding.form === undefined) folding.form = sameEntry(dir, name, name.normalize('NFC') === name ? name.normalize('NFD') : name.normalize('NFC'), listed);
    if (folding.case !== undefined && folding.form !== undefined) return;
  }
}

function sameEntry(dir: string, name: string, other: string, listed: ReadonlySet<string>): boolean | undefined {
  if (other === name) return undefined;
  // Both listed: two entries (hard links to one file are two names too), so told apart.
  if (listed.has(other)) return false;
  const entry = lstatSync(join(dir, name), { throwIfNoEntry: false });
  if (!entry) return undefined; // gone meanwhile
  const found = lstatSync(join(dir, other), { throwIfNoEntry: false });
  return found !== undefined && found.ino === entry.ino && found.dev === entry.dev;
}

/** The key under which names collide on a file system that folds as `folding` says; undefined when it folds neither. */
export function foldingKey(folding: NameFolding): ((path: string) => string) | undefined {
  if (folding.case && folding.form) return (path) => path.normalize('NFC').toLowerCase();
  if (folding.case) return (path) => path.toLowerCase();
  if (folding.form) return (path) => path.normalize('NFC');
  return undefined;
}

function swapCase(name: string): string {
  let swapped = '';
  for (const char of name) {
    const upper = char.toUpperCase();
    swapped += upper === char ? char.toLowerCase() : upper;
  }
  return swapped;
}

/**
 * The entries (in restore order) that a restore onto a file system folding names as `keyOf` does
 * would refuse, with the restore's reasons: a name spelt otherwise than one restored before it,
 * unless both are folders (they are one folder); and everything under a folder refused so, or
 * under a folder name that an earlier file or link holds.
 */
export function sameNameRefusals(entries: readonly { path: string; type: EntryType }[], keyOf: (path: string) => string): Map<string, string> {
  const refused = new Map<string, string>();
  /** The first spelling of each name, and its type. */
  const placed = new Map<string, { path: string; type: EntryType }>();
  for (const { path, type } of entries) {
    const parts = path.split('/');
    let reason: string | undefined;
    for (let depth = 1; depth < parts.length && reason === undefined; depth++) {
      const folder = parts.slice(0, depth).join('/');
      const earlier = placed.get(keyOf(folder));
      if (refused.has(folder)) reason = refused.get(folder);
      else if (earlier && earlier.path !== folder && earlier.type !== 'directory') reason = sameNameRefusal(folder, earlier.path);
    }
    const key = keyOf(path);
    const earlier = placed.get(key);
    if (reason === undefined && earlier && earlier.path !== path && !(earlier.type === 'directory' && type === 'directory')) {
      reason = sameNameRefusal(path, earlier.path);
    }
    if (reason !== undefined) refused.set(path, reason);
    else if (!earlier) placed.set(key, { path, type });
  }
  return refused;
}

/** Why a name that the file system takes for an earlier one's is refused, naming how the two differ. */
export function sameNameRefusal(path: string, earlier: string): string {
  const formOnly = path.normalize('NFC') === earlier.normalize('NFC');
  const caseOnly = path.toLowerCase() === earlier.toLowerCase();
  const ignores = formOnly ? 'the Unicode form (composed or decomposed letters)' : caseOnly ? 'case' : 'case and the Unicode form';
  const who = caseOnly ? 'macOS and Windows do by default' : 'macOS does';
  const before = formOnly ? '(restored before it; the same letters in another Unicode form)' : ', restored before it,';
  return `${path} and ${earlier}${formOnly ? ' ' : ''}${before} are one name on the target's file system: it ignores ${ignores}, as ${who}. ${earlier} was kept; restore onto a file system that tells them apart to have both`;
}
