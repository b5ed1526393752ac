/** `sha256sum`-format lines, so `sha256sum -c` checks our files with no gulp-backup at hand. */

/** One line of a checksum file: lowercase hex, two spaces (text mode), the file name. */
export function formatChecksumLine(hexDigest: string, fileName: string): string {
  if (/[\n\\]/.test(fileName)) {
    // sha256sum escapes such names with a leading backslash; we never produce them.
    throw new RangeError(`cannot list ${JSON.stringify(fileName)} in a checksum file`);
  }
  return `${hexDigest}  ${fileName}\n`;
}
