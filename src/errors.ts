/**
 * Typed errors with stable codes. Every message says what failed and what to do; the CLI prints
 * the message alone (no stack) for any `BackupError`, since those are user-facing outcomes.
 */

export type BackupErrorCode =
  | 'INVALID_OPTION'
  | 'SOURCE_NOT_FOUND'
  | 'FILE_UNREADABLE'
  | 'OUTPUT_UNWRITABLE'
  | 'OUTPUT_EXISTS'
  | 'GULP_CONTENTS_DECODED'
  | 'MANIFEST_INVALID'
  | 'ARCHIVE_DAMAGED'
  | 'ARCHIVE_TRUNCATED'
  | 'TAR_DAMAGED'
  | 'TAR_TRUNCATED'
  | 'ARCHIVE_UNSUPPORTED'
  | 'ARCHIVE_NEEDS_MEMORY'
  | 'CODEC_UNAVAILABLE'
  | 'ARCHIVE_UNRECOGNIZED'
  | 'NOTHING_SELECTED'
  | 'DUPLICATE_PATH'
  | 'RUN_IN_PROGRESS'
  | 'PARENT_MISSING'
  | 'PARENT_CHANGED'
  | 'PARENT_OTHER_TREE'
  | 'STORE_NOT_FOUND'
  | 'STORE_ACCESS_DENIED'
  | 'STORE_UNAVAILABLE'
  | 'ABORTED';

export interface BackupErrorDetails {
  /** The file or folder concerned, when there is one. */
  path?: string;
  /** The underlying system error, kept for diagnosis. */
  cause?: unknown;
}

export class BackupError extends Error {
  readonly code: BackupErrorCode;
  readonly path: string | undefined;

  constructor(code: BackupErrorCode, message: string, details: BackupErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = new.target.name;
    this.code = code;
    this.path = details.path;
  }
}

/**
 * An option failed validation; the message quotes the value received and what was expected. An
 * unknown option key (`unknownKey`) says so and names the nearest known key.
 */
export class OptionError extends BackupError {
  readonly option: string;
  readonly received: unknown;
  /** What was expected (for an unknown key: the hint). The CLI rewords it in terms of its flags. */
  readonly expected: string;
  readonly unknownKey: boolean;

  constructor(option: string, received: unknown, expected: string, unknownKey = false) {
    super('INVALID_OPTION', unknownKey ? `Unknown option \`${option}\`: ${expected}` : `Expected \`${option}\` to be ${expected}, got \`${formatValue(received)}\``);
    this.option = option;
    this.received = received;
    this.expected = expected;
    this.unknownKey = unknownKey;
  }
}

/** A source could not be found or read. */
export class SourceError extends BackupError {}

/** The archive or manifest could not be written where asked. */
export class OutputError extends BackupError {}

/**
 * A backup chain cannot be followed: a parent backup is missing (`PARENT_MISSING`), its manifest
 * is not the one the child was built on (`PARENT_CHANGED`), or it backs up another tree
 * (`PARENT_OTHER_TREE`).
 */
export class ChainError extends BackupError {}

/**
 * The place backups live in could not be used: an S3 bucket that does not exist
 * (`STORE_NOT_FOUND`), credentials refused or missing (`STORE_ACCESS_DENIED`), a server that kept
 * failing after every retry (`STORE_UNAVAILABLE`). Messages never hold a secret.
 */
export class StoreError extends BackupError {}

/** The operation was cancelled through an `AbortSignal` (or Ctrl-C in the CLI). */
export class AbortError extends BackupError {
  constructor(reason?: unknown) {
    super('ABORTED', 'The operation was cancelled; nothing that looks complete was left behind. Run it again.', {
      cause: reason,
    });
  }
}

export function formatValue(value: unknown): string {
  if (typeof value === 'string') return value;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** Wraps a system error met while reading `path` into a `SourceError` that says what to do. */
export function sourceReadError(path: string, error: unknown): SourceError {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT') {
    return new SourceError('SOURCE_NOT_FOUND', `Source not found: ${path}. Check the path, or remove it from the sources.`, {
      path,
      cause: error,
    });
  }
  const reason = code ?? (error instanceof Error ? error.message : String(error));
  return new SourceError('FILE_UNREADABLE', `Cannot read ${path} (${reason}). ${READ_ADVICE[code ?? ''] ?? 'Fix what keeps it from being read'}, or leave it out with an exclude pattern (or onFileError: 'skip').`, {
    path,
    cause: error,
  });
}

/**
 * Two different files (or folders) would have one path in the archive: a restore could give back
 * only one, so the backup is refused rather than one of them left out in silence. `advice` says
 * how to part them.
 */
