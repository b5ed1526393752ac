/**
 * The manifest records of a backup being written, in archive order, held as the bytes of their
 * JSON lines rather than as objects: a million records took ~400 MB of heap as objects, which the
 * collector scanned again and again and let the heap grow to twice over (docs/DESIGN-DECISIONS.md,
 * "Memory per entry"). A record is settled, and encoded, once its digests are in (they may come
 * later, from another thread); what the statistics need is counted then, by the tally.
 */
import { MANIFEST_PIECE, encodeManifestRecord, type ManifestEntry } from '../../format/manifest.js';

interface Waiting {
  record: ManifestEntry;
  settled: boolean;
}

export class ManifestSpool {
  private readonly waiting: (Waiting | undefined)[] = [];
  private head = 0;
  private piece = '';
  private readonly pieces: Buffer[] = [];
  private unsettled = 0;
  private allSettled: (() => void) | undefined;
  private failure: { error: unknown } | undefined;

  /** @param onSettled told of each record, in order, once its digests are in */
  constructor(private readonly onSettled: (record: ManifestEntry) => void) {}

  /** Appends the next record, complete. */
  add(record: ManifestEntry): void {
    this.waiting.push({ record, settled: true });
    this.flush();
  }

  /** Appends the next record, whose digests come later: call the function returned once they are in. */
  addUnsettled(record: ManifestEntry): () => void {
    const waiting: Waiting = { record, settled: false };
    this.waiting.push(waiting);
    this.unsettled++;
    return () => {
      waiting.settled = true;
      this.unsettled--;
      this.flush();
      if (this.unsettled === 0) this.allSettled?.();
    };
  }

  /** A record's digests failed: `settle` throws this. */
  fail(error: unknown): void {
    this.failure ??= { error };
    this.allSettled?.();
  }

  /** Waits for every record's digests; then `lines()` has them all. Throws what a digest failed with. */
  async settle(): Promise<void> {
    if (this.unsettled > 0 && !this.failure) await new Promise<void>((resolve) => (this.allSettled = resolve));
    if (this.failure) throw this.failure.error;
    if (this.head !== this.waiting.length) throw new Error('manifest records left unsettled'); // a bug, not a fault
    this.cut();
  }

  /** The records' lines (UTF-8), in pieces of whole lines, once settled. */
  lines(): Iterable<Buffer> {
    return this.pieces;
  }

  private flush(): void {
    while (this.head < this.waiting.length && this.waiting[this.head]!.settled) {
      const { record } = this.waiting[this.head]!;
      this.waiting[this.head++] = undefined;
      this.onSettled(record);
      this.piece += encodeManifestRecord(record);
      if (this.piece.length >= MANIFEST_PIECE) this.cut();
    }
    // Forget the settled slots now and then, not on every record (a shift per record is quadratic).
    if (this.head >= 4096 && this.head * 2 >= this.waiting.length) {
      this.waiting.splice(0, this.head);
      this.head = 0;
    }
  }

  private cut(): void {
    if (this.piece.length === 0) return;
    // Held as bytes outside the JavaScript heap: the collector neither scans them nor grows the heap for them.
    this.pieces.push(Buffer.from(this.piece));
    this.piece = '';
  }
}
