/** No compression: the archive is the tar stream itself (`NAME.tar`), cut into blocks only in the index. */
import type { BlockCodec } from './block-codec.js';

export const noneCodec: BlockCodec = {
  name: 'none',
  suffix: '.tar',
  defaultBlockSize: 1024 * 1024,
  decompressesFast: false,
  compresses: false,
  levels: { min: 0, max: 0, default: 0 },
  unavailable: () => undefined,
  workerSource: `({
    compress(input) { return { output: Buffer.from(input), check: 0 }; },
    decompress(input) { return Buffer.from(input); },
  })`,
  frame: (output) => [output],
  frameProblem: () => undefined,
  endMarker: () => Buffer.alloc(0),
  recognizes: () => Promise.resolve(false),
  // eslint-disable-next-line require-yield -- a plain tar has no blocks to walk: readers read it as it is
  async *walk() {
    return 0;
  },
};
