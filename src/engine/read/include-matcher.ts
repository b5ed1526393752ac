/** Restore's `include`: which entries of a backup or an archive a restore (or the `restore()` plugin) takes. */
import { selectionMatcher } from '../selection-patterns.js';

/**
 * A matcher for restore's patterns: the archive path, or the path relative to one of the sources
 * the backup was made from (`app.js` for `src/app.js` when `src` was a source). A folder that
 * matches brings everything beneath it, as `tar -x dir` does, also where the archive holds no
 * entry for the folder (npm's tarballs hold none) or lists it after its contents.
 */
export function includeMatcher(include: string[], sources: readonly string[] = []): (path: string) => boolean {
  const matches = selectionMatcher(include);
  const prefixes = sources.map((source) => source.replace(/^(\.\/)+/, '').replace(/\/+$/, '')).filter((source) => source !== '' && source !== '.' && !source.startsWith('../'));
  const matchesItself = (path: string) => matches(path) || prefixes.some((prefix) => path.startsWith(`${prefix}/`) && matches(path.slice(prefix.length + 1)));
  // Folders come again and again as the parents of their entries: each is matched once.
  const folders = new Map<string, boolean>();
  const folderMatches = (folder: string): boolean => {
    let known = folders.get(folder);
    if (known === undefined) {
      const cut = folder.lastIndexOf('/');
      known = matchesItself(folder) || (cut > 0 && folderMatches(folder.slice(0, cut)));
      folders.set(folder, known);
    }
    return known;
  };
  return (path) => {
    if (matchesItself(path)) return true;
    const cut = path.lastIndexOf('/');
    return cut > 0 && folderMatches(path.slice(0, cut));
  };
}
