/**
 * Hashes of long byte streams on a thread of their own: a large file's chunks, once stored in the
 * block being filled, are copied into a slot of a shared buffer and hashed there while this thread
 * reads on. SHA-256 runs near 1.4 GB/s, and on the main thread it held back everything else
 * (docs/BENCHMARKS.md); a copy costs a tenth of that. The slots bound the memory (16 MiB): when
 * all are taken, the reader waits. One thread keeps each stream's updates in order.
 *
 * Shared slots rather than transferred buffers: a transferred buffer is freed only when the
 * hasher's garbage collector runs, which a thread that allocates nothing seldom does (peak RSS
 * grew by 130 MB on 1 GB of large files).
 */
import { Worker } from 'node:worker_threads';

const SLOT_SIZE = 1024 * 1024;
const SLOTS = 16;

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const slots = workerData.slots;
const streams = new Map();
parentPort.on('message', (message) => {
  try {
    if (message.op === 'open') streams.set(message.id, message.algorithms.map((algorithm) => createHash(algorithm)));
    else if (message.op === 'update') {
      const bytes = new Uint8Array(slots, message.slot * ${SLOT_SIZE}, message.length);
      for (const hash of streams.get(message.id)) hash.update(bytes);
      parentPort.postMessage({ slot: message.slot });
    } else if (message.op === 'digest') {
      const digests = streams.get(message.id).map((hash) => hash.digest('hex'));
      streams.delete(message.id);
      parentPort.postMessage({ id: message.id, digests });
    } else streams.delete(message.id);
  } catch (error) {
    parentPort.postMessage({ id: message.id, error: String((error && error.message) || error) });
  }
});
`;

interface Reply {
  id?: number;
  slot?: number;
  digests?: string[];
  error?: string;
}

export class StreamHasher {
  private worker: Worker | undefined;
  /** Allocated with the thread, on the first stream: most runs of small files never need it. */
  private slots: SharedArrayBuffer | undefined;
  private readonly freeSlots = Array.from({ length: SLOTS }, (_, i) => i);
  private slotFreed: (() => void) | undefined;
  private nextId = 0;
  private readonly waiting = new Map<number, { resolve: (digests: string[]) => void; reject: (error: Error) => void }>();
  private failure: Error | undefined;

  private start(): Worker {
    this.slots = new SharedArrayBuffer(SLOT_SIZE * SLOTS);
    // execArgv: [] keeps loaders such as tsx out of the worker; it runs plain JavaScript.
    const worker = new Worker(WORKER_SOURCE, { eval: true, execArgv: [], workerData: { slots: this.slots } });
    worker.on('message', (reply: Reply) => {
      if (reply.slot !== undefined) {
        this.freeSlots.push(reply.slot);
        this.wake();
        return;
      }
      const waiter = this.waiting.get(reply.id!);
      this.waiting.delete(reply.id!);
      if (reply.digests) waiter?.resolve(reply.digests);
      else waiter?.reject(new Error(`hashing failed: ${reply.error}`));
    });
    worker.on('error', (error) => this.fail(error));
    return worker;
  }

  /** A new stream hashed with each of `algorithms`. */
  open(algorithms: readonly string[]): number {
    const id = this.nextId++;
    this.worker ??= this.start();
    this.worker.postMessage({ op: 'open', id, algorithms });
    return id;
  }

  /** Adds a copy of `bytes` to stream `id`, waiting for a free slot when the hasher is behind. */
  async update(id: number, bytes: Uint8Array): Promise<void> {
    for (let from = 0; from < bytes.length; from += SLOT_SIZE) {
      while (this.freeSlots.length === 0) {
        if (this.failure) throw this.failure;
        await new Promise<void>((resolve) => (this.slotFreed = resolve));
      }
      const slot = this.freeSlots.pop()!;
      const piece = bytes.subarray(from, from + SLOT_SIZE);
      new Uint8Array(this.slots!, slot * SLOT_SIZE, piece.length).set(piece);
      this.worker!.postMessage({ op: 'update', id, slot, length: piece.length });
    }
  }

  /** The stream's digests, in the order of its algorithms (hex). */
  digest(id: number): Promise<string[]> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.worker!.postMessage({ op: 'digest', id });
    });
  }

  /** Forgets a stream whose bytes were not kept. */
  discard(id: number): void {
    this.worker?.postMessage({ op: 'discard', id });
  }

  async close(): Promise<void> {
    this.fail(new Error('hasher closed'));
    await this.worker?.terminate();
  }

  private wake(): void {
    const wake = this.slotFreed;
    this.slotFreed = undefined;
    wake?.();
  }

  private fail(error: Error): void {
    this.failure ??= error;
    this.wake();
    for (const waiter of this.waiting.values()) waiter.reject(error);
    this.waiting.clear();
  }
}