export function duplicatePathError(archivePath: string, first: string, second: string, advice: string): SourceError {
  return new SourceError('DUPLICATE_PATH', `${first} and ${second} would both be ${archivePath} in the archive; a restore could give back only one. ${advice}`, {
    path: second,
  });
}

/** What to do about a read error, by its code; the rest get a general word. */
const READ_ADVICE: Readonly<Record<string, string>> = {
  EACCES: 'Fix its permissions',
  EPERM: 'Fix its permissions',
  ENAMETOOLONG: `Its path is longer than the system lets a program name a file (PATH_MAX, 4096 bytes on Linux): move it higher in the tree`,
  EIO: 'The device reports an I/O error: check the disk',
  EMFILE: 'Too many files are open: raise the limit (ulimit -n)',
  ENFILE: 'Too many files are open: raise the limit (ulimit -n)',
};

/**
 * A backup's file that is a FIFO, a device or a socket: read, it would block until a writer came
 * (a FIFO) or never end (a device). Refused before it is read.
 */
export function notAFileError(path: string, stats: { isFIFO(): boolean; isSocket(): boolean; isDirectory(): boolean }): BackupError {
  const kind = stats.isFIFO() ? 'a FIFO (a named pipe)' : stats.isSocket() ? 'a socket' : stats.isDirectory() ? 'a folder' : 'a device';
  return new BackupError(
    'ARCHIVE_UNRECOGNIZED',
    `${path} is ${kind}, not a file: gulp-backup reads a backup from files (restore and verify read the archive where they need to). Save the stream to a file first (… > backup.tar.gz), or extract it with tar -x.`,
    { path },
  );
}

/** Wraps a system error met while writing the output into an `OutputError`. */
export function outputWriteError(path: string, error: unknown): OutputError {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const reason = code ?? (error instanceof Error ? error.message : String(error));
  return new OutputError('OUTPUT_UNWRITABLE', `Cannot write the backup to ${path} (${reason}). ${WRITE_ADVICE[code ?? ''] ?? 'Choose a writable output folder'}.`, {
    path,
    cause: error,
  });
}

/** What to do when restoring an entry fails with a system error, by its code: a full disk says so, not only `ENOSPC`. */
const RESTORE_ADVICE: Readonly<Record<string, string>> = {
  ENOSPC: 'the disk is full: free some space, or restore into another folder',
  EDQUOT: 'your disk quota is used up: free some space, or restore into another folder',
  EFBIG: 'the file is larger than this process may write (ulimit -f) or the file system holds (FAT32: 4 GiB): raise the limit, or restore elsewhere',
  EROFS: 'that file system is read-only: restore into another folder',
  EACCES: 'this user may not write there: restore into a writable folder, or fix its permissions',
  EPERM: 'this user may not write there: restore into a writable folder, or fix its permissions',
  EIO: 'the device reports an I/O error: check the disk',
  EINVAL: 'the target\'s file system does not take this name (FAT, exFAT and Windows refuse \\ : * ? " < > | and a name that ends in a dot or a space): restore onto another file system',
  ENAMETOOLONG: "its name or path is longer than the target's file system takes (a name: 255 bytes on most, 143 on eCryptfs; a path: 4,096 bytes on Linux): restore onto another file system, or with --strip-components for a long path",
};

/** Why a system error failed an entry of a restore, and what to do when the code says. */
export function restoreFailureReason(error: Error): string {
  const advice = RESTORE_ADVICE[(error as NodeJS.ErrnoException).code ?? ''];
  return advice === undefined ? error.message : `${error.message}: ${advice}`;
}

/** What to do about a write error, by its code; the rest get a general word. */
const WRITE_ADVICE: Readonly<Record<string, string>> = {
  ENOSPC: 'The disk is full: free some space, or choose another output folder',
  EDQUOT: 'Your disk quota is used up: free some space, or choose another output folder',
  ENOTDIR: 'A part of that path is a file, not a folder: choose an output folder',
  ENOENT: 'A part of that path cannot be made there: choose an output folder that can be created',
  EACCES: 'This user may not write there: choose a writable output folder, or fix its permissions',
  EPERM: 'This user may not write there: choose a writable output folder, or fix its permissions',
  EFBIG: 'The archive is larger than this process may write (ulimit -f) or the file system holds (FAT32: 4 GiB): raise the limit, or choose another output folder',
  EROFS: 'That file system is read-only: choose a writable output folder',
  EIO: 'The device reports an I/O error: check the disk, or choose another output folder',
};
