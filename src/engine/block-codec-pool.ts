/**
 * A pool of worker threads that compress blocks (backup) and decompress them (verify, restore),
 * with whichever codec each job names (a chain may mix codecs). Worker threads, not zlib's async
 * API: that one runs on libuv's shared pool, 4 threads by default, which would cap us at 4 cores
 * (measured in docs/BENCHMARKS.md). Blocks travel as transferred ArrayBuffers, so nothing is
 * copied between threads, and the input buffer comes back with the result for reuse.
 */
import { createHash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import * as zlib from 'node:zlib';
import type { BlockCodec } from '../format/codecs/block-codec.js';
import { CODECS } from '../format/codecs/codecs.js';

/**
 * The worker's code, evaluated as a script so that it runs the same from TypeScript sources,
 * from the compiled package and from a single-file bundle. Each codec brings its own functions.
 */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const zlib = require('node:zlib');
const crypto = require('node:crypto');
const codecs = { ${CODECS.map((codec) => `${JSON.stringify(codec.name)}: ${codec.workerSource}`).join(',\n')} };
// Results travel with their whole ArrayBuffer and a length, not as a copy: a copy would leave zlib's
// ~1 MiB output buffer behind per block, which the worker's GC frees late (peak RSS 224 -> 162 MB on
// the small corpus). Small results may sit in Node's shared pool, which must not be transferred.
// The digests of the files that lie whole in a block, taken here, off the main thread.
const digestsOf = (bytes, job) => job.ranges.map(([offset, length]) => job.algorithms.map((algorithm) => crypto.createHash(algorithm).update(bytes.subarray(offset, offset + length)).digest('hex')));
const transferable = (bytes) => (bytes.byteOffset === 0 && bytes.buffer.byteLength > Buffer.poolSize ? bytes : new Uint8Array(bytes));
parentPort.on('message', (job) => {
  try {
    const input = new Uint8Array(job.block, 0, job.length);
    const codec = codecs[job.codec];
    if (job.op === 'compress') {
      const digests = digestsOf(input, job);
      const { output, check } = codec.compress(input, job.level);
      const result = transferable(output);
      parentPort.postMessage({ id: job.id, block: job.block, output: result.buffer, length: result.byteLength, check, digests }, [job.block, result.buffer]);
    } else {
      const raw = codec.decompress(input, job.rawLength);
      const digests = raw.length === job.rawLength ? digestsOf(raw, job) : [];
      const data = transferable(raw);
      parentPort.postMessage({ id: job.id, block: job.block, output: data.buffer, length: data.byteLength, digests }, [job.block, data.buffer]);
    }
  } catch (error) {
    parentPort.postMessage({ id: job.id, block: job.block, error: String((error && error.message) || error) }, [job.block]);
  }
});
`;

interface CodecFunctions {
  compress(input: Uint8Array, level: number): { output: Buffer; check: number };
  decompress(input: Uint8Array, rawLength: number): Buffer;
}

const functionsHere = new Map<BlockCodec, CodecFunctions>();

/** A codec's worker functions evaluated on this thread: the same text, so the same bytes. */
export function codecFunctionsHere(codec: BlockCodec): CodecFunctions {
  let functions = functionsHere.get(codec);
  if (!functions) {
    functions = new Function('zlib', `return ${codec.workerSource};`)(zlib) as CodecFunctions;
    functionsHere.set(codec, functions);
  }
  return functions;
}

/**
 * How many workers inflate blocks when the caller does not say (restore, verify and the plugins
 * that read): one core fewer than the machine has, so that the main thread, which writes or
 * compares what they inflate and is the slower side, is not made to share its core. On 2 cores
 * one worker restored 1 GB of large files in 2.9 s where two took 3.6 s (docs/BENCHMARKS.md).
 * Compression keeps a worker per core: there the workers are the slower side.
 */
export function defaultInflateWorkers(): number {
  return Math.max(1, availableParallelism() - 1);
}

/**
 * Up to this many raw bytes in all, blocks are inflated on the calling thread until a worker has
 * started: a small backup is verified or restored without one (a worker takes ~100 ms to start on
 * a 2-core machine, which was a third of `verify` of a backup of a few files). Backups compress a
 * single small block here for the same reason (BlockWriter).
 */
const INFLATE_HERE_UP_TO = 512 * 1024;

function lengthMismatch(length: number, rawLength: number): string {
  return `decompressed to ${length} bytes where its header declares ${rawLength}`;
}

/** What a worker does for a decompress job, on this thread: the same codec text, the same checks. */
function inflateHere(codec: BlockCodec, input: Uint8Array, rawLength: number, ranges: readonly BlockRange[], algorithms: readonly string[]): DecompressedBlock {
  try {
    const raw = codecFunctionsHere(codec).decompress(input, rawLength);
    if (raw.length !== rawLength) return { error: lengthMismatch(raw.length, rawLength) };
    // Readers free an inflated block once used (freeNow): it must own its ArrayBuffer, which a
    // small result in Node's shared pool does not.
    const data = raw.byteOffset === 0 && raw.buffer.byteLength > Buffer.poolSize ? raw : Buffer.from(new Uint8Array(raw).buffer);
    const digests = ranges.map(([offset, length]) => algorithms.map((algorithm) => createHash(algorithm).update(data.subarray(offset, offset + length)).digest('hex')));
    return { data, digests };
  } catch (error) {
    // As in the worker, whose every step is inside its try: a failure is this block's, not the run's.
    return { error: String((error as Error | undefined)?.message ?? error) };
  }
}

/** Where a file's content lies in a block: its offset and length. */
export type BlockRange = readonly [offset: number, length: number];

export interface CompressedBlock {
  /** The codec's output for the block, before framing. */
  output: Buffer;
  /** For each range asked for, its digest by each algorithm (hex). */
  digests: string[][];
  /** The codec's check value (gzip: CRC-32 of the uncompressed block). */
  check: number;
  /** The input buffer, handed back for reuse. */
  block: ArrayBuffer;
}

/**
 * A block's decompressed bytes, with the digests of the ranges asked for, or why it could not be
 * decompressed (bad checksum, bad length, bad data).
 */
export type DecompressedBlock = { data: Buffer; digests: string[][]; error?: undefined } | { data?: undefined; error: string };

interface WorkerReply {
  id: number;
  block: ArrayBuffer;
  /** The result's ArrayBuffer, of which the first `length` bytes are the result. */
  output?: ArrayBuffer;
  length?: number;
  check?: number;
  digests?: string[][];
  error?: string;
}

interface Job {
  message: {
    op: 'compress' | 'decompress';
    codec: string;
    id: number;
    block: ArrayBuffer;
    length: number;
    level?: number;
    rawLength?: number;
    ranges?: readonly BlockRange[];
    algorithms?: readonly string[];
  };
  settle: (reply: WorkerReply) => void;
  reject: (error: Error) => void;
}

/** How long `close` lets a worker finish the block it is in before stopping it. */
const CLOSE_GRACE_MS = 500;

export class BlockCodecPool {
  private readonly idle: Worker[] = [];
  private readonly all: Worker[] = [];
  private readonly queue: Job[] = [];
  private readonly running = new Map<Worker, Job>();
  /** Workers given a job that have not replied yet (a job rejected still runs there): settled when each replies or exits. */
  private readonly busy = new Map<Worker, { replied: Promise<void>; settle: () => void }>();
  private nextId = 0;
  private failure: Error | undefined;
  private closed = false;

  /** Raw bytes inflated on this thread so far, before any worker started (`INFLATE_HERE_UP_TO`). */
  private inflatedHere = 0;

  /** Workers start when jobs wait for them, up to `size`: a run that compresses one small block starts one worker, not all. */
  constructor(private readonly size: number) {}

  private spawn(): void {
    // execArgv: [] keeps loaders such as tsx out of the workers; they run plain JavaScript.
    const worker = new Worker(WORKER_SOURCE, { eval: true, execArgv: [] });
    worker.on('message', (reply: WorkerReply) => this.settle(worker, reply));
    worker.on('error', (error) => this.fail(error));
    worker.on('exit', (code) => {
      this.replied(worker);
      if (code !== 0 && !this.closed) this.fail(new Error(`compression worker exited with code ${code}`));
    });
    this.all.push(worker);
    this.idle.push(worker);
  }

  /**
   * Compresses the first `length` bytes of `block`, and hashes each of `ranges` with each of
   * `algorithms`; `block` is transferred and returned with the result.
   */
  compress(codec: BlockCodec, level: number, block: ArrayBuffer, length: number, ranges: readonly BlockRange[] = [], algorithms: readonly string[] = []): Promise<CompressedBlock> {
    return this.submit({ op: 'compress', codec: codec.name, id: this.nextId++, block, length, level, ranges, algorithms }, (reply, resolve, reject) => {
      if (reply.error !== undefined || reply.output === undefined || reply.check === undefined || reply.digests === undefined) {
        reject(new Error(`compression failed: ${reply.error ?? 'no result'}`));
      } else {
        resolve({ output: Buffer.from(reply.output, 0, reply.length), check: reply.check, digests: reply.digests, block: reply.block });
      }
    });
  }

  /**
   * Decompresses one whole block's frame (the first `length` bytes of `frame`, transferred),
   * checking its checksum and length and refusing to grow past `rawLength` bytes, and hashes each
   * of `ranges` of the result with each of `algorithms`. Damage is a result, not a rejection: the
   * caller reports it and goes on with the other blocks. `onThisThread`, whatever the size: for a
   * run that reads one block only (one file restored from a large backup, a backup of one block),
   * whose thread would wait idle while a worker started and inflated it.
   */
  decompress(
    codec: BlockCodec,
    frame: ArrayBuffer,
    length: number,
    rawLength: number,
    ranges: readonly BlockRange[] = [],
    algorithms: readonly string[] = [],
    onThisThread = false,
  ): Promise<DecompressedBlock> {
    if (onThisThread || (this.all.length === 0 && this.inflatedHere + rawLength <= INFLATE_HERE_UP_TO)) {
      this.inflatedHere += rawLength;
      return Promise.resolve(inflateHere(codec, new Uint8Array(frame, 0, length), rawLength, ranges, algorithms));
    }
    return this.submit({ op: 'decompress', codec: codec.name, id: this.nextId++, block: frame, length, rawLength, ranges, algorithms }, (reply, resolve) => {
      if (reply.error !== undefined || reply.output === undefined) resolve({ error: reply.error ?? 'no result' });
      else if (reply.length !== rawLength) resolve({ error: lengthMismatch(reply.length ?? 0, rawLength) });
      else resolve({ data: Buffer.from(reply.output, 0, reply.length), digests: reply.digests ?? [] });
    });
  }

  /**
   * Starts one worker now, before any job: for a read that will need one, while its manifest is
   * still decoded (a worker takes 80–100 ms to come online). Jobs then go to it, none is inflated
   * on this thread unless asked (`onThisThread`).
   */
  startOne(): void {
    if (this.all.length === 0 && !this.closed) this.spawn();
  }

  /**
   * Stops every worker; pending jobs are rejected. A worker in a job is let finish it first, for
   * up to `CLOSE_GRACE_MS` (a block takes milliseconds at the default levels): stopped between
   * zlib's making a stream and starting it, a worker takes the whole process down (Node's "close
   * before init" assertion, SIGABRT and a core dump, on Ctrl-C during a backup; seen once in CI, on
   * Node 24). A job still running after that (zstd at level 19, a large block) is well past that
   * point, and is stopped, so that Ctrl-C never waits long.
   */
  async close(): Promise<void> {
    this.closed = true;
    this.rejectAll(new Error('compression pool closed'));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all([...this.busy.values()].map((job) => job.replied)),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, CLOSE_GRACE_MS))),
    ]);
    clearTimeout(timer);
    await Promise.all(this.all.map((worker) => worker.terminate()));
  }

  /** `worker` has replied (or exited): it is in no job, and whoever waits for that is told. */
  private replied(worker: Worker): void {
    this.busy.get(worker)?.settle();
    this.busy.delete(worker);
  }

  private submit<T>(
    message: Job['message'],
    interpret: (reply: WorkerReply, resolve: (value: T) => void, reject: (error: Error) => void) => void,
  ): Promise<T> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.closed) return Promise.reject(new Error('compression pool closed'));
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
      let settle = () => {};
      const replied = new Promise<void>((resolve) => (settle = resolve));
      this.busy.set(worker, { replied, settle });
      worker.postMessage(job.message, [job.message.block]);
    }
  }

  private settle(worker: Worker, reply: WorkerReply): void {
    this.replied(worker);
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
