/**
 * A manifest whose line endings were converted to CRLF (git's `core.autocrlf` on Windows, an
 * editor, an FTP transfer in ASCII mode), or that an editor saved with a UTF-8 byte-order mark,
 * holds the same records, but its bytes no longer match the digests in its footer and in a
 * child's parent link. A manifest written by gulp-backup holds no carriage return at all (JSON
 * escapes one inside a string as `\r`) and starts with `{`, so removing every CR that ends a line
 * and a leading BOM gives back exactly the bytes written, and the digests then prove them as
 * before; a manifest edited in any other way still fails them. Such a manifest is read as
 * written, and the reader says so.
 */

const CR = 0x0d;
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

/** `bytes` without a leading byte-order mark and the carriage return of each CRLF; `bytes` itself when there is neither. */
export function withLfLineEndings(bytes: Buffer): Buffer {
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
  /** The first bytes, until there are enough to tell a byte-order mark. */
  private head: Buffer | undefined = Buffer.alloc(0);

  /** The piece as written (LF), less a trailing CR held for the next. */
  push(piece: Buffer): Buffer {
    if (this.head !== undefined) {
      const head = Buffer.concat([this.head, piece]);
      if (head.length < BOM.length && BOM.subarray(0, head.length).equals(head)) {
        this.head = head; // too short to tell yet
        return Buffer.alloc(0);
      }
      this.head = undefined;
      piece = head.subarray(0, BOM.length).equals(BOM) ? ((this.met = true), head.subarray(BOM.length)) : head;
    }
    const joined = this.heldCr ? Buffer.concat([Buffer.from([CR]), piece]) : piece;
    this.heldCr = joined.length > 0 && joined[joined.length - 1] === CR;
    const body = this.heldCr ? joined.subarray(0, -1) : joined;
    const lf = withLfLineEndings(body);
    if (lf !== body) this.met = true;
    return lf;
  }

  /** What is still held: a CR that no LF followed, or the start of a file too short to tell (kept: they belong to the bytes). */
  end(): Buffer {
    const rest = Buffer.concat([this.head ?? Buffer.alloc(0), this.heldCr ? Buffer.from([CR]) : Buffer.alloc(0)]);
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
    `${manifestPath} has CRLF line endings or a byte-order mark (git's core.autocrlf, an editor or a text-mode transfer converted it): ` +
    `it was read as it was written (LF line endings, no byte-order mark), which its digests prove. Keep backups binary in git (.gitattributes: *.jsonl -text)`
  );
}
