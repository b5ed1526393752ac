/** Feeding a zlib decoder piece by piece, as the gzip and zstd readers do, taking its output as it comes. */
import type { Duplex } from 'node:stream';

/**
 * The `chunkSize` a decoder is made with: its output comes in pieces of this size, each a trip to
 * libuv's thread pool and back. zlib's default 16 KiB took 23,000 of them for a 370 MB tar, whose
 * wait was 2.1 s of a 5.4 s restore.
 */
export const OUTPUT_CHUNK = 256 * 1024;

/**
 * What `decoder` makes of `piece` (or of its end, when `piece` is undefined), yielded as it
 * comes; done once the decoder has taken the whole piece (or ended). Its output is read, not
 * listened for: the decoder waits while what it made is not taken, so a stream that inflates
 * 30,000-fold (4 GB of zeros in 130 KB of zstd) never lies in memory whole. It did once, when each
 * 'data' event was kept until the piece was taken: 4.5 GB of memory to verify a 130 KB archive.
 * A failure is thrown once what the decoder passed on before it was yielded; an error may end the stream
 * without calling back the write that caused it, so 'error' settles it too.
 */
export async function* decoded(decoder: Duplex, piece: Buffer | undefined): AsyncGenerator<Buffer> {
  let settled = false;
  let failure: Error | undefined;
  let wake = () => {};
  const settle = (error?: Error | null) => {
    settled = true;
    failure ??= error ?? undefined;
    wake();
  };
  const onReadable = () => wake();
  decoder.on('readable', onReadable);
  decoder.on('error', settle);
  if (piece === undefined) {
    decoder.once('end', settle);
    decoder.end();
    if (decoder.readableEnded) settle(); // it had ended already (the end of its data came)
  } else {
    decoder.write(piece, settle);
  }
  try {
    for (;;) {
      for (let chunk = decoder.read() as Buffer | null; chunk !== null; chunk = decoder.read() as Buffer | null) yield chunk;
      if (settled) break;
      await new Promise<void>((resolve) => (wake = resolve));
    }
  } finally {
    decoder.off('readable', onReadable);
    decoder.off('error', settle);
    decoder.off('end', settle);
  }
  if (failure) throw failure;
}
