/**
 * The glob patterns of a selection (create's `include` and `exclude`, restore's `include`), read
 * the way `.gitignore` and rsync read theirs: a pattern without `/` matches a name at any depth
 * (`*.log`, `node_modules`); one with `/` matches the path from the top (`docs/*.md`,
 * `src/**`), a leading `/` or `./` saying so too (`/build`: only the top one). A trailing `/`
 * (a shell's completion of a folder) is taken off. Dot names match. With `archivePrefix` (create:
 * the archive path of the source being walked), a pattern with `/` may also name the archive path
 * (`src/docs/*.md` for the source `src`), as tar's `--exclude` matches member names.
 *
 * picomatch's own `basename` option matches every pattern against the last name only, those with
 * a `/` too (`docs/*.md` then matched nothing, and `src/**` left out all of src): the two kinds
 * are compiled apart here.
 */
import picomatch from 'picomatch';

export function selectionMatcher(patterns: readonly string[], options: { dot?: boolean; archivePrefix?: string } = {}): (path: string) => boolean {
  const dot = options.dot ?? true;
  const prefix = options.archivePrefix ?? '';
  const names: string[] = [];
  const paths: string[] = [];
  for (const pattern of patterns) {
    const trimmed = pattern.length > 1 ? pattern.replace(/\/+$/, '') : pattern;
    const anchored = /^(\.\/|\/)/.test(trimmed) || trimmed.includes('/');
    const bare = trimmed.replace(/^(\.\/|\/)+/, '');
    if (bare === '') paths.push('**'); // `/` or `./`: the top itself, and everything under it
    else (anchored ? paths : names).push(bare);
  }
  const byName = names.length > 0 ? picomatch(names, { dot, basename: true }) : undefined;
  const byPath = paths.length > 0 ? picomatch(paths, { dot }) : undefined;
  return (path) => (byName !== undefined && byName(path)) || (byPath !== undefined && (byPath(path) || (prefix !== '' && byPath(prefix + path))));
}
