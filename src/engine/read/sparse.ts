/**
 * Sparse tar entries (old GNU, PAX 0.0/0.1/1.0) hold only the file's data regions; the map says
 * where each goes. `sparseContent` gives the file's whole content in order: the regions as bytes,
 * and each hole between them as its length (restore leaves holes unwritten, as GNU tar does);
 * `expandSparse` gives zeros for the holes.
 */
import type { SparseLayout } from '../../format/tar-entry-header.js';
import { TarFormatError } from '../../format/tar-entry-stream.js';

const ZEROS = Buffer.alloc(1024 * 1024);

export async function* sparseContent(stored: AsyncIterable<Buffer>, layout: SparseLayout): AsyncGenerator<Buffer | number> {
  const iterator = stored[Symbol.asyncIterator]();
  let pending: Buffer = Buffer.alloc(0);
  let position = 0;
  for (const [offset, length] of layout.map) {
    if (offset < position || offset + length > layout.realSize) {
      throw new TarFormatError('TAR_DAMAGED', `its sparse map is out of order or past its size (${offset}+${length})`, 0);
    }
    if (offset > position) yield offset - position;
    for (let left = length; left > 0; ) {
      if (pending.length === 0) {
        const next = await iterator.next();
        if (next.done) throw new TarFormatError('TAR_DAMAGED', 'its sparse data is shorter than its map', 0);
        pending = next.value;
      }
      const part = pending.subarray(0, left);
      pending = pending.subarray(part.length);
      left -= part.length;
      yield part;
    }
    position = offset + length;
  }
  if (layout.realSize > position) yield layout.realSize - position;
  // Read what is left so that the stream stays in step.
  for (let next = await iterator.next(); !next.done; next = await iterator.next());
}

export async function* expandSparse(stored: AsyncIterable<Buffer>, layout: SparseLayout): AsyncGenerator<Buffer> {
  for await (const part of sparseContent(stored, layout)) {
    if (typeof part !== 'number') yield part;
    else for (let left = part; left > 0; left -= ZEROS.length) yield ZEROS.subarray(0, Math.min(left, ZEROS.length));
  }
}
