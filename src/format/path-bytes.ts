/**
 * File names are bytes; JavaScript strings are UTF-16. A name that is valid UTF-8 becomes the
 * string it spells; each byte of a name that is not becomes a lone surrogate U+DC80..U+DCFF
 * (Python's "surrogateescape"). The mapping is lossless both ways, JSON keeps lone surrogates
 * (`\udcff`), and two different names never collapse into one, as they would with U+FFFD.
 */

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** The string for a name's bytes: its UTF-8 text, with invalid bytes escaped. */
export function decodeNameBytes(bytes: Uint8Array): string {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return decodeEscaping(bytes);
  }
}

function decodeEscaping(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; ) {
    const length = validSequenceLength(bytes, i);
    if (length === 0) {
      out += String.fromCharCode(0xdc00 | bytes[i]!);
      i++;
    } else {
      out += Buffer.from(bytes.subarray(i, i + length)).toString('utf8');
      i += length;
    }
  }
  return out;
}

/** Length of the well-formed UTF-8 sequence at `i` (RFC 3629: no overlongs, no surrogates), or 0. */
function validSequenceLength(bytes: Uint8Array, i: number): number {
  const b0 = bytes[i]!;
  if (b0 < 0x80) return 1;
  const cont = (k: number, low = 0x80, high = 0xbf) => i + k < bytes.length && bytes[i + k]! >= low && bytes[i + k]! <= high;
  if (b0 >= 0xc2 && b0 <= 0xdf) return cont(1) ? 2 : 0;
  if (b0 === 0xe0) return cont(1, 0xa0) && cont(2) ? 3 : 0;
  if ((b0 >= 0xe1 && b0 <= 0xec) || b0 === 0xee || b0 === 0xef) return cont(1) && cont(2) ? 3 : 0;
  if (b0 === 0xed) return cont(1, 0x80, 0x9f) && cont(2) ? 3 : 0;
  if (b0 === 0xf0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
  if (b0 >= 0xf1 && b0 <= 0xf3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
  if (b0 === 0xf4) return cont(1, 0x80, 0x8f) && cont(2) && cont(3) ? 4 : 0;
  return 0;
}

const ESCAPED_BYTE = /[\udc80-\udcff]/;

/** Whether a name holds bytes that are not UTF-8 (escaped as lone surrogates). */
export function hasEscapedBytes(name: string): boolean {
  return ESCAPED_BYTE.test(name);
}

/** The bytes of a name: the inverse of `decodeNameBytes`. */
export function encodeNameBytes(name: string): Buffer {
  if (!hasEscapedBytes(name)) return Buffer.from(name, 'utf8');
  const parts: Buffer[] = [];
  let start = 0;
  for (let i = 0; i < name.length; i++) {
    const code = name.charCodeAt(i);
    if (code < 0xdc80 || code > 0xdcff) continue;
    // A low surrogate that completes a pair is a real character, not an escaped byte.
    const previous = i > 0 ? name.charCodeAt(i - 1) : 0;
    if (previous >= 0xd800 && previous <= 0xdbff) continue;
    parts.push(Buffer.from(name.slice(start, i), 'utf8'), Buffer.of(code & 0xff));
    start = i + 1;
  }
  parts.push(Buffer.from(name.slice(start), 'utf8'));
  return Buffer.concat(parts);
}

/** What to hand `fs` for a path: the string itself, or its bytes when it holds escaped ones. */
export function fsPath(path: string): string | Buffer {
  return hasEscapedBytes(path) ? encodeNameBytes(path) : path;
}
