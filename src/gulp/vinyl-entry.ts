/** Turns a vinyl file from `gulp.src` into an archive entry, without reading its content yet. */
import { closeSync, openSync, readSync } from 'node:fs';
import { readlink } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type File from 'vinyl';
import { BackupError } from '../errors.js';
import { streamChunks, type ContentSource } from '../engine/write/file-content.js';
import type { ArchiveEntry } from '../engine/write/scan.js';

const NS_PER_MS = 1_000_000n;

/** Archive path of a vinyl file: its path relative to its base, in POSIX form. */
export function vinylArchivePath(file: File): string {
  return file.relative.split(/[\\/]+/).filter(Boolean).join('/');
}

/**
 * The entry for one vinyl file. Buffer contents are stored as given, stream contents are consumed
 * when the entry's turn comes, and null contents (`read: false`) are read from `file.path`.
 */
export async function vinylToEntry(file: File): Promise<ArchiveEntry | undefined> {
  const path = vinylArchivePath(file);
  if (path === '') return undefined; // the base folder itself
  const stat = file.stat;
  const mtimeMs = stat?.mtimeMs ?? stat?.mtime?.getTime() ?? 0;
  const common = {
    path,
    size: 0,
    mode: (stat?.mode ?? 0) & 0o7777,
    uid: stat?.uid ?? 0,
    gid: stat?.gid ?? 0,
    mtimeNs: BigInt(Math.floor(mtimeMs)) * NS_PER_MS + BigInt(Math.round((mtimeMs % 1) * 1e6)),
    ctimeNs: BigInt(Math.floor(stat?.ctimeMs ?? 0)) * NS_PER_MS,
    ino: BigInt(stat?.ino ?? 0),
  };
  if (file.isSymbolic()) {
    // With read: false, gulp.src leaves the target unread.
    const linkTarget = file.symlink ?? (await readlink(file.path));
    return { ...common, mode: common.mode || 0o777, type: 'symlink', linkTarget };
  }
  if (file.isDirectory()) return { ...common, mode: common.mode || 0o755, type: 'directory' };
  const mode = common.mode || 0o644;
  if (file.isBuffer()) {
    if (stat?.isFile() && stat.size !== file.contents.length) throw decodedContentsError(file, file.contents.length);
    return { ...common, mode, type: 'file', size: file.contents.length, content: { kind: 'buffer', buffer: file.contents }, handedOver: true };
  }
  if (file.isStream()) {
    const stream = file.contents as unknown as Readable;
    if (stat?.isFile()) {
      const content: ContentSource = {
        kind: 'stream',
        open: () => stream,
        size: stat.size,
        onSizeMismatch: (actual) => decodedContentsError(file, actual),
      };
      return { ...common, mode, type: 'file', size: stat.size, content, handedOver: true };
    }
    // No size to put in the tar header before the content: the stream has to be read first.
    const chunks: Buffer[] = [];
    for await (const chunk of streamChunks(stream)) chunks.push(chunk);
    const buffer = Buffer.concat(chunks);
    return { ...common, mode, type: 'file', size: buffer.length, content: { kind: 'buffer', buffer }, handedOver: true };
  }
  // read: false — the engine reads the file itself, when its turn comes.
  if (!stat?.isFile()) return undefined;
  return { ...common, mode, type: 'file', size: stat.size, content: { kind: 'path', path: file.path } };
}

/**
 * gulp.src decodes contents as UTF-8 unless `encoding: false` (gulp 5), which corrupts binary files
 * and strips byte-order marks; gulp 4's strips byte-order marks unless `removeBOM: false`. Both
 * change the length, which is how this is caught; a missing mark is named as such.
 */
function decodedContentsError(file: File, actualLength: number): BackupError {
  const size = file.stat!.size;
  const what =
    size - actualLength === UTF8_BOM.length && startsWithBom(file.path)
      ? 'gulp.src removed its UTF-8 byte-order mark (gulp 5 does unless `encoding: false`, gulp 4 unless `removeBOM: false`), so the backup would not hold the file as it is. Pass that option to gulp.src'
      : 'gulp.src decoded it as UTF-8, which corrupts binary files. Pass `encoding: false` to gulp.src (gulp 4: `removeBOM: false`)';
  return new BackupError(
    'GULP_CONTENTS_DECODED',
    `${file.relative} has ${actualLength} bytes in its contents but ${size} on disk: ${what} (or: a plugin before backup() changed the contents, or the file changed while it was read).`,
    { path: file.path },
  );
}

const UTF8_BOM = Buffer.from([0xef, 0xbb, 0xbf]);

/** Whether the file on disk starts with a UTF-8 byte-order mark (false when it cannot be read). */
function startsWithBom(path: string): boolean {
  try {
    const fd = openSync(path, 'r');
    try {
      const head = Buffer.alloc(UTF8_BOM.length);
      return readSync(fd, head, 0, head.length, 0) === head.length && head.equals(UTF8_BOM);
    } finally {
      closeSync(fd);
    }
  } catch {
    return false;
  }
}
