/**
 * Follows the structure of a stream of zstd frames (RFC 8878) as its bytes go by, without
 * decompressing: frame headers, block headers and sizes, checksums, skippable frames. It says
 * whether the stream ended where a frame does. Node 22's zstd decoder says nothing of a stream cut
 * short (Node 24's fails it with "unexpected end of file", as `zstd -t` does): a cut `.tar.zst`
 * whose tar happened to be whole was reported intact.
 */
import { ZSTD_FRAME_MAGIC } from './zstd-frames.js';

const SKIPPABLE_MIN = 0x184d2a50;
const SKIPPABLE_MAX = 0x184d2a5f;

type State =
  /** The 4 bytes of a magic number (between frames). */
  | { kind: 'magic' }
  /** The frame header descriptor, then the rest of the header (its length depends on the descriptor). */
  | { kind: 'descriptor' }
  /** Bytes to pass over, then `then`. */
  | { kind: 'skip'; left: number; then: 'block-header' | 'magic' | 'checksum-or-magic' }
  /** A block header's 3 bytes. */
  | { kind: 'block-header' }
  /** Not a zstd stream we can follow: the decoder says what is wrong. */
  | { kind: 'lost' };

export class ZstdFrameWalker {
  private state: State = { kind: 'magic' };
  /** Bytes of a field being gathered across pieces (a magic number, a descriptor, a block header, a skippable frame's size). */
  private field: number[] = [];
  private checksum = false;
  /** Whether the current skippable frame's size is still to be read. */
  private skippableSize = false;

  /** Whether the bytes so far end where a frame ends (or where none began), or could not be followed. */
  get atFrameEnd(): boolean {
    return (this.state.kind === 'magic' && this.field.length === 0 && !this.skippableSize) || this.state.kind === 'lost';
  }

  update(bytes: Uint8Array): void {
    for (let at = 0; at < bytes.length && this.state.kind !== 'lost'; ) {
      const state = this.state;
      if (state.kind === 'skip') {
        const take = Math.min(state.left, bytes.length - at);
        at += take;
        state.left -= take;
        if (state.left === 0) this.after(state.then);
        continue;
      }
      this.field.push(bytes[at++]!);
      this.onField();
    }
  }

  private onField(): void {
    const field = this.field;
    switch (this.state.kind) {
      case 'magic': {
        if (field.length < 4) return;
        const magic = Buffer.from(field).readUInt32LE(0);
        this.field = [];
        if (this.skippableSize) {
          // The skippable frame's size, then its content.
          this.skippableSize = false;
          this.state = magic === 0 ? { kind: 'magic' } : { kind: 'skip', left: magic, then: 'magic' };
        } else if (magic === ZSTD_FRAME_MAGIC) this.state = { kind: 'descriptor' };
        else if (magic >= SKIPPABLE_MIN && magic <= SKIPPABLE_MAX) this.skippableSize = true;
        else this.state = { kind: 'lost' };
        return;
      }
      case 'descriptor': {
        const descriptor = field[0]!;
        this.field = [];
        if (descriptor & 0x08) {
          this.state = { kind: 'lost' }; // reserved bit
          return;
        }
        this.checksum = (descriptor & 0x04) !== 0;
        const singleSegment = (descriptor >> 5) & 1;
        const header = (singleSegment ? 0 : 1) + [0, 1, 2, 4][descriptor & 3]! + [singleSegment ? 1 : 0, 2, 4, 8][descriptor >> 6]!;
        this.state = header === 0 ? { kind: 'block-header' } : { kind: 'skip', left: header, then: 'block-header' };
        return;
      }
      case 'block-header': {
        if (field.length < 3) return;
        const header = field[0]! | (field[1]! << 8) | (field[2]! << 16);
        this.field = [];
        const last = (header & 1) === 1;
        const type = (header >> 1) & 3;
        const size = header >>> 3;
        if (type === 3) {
          this.state = { kind: 'lost' }; // reserved block type
          return;
        }
        const content = type === 1 ? 1 : size; // an RLE block stores one byte
        const then = last ? 'checksum-or-magic' : 'block-header';
        if (content === 0) this.after(then);
        else this.state = { kind: 'skip', left: content, then };
        return;
      }
      default:
        return;
    }
  }

  private after(next: 'block-header' | 'magic' | 'checksum-or-magic'): void {
    if (next === 'checksum-or-magic') {
      this.state = this.checksum ? { kind: 'skip', left: 4, then: 'magic' } : { kind: 'magic' };
      this.checksum = false;
    } else this.state = { kind: next };
  }
}
