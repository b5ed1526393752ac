/** Where restore puts a stored path: `stripComponents`, and what it says of a folder restored into itself. */
import { basename, dirname, join } from 'node:path';

/**
 * A stored path without its first `count` parts, counted as GNU tar counts them: empty parts (a
 * leading or doubled `/`) are not parts, `.` is (`./a/b` less one is `a/b`). '' when nothing is left.
 */
export function strippedPath(path: string, count = 0): string {
  if (count === 0) return path;
  const parts = path.split('/').filter((part) => part !== '');
  return parts.length <= count ? '' : parts.slice(count).join('/');
}

/**
 * A backup of `dist` restored with `--to dist` lands in `dist/dist`, as `tar -x` would put it:
 * nothing is wrong, but it is rarely what was meant, and the summary says where the files are.
 */
export function nestedInItself(topNames: ReadonlySet<string>, root: string): string | undefined {
  const [name] = topNames;
  if (topNames.size !== 1 || name === undefined || name === '' || name === '.' || name !== basename(root)) return undefined;
  return `every entry lies under ${name}/, and the folder restored into is itself named ${name}: the files are in ${join(root, name)}. To put them back where they were, restore into the folder above (--to ${dirname(root)}), or with --strip-components 1`;
}
