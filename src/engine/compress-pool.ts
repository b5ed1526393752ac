/**
 * A pool of worker threads that deflate blocks. Worker threads, not zlib's async API: that one
 * runs on libuv's shared pool, 4 threads by default, which would cap us at 4 cores (measured in
 * docs/BENCHMARKS.md). Blocks travel as transferred ArrayBuffers, so nothing is copied between
 * threads, and the input buffer comes back with the result for reuse.
 */
import { Worker } from 'node:worker_threads';

/**
 * The worker's code, evaluated as a script so that it runs the same from TypeScript sources,
 * from the compiled package and from a single-file bundle.
 */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const zlib = require('node:zlib');
parentPort.on('message', (job) => {
  try {
    const input = new Uint8Array(job.block, 0, job.length);
    // One output chunk of deflate's worst-case size: no concatenation inside zlib.
    const chunkSize = Math.max(64 * 1024, job.length + (job.length >> 10) + 1024);
    let deflated = zlib.deflateRawSync(input, { level: job.level, chunkSize });
    // Transfer only memory the result owns: small results may live in Node's shared buffer pool.
    if (deflated.byteOffset !== 0 || deflated.byteLength !== deflated.buffer.byteLength) deflated = new Uint8Array(deflated);
    const crc = zlib.crc32(input);
    parentPort.postMessage({ id: job.id, block: job.block, deflated: deflated.buffer, crc }, [job.block, deflated.buffer]);
  } catch (error) {
    parentPort.postMessage({ id: job.id, block: job.block, error: String(error && error.stack || error) }, [job.block]);
  }
});
`;

export interface DeflatedBlock {
  /** Raw deflate data (no gzip framing). */
  deflated: Buffer;
  /** CRC-32 of the uncompressed block. */
  crc32: number;
  /** The input buffer, handed back for reuse. */
  block: ArrayBuffer;
}

interface Job {
  id: number;
  block: ArrayBuffer;
  length: number;
  resolve: (result: DeflatedBlock) => void;
  reject: (error: Error) => void;
}

interface WorkerReply {
  id: number;
  block: ArrayBuffer;
  deflated?: ArrayBuffer;
  crc?: number;
  error?: string;
}

export class CompressPool {
  private readonly idle: Worker[] = [];
  private readonly all: Worker[] = [];
  private readonly queue: Job[] = [];
  private readonly running = new Map<Worker, Job>();
  private nextId = 0;
  private failure: Error | undefined;
  private closed = false;

  constructor(
    size: number,
    private readonly level: number,
  ) {
    for (let i = 0; i < size; i++) {
      // execArgv: [] keeps loaders such as tsx out of the workers; they run plain JavaScript.
      const worker = new Worker(WORKER_SOURCE, { eval: true, execArgv: [] });
      worker.on('message', (reply: WorkerReply) => this.settle(worker, reply));
      worker.on('error', (error) => this.fail(error));
      worker.on('exit', (code) => {
        if (code !== 0 && !this.closed) this.fail(new Error(`compression worker exited with code ${code}`));
      });
      this.all.push(worker);
      this.idle.push(worker);
    }
  }

  /** Deflates the first `length` bytes of `block`; `block` is transferred and returned with the result. */
  deflate(block: ArrayBuffer, length: number): Promise<DeflatedBlock> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.queue.push({ id: this.nextId++, block, length, resolve, reject });
      this.dispatch();
    });
  }

  /** Stops every worker; pending jobs are rejected. */
  async close(): Promise<void> {
    this.closed = true;
    this.rejectAll(new Error('compression pool closed'));
    await Promise.all(this.all.map((worker) => worker.terminate()));
  }

  private dispatch(): void {
    while (this.idle.length > 0 && this.queue.length > 0) {
      const worker = this.idle.pop()!;
      const job = this.queue.shift()!;
      this.running.set(worker, job);
      worker.postMessage({ id: job.id, block: job.block, length: job.length, level: this.level }, [job.block]);
    }
  }

  private settle(worker: Worker, reply: WorkerReply): void {
    const job = this.running.get(worker);
    this.running.delete(worker);
    this.idle.push(worker);
    if (job) {
      if (reply.error !== undefined || reply.deflated === undefined || reply.crc === undefined) {
        job.reject(new Error(`compression failed: ${reply.error ?? 'no result'}`));
      } else {
        job.resolve({ deflated: Buffer.from(reply.deflated), crc32: reply.crc, block: reply.block });
      }
    }
    this.dispatch();
  }

  private fail(error: Error): void {
    this.failure ??= error;
    this.rejectAll(error);
  }

  private rejectAll(error: Error): void {
    for (const job of this.running.values()) job.reject(error);
    this.running.clear();
    for (const job of this.queue.splice(0)) job.reject(error);
  }
}
