/**
 * Retries of transient I/O errors, with exponential backoff and jitter. Synchronous calls (the
 * small-file path) wait with `Atomics.wait`, which blocks only this thread: the compression
 * workers go on.
 */

/** Errors that a second try may not meet: a busy file, a full descriptor table, a flaky disk. */
export const TRANSIENT_CODES: ReadonlySet<string> = new Set(['EBUSY', 'EAGAIN', 'EMFILE', 'ENFILE', 'EIO', 'ETIMEDOUT']);

export interface RetryPolicy {
  /** Further tries after the first. */
  retries: number;
  /** Base delay in milliseconds; try n waits about delay × 2^n (between half and one and a half of it). */
  delayMs: number;
  /** Called before each retry, for the statistics. */
  onRetry: (error: NodeJS.ErrnoException) => void;
}

export const NO_RETRIES: RetryPolicy = { retries: 0, delayMs: 0, onRetry: () => {} };

function isTransient(error: unknown): boolean {
  return TRANSIENT_CODES.has((error as NodeJS.ErrnoException | undefined)?.code ?? '');
}

function backoff(policy: RetryPolicy, attempt: number): number {
  return policy.delayMs * 2 ** attempt * (0.5 + Math.random());
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));

export function retrySync<T>(policy: RetryPolicy, call: () => T): T {
  for (let attempt = 0; ; attempt++) {
    try {
      return call();
    } catch (error) {
      if (!isTransient(error) || attempt >= policy.retries) throw error;
      policy.onRetry(error as NodeJS.ErrnoException);
      Atomics.wait(sleeper, 0, 0, backoff(policy, attempt));
    }
  }
}

export async function retryAsync<T>(policy: RetryPolicy, call: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (!isTransient(error) || attempt >= policy.retries) throw error;
      policy.onRetry(error as NodeJS.ErrnoException);
      await new Promise((resolve) => setTimeout(resolve, backoff(policy, attempt)));
    }
  }
}
