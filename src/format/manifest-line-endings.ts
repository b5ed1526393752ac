/**
 * A manifest whose line endings were converted to CRLF (git's `core.autocrlf` on Windows, an
 * editor, an FTP transfer in ASCII mode), that an editor saved with a UTF-8 byte-order mark, or
 * that was saved as UTF-16 (Windows PowerShell 5's `>` and `Out-File` write UTF-16LE with a
 * byte-order mark and CRLF), holds the same records, but its bytes no longer match the digests in
 * its footer and in a child's parent link. A manifest written by gulp-backup is UTF-8, holds no
 * carriage return at all (JSON escapes one inside a string as `\r`) and starts with `{"`, so
 * UTF-16 text (told by its byte-order mark, or by `{` and `"` each with a zero byte) turned back
 * into UTF-8, less a leading BOM and the CR that ends each line, gives back exactly the bytes
 * written, and the digests then prove them as before; a manifest edited in any other way still
 * fails them. Such a manifest is read as written, and the reader says so.
 */

import { TextDecoder } from 'node:util';

const CR = 0x0d;
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);
/** Bytes enough to tell UTF-16 from UTF-8: `{"` takes four in UTF-16. */
const HEAD = 4;

/** The UTF-16 form that `head` (a manifest's first bytes) starts with, if any. */
function utf16Of(head: Buffer): 'utf-16le' | 'utf-16be' | undefined {
  if (head[0] === 0xff && head[1] === 0xfe) return 'utf-16le';
  if (head[0] === 0xfe && head[1] === 0xff) return 'utf-16be';
  if (head[0] === 0x7b && head[1] === 0 && head[2] === 0x22 && head[3] === 0) return 'utf-16le';
  if (head[0] === 0 && head[1] === 0x7b && head[2] === 0 && head[3] === 0x22) return 'utf-16be';
  return undefined;
}

/** `bytes` without a leading byte-order mark and the carriage return of each CRLF; `bytes` itself when there is neither. */
export function withLfLineEndings(bytes: Buffer): Buffer {
  const utf16 = utf16Of(bytes);
  if (utf16) return withLfLineEndings(Buffer.from(new TextDecoder(utf16).decode(bytes)));
  if (bytes.subarray(0, BOM.length).equals(BOM)) return withLfLineEndings(bytes.subarray(BOM.length));
  let crlf = bytes.indexOf('\r\n');
  if (crlf === -1) return bytes;
  const pieces: Buffer[] = [];
  let from = 0;
  for (; crlf !== -1; crlf = bytes.indexOf('\r\n', crlf + 2)) {
    pieces.push(bytes.subarray(from, crlf));
    from = crlf + 1; // the LF stays
  }
  pieces.push(bytes.subarray(from));
  return Buffer.concat(pieces);
}

/**
 * The same over a manifest read piece by piece: a CR at the end of one piece is held back until
 * the next shows whether an LF follows it. `converted()` says whether a CRLF or a byte-order mark was met.
 */
export class LfLineEndings {
  private heldCr = false;
  private met = false;
  /** The first bytes, until there are enough to tell a byte-order mark or UTF-16. */
  private head: Buffer | undefined = Buffer.alloc(0);
  /** Turns UTF-16 pieces into UTF-8, a character cut between two pieces too. */
  private utf16: TextDecoder | undefined;

  /** The piece as written (LF), less a trailing CR held for the next. */
  push(piece: Buffer): Buffer {
    if (this.head !== undefined) {
      const head = Buffer.concat([this.head, piece]);
      if (head.length < HEAD) {
        this.head = head; // too short to tell yet
        return Buffer.alloc(0);
      }
      this.head = undefined;
      const utf16 = utf16Of(head);
      if (utf16) {
        this.met = true;
        this.utf16 = new TextDecoder(utf16);
      }
      piece = !utf16 && head.subarray(0, BOM.length).equals(BOM) ? ((this.met = true), head.subarray(BOM.length)) : head;
    }
    if (this.utf16) piece = Buffer.from(this.utf16.decode(piece, { stream: true }));
    const joined = this.heldCr ? Buffer.concat([Buffer.from([CR]), piece]) : piece;
    this.heldCr = joined.length > 0 && joined[joined.length - 1] === CR;
    const body = this.heldCr ? joined.subarray(0, -1) : joined;
    const lf = withLfLineEndings(body);
    if (lf !== body) this.met = true;
    return lf;
  }

  /** What is still held: a CR that no LF followed, or the start of a file too short to tell (kept: they belong to the bytes). */
  end(): Buffer {
    // A short file's first bytes; what the UTF-16 decoder holds (half a character: damage, shown as U+FFFD).
    const head = this.head === undefined ? Buffer.alloc(0) : this.head.subarray(0, BOM.length).equals(BOM) ? ((this.met = true), this.head.subarray(BOM.length)) : this.head;
    const tail = this.utf16 ? Buffer.from(this.utf16.decode()) : Buffer.alloc(0);
    const rest = Buffer.concat([head, this.heldCr ? Buffer.from([CR]) : Buffer.alloc(0), tail]);
    this.head = undefined;
    this.heldCr = false;
    return rest;
  }

  converted(): boolean {
    return this.met;
  }
}

/** The pieces of a manifest, as written; `onConverted` is told, at the end, when CRLF line endings or a byte-order mark were met. */
export async function* lfLineEndingsOf(pieces: AsyncIterable<Buffer | string>, onConverted: () => void): AsyncGenerator<Buffer> {
  const lf = new LfLineEndings();
  for await (const piece of pieces) {
    const bytes = lf.push(typeof piece === 'string' ? Buffer.from(piece) : piece);
    if (bytes.length > 0) yield bytes;
  }
  const rest = lf.end();
  if (rest.length > 0) yield rest;
  if (lf.converted()) onConverted();
}

/** What the readers say of such a manifest. */
export function convertedLineEndingsWarning(manifestPath: string): string {
  return (
    `${manifestPath} has CRLF line endings or a byte-order mark, or is UTF-16 (git's core.autocrlf, an editor, PowerShell's > or a text-mode transfer converted it): ` +
    `it was read as it was written (UTF-8, LF line endings, no byte-order mark), which its digests prove. Keep backups binary in git (.gitattributes: *.jsonl -text), and copy them as files`
  );
}
