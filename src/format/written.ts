/** Writing into a zlib stream piece by piece, as the gzip and zstd readers feed their decoders. */
import type { EventEmitter } from 'node:events';

/**
 * Resolves once `stream` has taken `piece`, or has failed (the failure is the caller's to read
 * from its 'error' listener): an error may end the stream without calling back the write that
 * caused it.
 */
export function written(stream: NodeJS.WritableStream & EventEmitter, piece: Buffer): Promise<void> {
  return new Promise<void>((resolve) => {
    const settle = () => {
      stream.off('error', settle);
      resolve();
    };
    stream.once('error', settle);
    stream.write(piece, settle);
  });
}
