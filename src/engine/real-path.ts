/** A path with its symlinks resolved (names that are not UTF-8 kept exactly), or itself when it cannot be: not there yet. */
import { realpathSync } from 'node:fs';
import { decodeNameBytes, fsPath } from '../format/path-bytes.js';

export function realPathOf(path: string): string {
  try {
    return decodeNameBytes(realpathSync(fsPath(path), { encoding: 'buffer' }));
  } catch {
    return path;
  }
}
