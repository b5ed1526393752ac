/** Runs the CLI in-process with captured output, or as a real process through tsx. */
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { execa, type ResultPromise } from 'execa';
import { main } from '../../src/cli/main.js';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

function capture(): { stream: NodeJS.WriteStream; text: () => string } {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  return { stream: stream as unknown as NodeJS.WriteStream, text: () => Buffer.concat(chunks).toString() };
}

/** Runs the CLI in this process; `env` is set for the run (AWS_* for S3) and put back after it. */
export async function runCli(args: string[], signal?: AbortSignal, env: Record<string, string> = {}): Promise<CliRun> {
  const stdout = capture();
  const stderr = capture();
  const saved = Object.fromEntries(Object.keys(env).map((key) => [key, process.env[key]]));
  Object.assign(process.env, env);
  try {
    const code = await main(args, { stdout: stdout.stream, stderr: stderr.stream, signal: signal ?? new AbortController().signal });
    return { code, stdout: stdout.text(), stderr: stderr.text() };
  } finally {
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  }
}

const BIN = fileURLToPath(new URL('../../src/cli/bin.ts', import.meta.url));
/** tsx's loader by absolute URL: the child runs in the test's temp folder, outside this package. */
const TSX = import.meta.resolve('tsx');

/**
 * The command as a separate process, as npm scripts and CI run it. `timeoutMs` kills it (SIGKILL:
 * a loop that never yields ignores SIGTERM's clean-up), for tests that prove a run ends at all.
 */
export function spawnCli(args: string[], cwd: string, timeoutMs?: number): ResultPromise<{ cwd: string; reject: false }> {
  return execa(process.execPath, ['--import', TSX, BIN, ...args], { cwd, reject: false, ...(timeoutMs ? { timeout: timeoutMs, killSignal: 'SIGKILL' } : {}) }) as never;
}

/**
 * The command as a process that may write no file past `bytes` (util-linux `prlimit --fsize`):
 * a write past it fails with EFBIG, as one to a full disk fails with ENOSPC, with no privileges
 * needed to fill a file system.
 */
export function spawnCliWithFileSizeLimit(args: string[], cwd: string, bytes: number): ResultPromise<{ cwd: string; reject: false }> {
  return execa('prlimit', [`--fsize=${bytes}`, process.execPath, '--import', TSX, BIN, ...args], { cwd, reject: false }) as never;
}
