/**
 * The `restore()` gulp plugin: turns each backup archive that passes through (or its manifest)
 * into vinyl files, one per entry, for `gulp.dest()` to write. Paths follow restore's safety
 * rules (refused entries end in a PluginError that names them), devices and FIFOs are skipped, and
 * with a manifest each file's SHA-256 is checked before it is emitted. Each file is held in memory
 * while it passes; for large archives, `restoreBackup` or `restoreTask` write straight to disk.
 * A point of a chain (an incremental or differential backup) needs those too: its unchanged
 * files are in other archives.
 *
 * @example
 * gulp.src('backups/site.tar.gz', { read: false }).pipe(restore()).pipe(gulp.dest('site'))
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { createGunzip } from 'node:zlib';
import picomatch from 'picomatch';
import PluginError from 'plugin-error';
import { Parser, type ReadEntry } from 'tar';
import File from 'vinyl';
import { locateBackup } from '../engine/locate-backup.js';
import { BackupError } from '../errors.js';
import { DEFAULT_MAX_DEPTH, safeEntryPath, symlinkTargetRefusal } from '../engine/safe-paths.js';
import { PLUGIN_NAME } from './backup-plugin.js';

export interface RestorePluginOptions {
  /** Emit only entries whose archive path matches one of these globs. */
  include?: string[];
}

export function restore(options: RestorePluginOptions = {}): Transform {
  const include = options.include ? picomatch(options.include, { dot: true }) : undefined;
  return new Transform({
    objectMode: true,
    transform(file: File, _encoding: BufferEncoding, callback: TransformCallback) {
      emitEntries(file, include, (vinyl) => this.push(vinyl)).then(
        (refused) => {
          if (refused.length === 0) callback();
          else callback(new PluginError(PLUGIN_NAME, `${file.relative}: entries not restored:\n${refused.join('\n')}`, { fileName: file.path }));
        },
        (error: unknown) => callback(new PluginError(PLUGIN_NAME, error as Error, { fileName: file.path })),
      );
    },
  });
}

async function emitEntries(file: File, include: ((path: string) => boolean) | undefined, push: (file: File) => void): Promise<string[]> {
  const located = file.isNull() ? await locateBackup(file.path) : undefined;
  if (located?.manifest?.entries.some((entry) => entry.heldBy !== undefined)) {
    throw new BackupError(
      'INVALID_OPTION',
      `${file.relative} is a point of a backup chain: its unchanged files are in earlier backups. ` +
        'Restore it with restoreTask() or `gulp-backup restore`, which read every archive of the chain.',
      { path: file.path },
    );
  }
  const hashes = new Map((located?.manifest?.entries ?? []).map((entry) => [entry.path, entry.hashes?.sha256]));
  const source: Readable = file.isNull() ? createReadStream(located!.archivePath) : file.isBuffer() ? Readable.from([file.contents]) : (file.contents as unknown as Readable);
  const base = join(file.cwd, '.gulp-backup-restore');
  const refused: string[] = [];
  const parser = new Parser({ strict: true });
  const done = new Promise<void>((resolve, reject) => {
    parser.on('end', resolve);
    parser.on('error', reject);
  });
  const pending: Array<Promise<void>> = [];
  parser.on('entry', (entry: ReadEntry) => {
    pending.push(
      toVinyl(entry, base, include, hashes, refused).then((vinyl) => {
        if (vinyl) push(vinyl);
      }),
    );
  });
  const magic = await peek(source);
  const input = magic[0] === 0x1f && magic[1] === 0x8b ? magic.stream.pipe(createGunzip()) : magic.stream;
  input.on('error', (error) => parser.emit('error', error));
  input.pipe(parser as unknown as NodeJS.WritableStream);
  await done;
  await Promise.all(pending);
  return refused;
}

async function toVinyl(
  entry: ReadEntry,
  base: string,
  include: ((path: string) => boolean) | undefined,
  hashes: Map<string, string | undefined>,
  refused: string[],
): Promise<File | undefined> {
  const raw = entry.path.replace(/\/+$/, '');
  const chunks: Buffer[] = [];
  for await (const chunk of entry as AsyncIterable<Buffer>) chunks.push(chunk);
  if (include && !include(raw)) return undefined;
  const safe = safeEntryPath(raw, { maxDepth: DEFAULT_MAX_DEPTH });
  if ('refused' in safe) {
    refused.push(`${raw}: ${safe.refused}`);
    return undefined;
  }
  const mtime = entry.mtime ?? new Date(0);
  const stat = { mode: entry.mode ?? 0o644, mtime, atime: mtime, isDirectory: () => entry.type === 'Directory', isSymbolicLink: () => entry.type === 'SymbolicLink', isFile: () => entry.type === 'File' || entry.type === 'OldFile' };
  const path = join(base, safe.path);
  if (entry.type === 'Directory') return new File({ base, path, contents: null, stat: stat as never });
  if (entry.type === 'SymbolicLink') {
    const refusal = symlinkTargetRefusal(safe.path, entry.linkpath ?? '');
    if (refusal) {
      refused.push(`${raw}: ${refusal}`);
      return undefined;
    }
    const link = new File({ base, path, contents: null, stat: stat as never });
    link.symlink = entry.linkpath!;
    return link;
  }
  if (entry.type !== 'File' && entry.type !== 'OldFile') return undefined; // links, devices, FIFOs: not emitted
  const contents = Buffer.concat(chunks);
  const expected = hashes.get(raw);
  if (expected !== undefined && createHash('sha256').update(contents).digest('hex') !== expected) {
    refused.push(`${raw}: its content does not match its SHA-256 in the manifest`);
    return undefined;
  }
  return new File({ base, path, contents, stat: stat as never });
}

/** Reads the first two bytes (gzip magic) and gives back a stream that still starts with them. */
async function peek(stream: Readable): Promise<{ 0: number | undefined; 1: number | undefined; stream: Readable }> {
  const iterator = stream[Symbol.asyncIterator]();
  const first = await iterator.next();
  const head: Buffer = first.done ? Buffer.alloc(0) : Buffer.from(first.value as Buffer);
  async function* rest() {
    if (head.length > 0) yield head;
    for (;;) {
      const next = await iterator.next();
      if (next.done) return;
      yield next.value as Buffer;
    }
  }
  return { 0: head[0], 1: head[1], stream: Readable.from(rest()) };
}
