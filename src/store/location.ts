/**
 * Locations name what the engine reads and writes: a path on disk, or `s3://bucket/key`. Path
 * arithmetic on an S3 location works on its key with POSIX rules, so `..` and relative parent
 * links behave as they do on disk.
 */
import { posix, resolve as resolvePath, basename, dirname, join, relative, sep } from 'node:path';

const S3_SCHEME = /^s3:\/\//i;

export function isS3Location(location: string): boolean {
  return S3_SCHEME.test(location);
}

/** The folder a backup's file lies in when it is on disk; undefined in a bucket (or without a path). */
export function localFolderOf(path: string | undefined): string | undefined {
  return path === undefined || isS3Location(path) ? undefined : dirname(path);
}

/** `s3://bucket/a/b` → `{ bucket, key: 'a/b' }` (no leading or trailing slash on the key). */
export function splitS3Location(location: string): { bucket: string; key: string } {
  const rest = location.replace(S3_SCHEME, '');
  const slash = rest.indexOf('/');
  const bucket = slash === -1 ? rest : rest.slice(0, slash);
  const key = slash === -1 ? '' : posix.normalize(`/${rest.slice(slash + 1)}`).replace(/^\/+|\/+$/g, '');
  return { bucket, key };
}

export function s3Location(bucket: string, key: string): string {
  return key === '' ? `s3://${bucket}` : `s3://${bucket}/${key}`;
}

/** An absolute location: paths resolved against `cwd`; S3 locations normalized. */
export function resolveLocation(location: string, cwd = process.cwd()): string {
  if (!isS3Location(location)) return resolvePath(cwd, location);
  const { bucket, key } = splitS3Location(location);
  return s3Location(bucket, key);
}

/** The location of `name` inside the folder `folder`. */
export function joinLocation(folder: string, name: string): string {
  if (!isS3Location(folder)) return join(folder, name);
  const { bucket, key } = splitS3Location(folder);
  return s3Location(bucket, posix.join(`/${key}`, name).slice(1));
}

/** `relative` (a path such as `../a/x.manifest.jsonl`) resolved from the folder `folder`. */
export function resolveFrom(folder: string, relative: string): string {
  if (!isS3Location(folder)) return resolvePath(folder, relative);
  const { bucket, key } = splitS3Location(folder);
  return s3Location(bucket, posix.resolve(`/${key}`, relative).slice(1));
}

export function parentLocation(location: string): string {
  if (!isS3Location(location)) return dirname(location);
  const { bucket, key } = splitS3Location(location);
  return s3Location(bucket, posix.dirname(`/${key}`).slice(1));
}

export function nameOf(location: string): string {
  return isS3Location(location) ? posix.basename(splitS3Location(location).key) : basename(location);
}

/**
 * The path from the folder `from` to `to`, with `/` separators; undefined when there is none: a
 * folder on disk and one in a bucket, or two buckets (a chain must live in one place).
 */
export function relativeLocation(from: string, to: string): string | undefined {
  if (isS3Location(from) !== isS3Location(to)) return undefined;
  if (!isS3Location(from)) return relative(from, to).split(sep).join('/');
  const a = splitS3Location(from);
  const b = splitS3Location(to);
  return a.bucket === b.bucket ? posix.relative(`/${a.key}`, `/${b.key}`) : undefined;
}
