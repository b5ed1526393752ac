/**
 * A pool of worker threads that deflate blocks (backup) and inflate members (verify, restore).
 * Worker threads, not zlib's async API: that one
 * runs on libuv's shared pool, 4 threads by default, which would cap us at 4 cores (measured in
 * docs/BENCHMARKS.md). Blocks travel as transferred ArrayBuffers, so nothing is copied between
 * threads, and the input buffer comes back with the result for reuse.
 */
import { Worker } from 'node:worker_threads';
import { crc32, deflateRawSync } from 'node:zlib';

/**
 * The worker's code, evaluated as a script so that it runs the same from TypeScript sources,
 * from the compiled package and from a single-file bundle.
 */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const zlib = require('node:zlib');
// Results travel with their whole ArrayBuffer and a length, not as a copy: a copy would leave zlib's
// ~1 MiB output buffer behind per block, which the worker's GC frees late (peak RSS 224 -> 162 MB on
// the small corpus). Small results may sit in Node's shared pool, which must not be transferred.
const transferable = (bytes) => (bytes.byteOffset === 0 && bytes.buffer.byteLength > Buffer.poolSize ? bytes : new Uint8Array(bytes));
parentPort.on('message', (job) => {
  try {
    const input = new Uint8Array(job.block, 0, job.length);
    if (job.op === 'deflate') {
      // One output chunk of deflate's worst-case size: no concatenation inside zlib.
      const chunkSize = Math.max(64 * 1024, job.length + (job.length >> 10) + 1024);
      const deflated = transferable(zlib.deflateRawSync(input, { level: job.level, chunkSize }));
      const crc = zlib.crc32(input);
      parentPort.postMessage({ id: job.id, block: job.block, output: deflated.buffer, length: deflated.byteLength, crc }, [job.block, deflated.buffer]);
    } else {
      // A whole gzip member: zlib checks its CRC-32 and ISIZE; the cap stops a member that
      // inflates past the length its header declares (a gzip bomb) as soon as it does.
      // One byte more than the block: a chunk that fills up exactly makes zlib allocate another.
      const data = transferable(zlib.gunzipSync(input, { maxOutputLength: Math.max(1, job.rawLength), chunkSize: Math.max(64, job.rawLength + 1) }));
      parentPort.postMessage({ id: job.id, block: job.block, output: data.buffer, length: data.byteLength }, [job.block, data.buffer]);
    }
  } catch (error) {
    parentPort.postMessage({ id: job.id, block: job.block, error: String((error && error.message) || error) }, [job.block]);
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

/** A member's inflated bytes, or why it could not be inflated (bad CRC, bad length, bad data). */
export type InflatedMember = { data: Buffer; error?: undefined } | { data?: undefined; error: string };

interface WorkerReply {
  id: number;
  block: ArrayBuffer;
  /** The result's ArrayBuffer, of which the first `length` bytes are the result. */
  output?: ArrayBuffer;
  length?: number;
  crc?: number;
  error?: string;
}

interface Job {
  message: { op: 'deflate' | 'inflate'; id: number; block: ArrayBuffer; length: number; level?: number; rawLength?: number };
  settle: (reply: WorkerReply) => void;
  reject: (error: Error) => void;
}

export class BlockCodecPool {
  private readonly idle: Worker[] = [];
  private readonly all: Worker[] = [];
  private readonly queue: Job[] = [];
  private readonly running = new Map<Worker, Job>();
  private nextId = 0;
  private failure: Error | undefined;
  private closed = false;

  /**
   * `level` is the deflate level; pools that only inflate pass 0. Workers start when jobs wait
   * for them, up to `size`: a run that compresses one small block starts one worker, not all.
   */
  constructor(
    private readonly size: number,
    private readonly level = 0,
  ) {}

  private spawn(): void {
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

  /** Deflates the first `length` bytes of `block`; `block` is transferred and returned with the result. */
  deflate(block: ArrayBuffer, length: number): Promise<DeflatedBlock> {
    return this.submit({ op: 'deflate', id: this.nextId++, block, length, level: this.level }, (reply, resolve, reject) => {
      if (reply.error !== undefined || reply.output === undefined || reply.crc === undefined) {
        reject(new Error(`compression failed: ${reply.error ?? 'no result'}`));
      } else {
        resolve({ deflated: Buffer.from(reply.output, 0, reply.length), crc32: reply.crc, block: reply.block });
      }
    });
  }

  /**
   * Deflates on this thread, as a worker would (the same bytes): for an archive of one block, where
   * starting a worker costs more than the work (a run that changed nothing writes one small block).
   */
  deflateHere(bytes: Buffer): { deflated: Buffer; crc32: number } {
    return { deflated: deflateRawSync(bytes, { level: this.level }), crc32: crc32(bytes) };
  }

  /**
   * Inflates one whole gzip member (the first `length` bytes of `member`, transferred), checking
   * its CRC-32 and length and refusing to inflate past `rawLength` bytes. Damage is a result, not
   * a rejection: the caller reports it and goes on with the other members.
   */
  inflate(member: ArrayBuffer, length: number, rawLength: number): Promise<InflatedMember> {
    return this.submit({ op: 'inflate', id: this.nextId++, block: member, length, rawLength }, (reply, resolve) => {
      if (reply.error !== undefined || reply.output === undefined) resolve({ error: reply.error ?? 'no result' });
      else if (reply.length !== rawLength) {
        resolve({ error: `inflated to ${reply.length} bytes where its header declares ${rawLength}` });
      } else resolve({ data: Buffer.from(reply.output, 0, reply.length) });
    });
  }

  /** Stops every worker; pending jobs are rejected. */
  async close(): Promise<void> {
    this.closed = true;
    this.rejectAll(new Error('compression pool closed'));
    await Promise.all(this.all.map((worker) => worker.terminate()));
  }

  private submit<T>(
    message: Job['message'],
    interpret: (reply: WorkerReply, resolve: (value: T) => void, reject: (error: Error) => void) => void,
  ): Promise<T> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ message, settle: (reply) => interpret(reply, resolve, reject), reject });
      this.dispatch();
    });
  }

  private dispatch(): void {
    while (this.queue.length > this.idle.length && this.all.length < this.size) this.spawn();
    while (this.idle.length > 0 && this.queue.length > 0) {
      const worker = this.idle.pop()!;
      const job = this.queue.shift()!;
      this.running.set(worker, job);
      worker.postMessage(job.message, [job.message.block]);
    }
  }

  private settle(worker: Worker, reply: WorkerReply): void {
    const job = this.running.get(worker);
    this.running.delete(worker);
    this.idle.push(worker);
    job?.settle(reply);
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
