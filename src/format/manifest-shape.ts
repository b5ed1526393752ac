/**
 * The fields of a manifest's header and footer that readers rely on, checked once when a manifest
 * is read: one whose lines hash right (written so, or edited with the digest computed again) but
 * whose header names no archive, or whose footer has no block index, is refused as MANIFEST_INVALID
 * naming the field, instead of failing later in whatever code reads the field first. Entries are
 * checked one by one where they are used (a malformed entry refuses that entry alone).
 */
import { HASH_ALGORITHMS } from './hash-algorithms.js';
import { ManifestFormatError, type ManifestFooter, type ManifestHeader } from './manifest.js';

type Check = (value: unknown) => boolean;

const isText: Check = (value) => typeof value === 'string';
const isName: Check = (value) => typeof value === 'string' && value !== '' && value !== '.' && value !== '..' && !/[/\\\0]/.test(value);
/** A byte count or position: a whole number from 0 to 2^53 − 1 (also what entries are checked with). */
export const isCount = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0;
const isPositive: Check = (value) => Number.isSafeInteger(value) && (value as number) > 0;
const isInteger: Check = (value) => Number.isSafeInteger(value);
const isNumber: Check = (value) => typeof value === 'number' && Number.isFinite(value);
const isBoolean: Check = (value) => typeof value === 'boolean';
const isSha256: Check = (value) => typeof value === 'string' && /^[0-9a-f]{64}$/.test(value);
const isDate: Check = (value) => typeof value === 'string' && Number.isFinite(Date.parse(value));
const oneOf =
  (...allowed: string[]): Check =>
  (value) =>
    typeof value === 'string' && allowed.includes(value);
const listOf =
  (item: Check): Check =>
  (value) =>
    Array.isArray(value) && value.every(item);
const optional =
  (check: Check): Check =>
  (value) =>
    value === undefined || check(value);
const shaped =
  (fields: Record<string, Check>): Check =>
  (value) =>
    typeof value === 'object' && value !== null && !Array.isArray(value) && Object.entries(fields).every(([key, check]) => check((value as Record<string, unknown>)[key]));

const HEADER: Record<string, Check> = {
  id: (value) => typeof value === 'string' && value !== '',
  kind: oneOf('full', 'incremental', 'differential'),
  parent: (value) => value === null || shaped({ id: isText, manifest: isText, manifestSha256: isSha256 })(value),
  createdAt: isDate,
  archive: isName,
  options: shaped({ codec: oneOf('gzip', 'zstd', 'none'), level: isInteger, blockSize: isPositive, hashes: listOf(oneOf(...HASH_ALGORITHMS)) }),
  selection: optional(shaped({ sources: listOf(isText), include: listOf(isText), exclude: listOf(isText), dot: isBoolean, followSymlinks: isBoolean })),
  root: optional(isText),
};

const FOOTER: Record<string, Check> = {
  totals: shaped({ tarBytes: isCount, archiveBytes: isCount, skipped: isCount, unchangedBytes: optional(isCount) }),
  compression: shaped({ codec: oneOf('gzip', 'zstd', 'none'), level: isInteger, ratio: isNumber, savedPercent: isNumber }),
  timings: shaped({ scanMs: isNumber, storeMs: isNumber, finishMs: isNumber, totalMs: isNumber }),
  blocks: shaped({ blockSize: isPositive, count: isCount, offsets: listOf(isCount) }),
  archiveFile: shaped({ name: isText, size: isCount, sha256: isSha256 }),
  skipped: listOf(shaped({ path: isText, reason: isText })),
};

/** Refuses a header or footer whose fields are not what gulp-backup writes. */
export function checkHeaderShape(header: ManifestHeader): void {
  checkFields('header', header as unknown as Record<string, unknown>, HEADER);
}

export function checkFooterShape(footer: ManifestFooter): void {
  checkFields('footer', footer as unknown as Record<string, unknown>, FOOTER);
  const { count, offsets } = footer.blocks;
  if (offsets.length !== count + 1) malformed('footer', 'blocks', footer.blocks);
}

function checkFields(record: string, value: Record<string, unknown>, fields: Record<string, Check>): void {
  for (const [key, check] of Object.entries(fields)) if (!check(value[key])) malformed(record, key, value[key]);
}

function malformed(record: string, key: string, value: unknown): never {
  const shown = value === undefined ? 'missing' : JSON.stringify(value).slice(0, 80);
  throw new ManifestFormatError(
    `The manifest's ${record} has a malformed \`${key}\` (${shown}): it was not written by gulp-backup, or was edited since. ` +
      'Verify or restore the archive without it (pass the .tar.gz), or restore the manifest from a copy.',
  );
}
