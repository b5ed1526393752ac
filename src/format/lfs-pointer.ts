/**
 * A Git LFS pointer: the small text file a checkout leaves where an LFS-tracked file was when its
 * object was not fetched (actions/checkout without `lfs: true`, a clone without git-lfs). Backups
 * kept in git with LFS come back as pointers there; read as an archive or a manifest, one looked
 * like damage. It is named for what it is, with what to do.
 */
import { BackupError } from '../errors.js';

/** The first line of every pointer file. */
export const LFS_VERSION_LINE = 'version https://git-lfs.github.com/spec/v1';
/** Pointer files are under 1024 bytes (the LFS spec). */
const MAX_POINTER_BYTES = 1024;

/** The pointer's object size, when `bytes` (a whole file) is a Git LFS pointer; undefined otherwise. */
export function lfsPointer(bytes: Buffer | string): { size: number | undefined } | undefined {
  if (bytes.length >= MAX_POINTER_BYTES) return undefined;
  const text = typeof bytes === 'string' ? bytes : bytes.toString('utf8');
  if (!text.startsWith(`${LFS_VERSION_LINE}\n`) && !text.startsWith(`${LFS_VERSION_LINE}\r\n`)) return undefined;
  // Text lines only, naming the object: no tar header (NULs) or other file starts so.
  if (text.includes('\0') || !/^oid sha256:[0-9a-f]{64}\r?$/m.test(text)) return undefined;
  const size = /^size (\d+)\r?$/m.exec(text)?.[1];
  return { size: size === undefined ? undefined : Number(size) };
}

/** What to do about a pointer. */
export const FETCH_LFS_OBJECT = 'its object was not fetched. Fetch it (git lfs pull; in GitHub Actions, actions/checkout with lfs: true) and run again.';

/** A backup's file that is a Git LFS pointer: exit 2 (it is not here), never damage. */
export class LfsPointerError extends BackupError {
  constructor(path: string, pointer: { size: number | undefined }) {
    super(
      'ARCHIVE_UNRECOGNIZED',
      `${path} is a Git LFS pointer${pointer.size === undefined ? '' : ` to ${pointer.size} bytes`}, not the backup's file: ${FETCH_LFS_OBJECT}`,
      { path },
    );
  }
}

/** Throws LfsPointerError when `file` is a Git LFS pointer. */
export async function refuseLfsPointer(file: { readonly size: number; read(position: number, length: number): Promise<Buffer> }, path: string): Promise<void> {
  if (file.size >= MAX_POINTER_BYTES || file.size < LFS_VERSION_LINE.length) return;
  const pointer = lfsPointer(await file.read(0, file.size));
  if (pointer) throw new LfsPointerError(path, pointer);
}
