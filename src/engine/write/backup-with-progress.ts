/**
 * The progress of a backup as an async iterator, for scripts that prefer `for await` to a callback.
 *
 * @example
 * const run = backupWithProgress({ sources: ['src'], out: 'backups' });
 * for await (const p of run) console.log(p.percentage, p.currentFile);
 * const result = await run.result;
 */
import { createBackup, type BackupResult } from './backup.js';
import type { BackupOptions } from '../options.js';
import type { BackupProgress } from '../progress.js';

export interface BackupRun extends AsyncIterableIterator<BackupProgress> {
  /** Settles with the backup: the result, or the error that also ends the iteration. */
  result: Promise<BackupResult>;
}

export function backupWithProgress(options: BackupOptions): BackupRun {
  const queue: BackupProgress[] = [];
  let wake: (() => void) | undefined;
  let finished = false;
  let failure: unknown;
  const result = createBackup({
    ...options,
    onProgress: (progress) => {
      options.onProgress?.(progress);
      queue.push(progress);
      wake?.();
    },
  });
  result.then(
    () => {
      finished = true;
      wake?.();
    },
    (error: unknown) => {
      failure = error;
      finished = true;
      wake?.();
    },
  );
  // The iterator reports a failure; `result` rejecting unobserved must not crash the process.
  result.catch(() => {});

  const iterator: BackupRun = {
    result,
    async next(): Promise<IteratorResult<BackupProgress>> {
      for (;;) {
        const progress = queue.shift();
        if (progress) return { value: progress, done: false };
        if (finished) {
          if (failure !== undefined) throw failure;
          return { value: undefined, done: true };
        }
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}
