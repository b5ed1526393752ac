/** Progress through gulp's logger (gulplog), every few seconds while files are stored, as tasks and plugins log it. */
import { log } from './logger.js';
import { progressLine } from '../report/progress-line.js';
import type { BackupProgress } from '../engine/progress.js';

const LOG_INTERVAL_MS = 2000;

/** An `onProgress` that logs a line every few seconds and passes each event on to `next`. */
export function loggedProgress(next: ((progress: BackupProgress) => void) | undefined): (progress: BackupProgress) => void {
  let lastLog = performance.now();
  return (progress) => {
    next?.(progress);
    if (progress.phase !== 'store' || performance.now() - lastLog < LOG_INTERVAL_MS) return;
    lastLog = performance.now();
    log.info(progressLine(progress));
  };
}
