/**
 * Where backups live: a folder on disk or a prefix in an S3 bucket. The engine reads and writes
 * backups only through this seam, so every command works the same on both (docs/DESIGN-DECISIONS.md
 * §Stores). A store is one folder: names in it are plain file names (`NAME.manifest.jsonl`).
 */
import type { Readable } from 'node:stream';

export interface StoredFileStat {
  size: number;
  modified: Date;
}

/** A file opened for reading: its size and bytes at any offset, fetched as asked. */
export interface StoredFile {
  /** Where it is, for messages. */
  readonly location: string;
  readonly size: number;
  /** Up to `length` bytes at `position` (fewer at the end), in a buffer of their own (transferable). */
  read(position: number, length: number): Promise<Buffer>;
  /**
   * Says which ranges `[start, end)` will be read next, in order: a remote store fetches them ahead,
   * several at once, each into a buffer of its own. Reads are still made one by one.
   */
  willRead?(ranges: readonly (readonly [number, number])[]): void;
  close(): Promise<void>;
}

/**
 * A file being written: invisible under its name until `place()`. `seal()` makes the content
 * durable (on S3: every part uploaded) without showing it; `discard()` removes every trace.
 */
export interface StoreWriter {
  readonly location: string;
  /** Resolves once the bytes are written or copied: the caller may then reuse or free the buffers. */
  write(buffers: Buffer[]): Promise<void>;
  /** Says so to the block writer (`ArchiveSink`), which frees each compressed block once it is written. */
  readonly doneWithBuffersOnWrite: true;
  seal(): Promise<void>;
  place(): Promise<void>;
  /** `seal()` then `place()`. */
  commit(): Promise<void>;
  discard(): Promise<void>;
}

export interface BackupStore {
  /** The folder (`/backups`) or prefix (`s3://bucket/backups`), as messages show it. */
  readonly location: string;
  /** Whether it is remote (S3): read ahead harder, and no `.partial` files. */
  readonly remote: boolean;
  /** The location of a name in it. */
  locationOf(name: string): string;
  /** Makes the folder exist (the bucket must). */
  ensure(): Promise<void>;
  /** Whether the folder exists and is a folder (a prefix always is, once the bucket answers). */
  isFolder(): Promise<boolean>;
  /** The names of the files in it (not of sub-folders). */
  list(): Promise<string[]>;
  /** The size and time of a file; undefined when there is none. */
  stat(name: string): Promise<StoredFileStat | undefined>;
  /** Opens a file for random access; a missing one throws an error whose `code` is `ENOENT`. */
  open(name: string): Promise<StoredFile>;
  /** The bytes of a file, streamed from the start (resumed where it broke off on a reset connection). */
  stream(name: string): Readable;
  /** The whole of a (small) file. */
  readAll(name: string): Promise<Buffer>;
  /** Starts writing a file that replaces any file of that name when placed. */
  create(name: string): Promise<StoreWriter>;
  /** Writes a small file only if none has that name: false when one has (a lock's claim). */
  createExclusive(name: string, content: string): Promise<boolean>;
  /** Removes a file; no error when it is not there. */
  remove(name: string): Promise<void>;
  /** Sets a small file's time to now, keeping its content (a live run's lock); no error when it is not there. */
  touch(name: string): Promise<void>;
  /** Removes what writers of this store left half-done (S3: multipart uploads of dead runs). */
  abandonUploads?(names: readonly string[]): Promise<void>;
}

/** The error a missing file gives, as Node's file system gives it, so that every caller names it the same way. */
export function missingFileError(location: string, cause?: unknown): NodeJS.ErrnoException {
  return Object.assign(new Error(`ENOENT: no such file: ${location}`, cause === undefined ? undefined : { cause }), { code: 'ENOENT', path: location });
}
