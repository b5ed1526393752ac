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

/**
 * Create's exclude patterns, read as `.gitignore`, rsync and restic read theirs: in order, the last
 * pattern that matches decides, and one that starts with `!` takes back what an earlier one left
 * out (`*.log`, then `!keep.log`); `\!` starts a pattern that names a `!`. A pattern that ends in
 * `/` matches folders only (`build/`: not a file named build). A folder left out is not entered,
 * so nothing inside it can be taken back, as git says of its own. `excludedBy` names the pattern
 * that left a path out (a dry run lists it).
 */
export function exclusionMatcher(
  patterns: readonly string[],
  options: { archivePrefix?: string } = {},
): { excludes: (path: string, isFolder: boolean) => boolean; excludedBy: (path: string, isFolder: boolean) => string | undefined } {
  const rules = patterns.map((pattern) => {
    const negated = pattern.startsWith('!');
    const body = negated ? pattern.slice(1) : pattern;
    const matches = selectionMatcher([body], options);
    return { pattern, negated, foldersOnly: body.length > 1 && body.endsWith('/'), matches };
  });
  const decisive = (path: string, isFolder: boolean) => {
    for (let i = rules.length - 1; i >= 0; i--) {
      const rule = rules[i]!;
      if ((!rule.foldersOnly || isFolder) && rule.matches(path)) return rule;
    }
    return undefined;
  };
  // The common case, no negation and no folder-only pattern: one matcher for all.
  const plain = rules.every((rule) => !rule.negated && !rule.foldersOnly) ? selectionMatcher(patterns, options) : undefined;
  return {
    excludes: plain ?? ((path, isFolder) => decisive(path, isFolder)?.negated === false),
    excludedBy: (path, isFolder) => {
      const rule = decisive(path, isFolder);
      return rule && !rule.negated ? rule.pattern : undefined;
    },
  };
}
