/**
 * Task factories for gulpfiles: `export const backup = backupTask({ sources: ['src'], out: 'backups' })`.
 * The task logs progress and its summary through gulp's logger (gulplog).
 */
import log from 'gulplog';
import { createBackup, type BackupResult } from '../engine/backup.js';
import type { BackupOptions } from '../engine/options.js';
import type { BackupProgress } from '../engine/progress.js';
import { formatBackupSummary } from '../cli/summary.js';
import { formatBytes, formatRate } from '../cli/format.js';

export interface BackupTask {
  (): Promise<BackupResult>;
  displayName: string;
  description: string;
}

const LOG_INTERVAL_MS = 2000;

export function backupTask(options: BackupOptions, displayName = 'backup'): BackupTask {
  const task = async (): Promise<BackupResult> => {
    let lastLog = performance.now();
    const onProgress = (progress: BackupProgress) => {
      options.onProgress?.(progress);
      if (progress.phase !== 'store' || performance.now() - lastLog < LOG_INTERVAL_MS) return;
      lastLog = performance.now();
      log.info(
        `${progress.percentage.toFixed(1)}% ${progress.filesDone}/${progress.filesTotal} files, ` +
          `${formatBytes(progress.bytesDone)} of ${formatBytes(progress.bytesTotal)}, ${formatRate(progress.bytesPerSecond)}`,
      );
    };
    const result = await createBackup({ ...options, onProgress });
    for (const line of formatBackupSummary(result)) log.info(line);
    return result;
  };
  return Object.assign(task, {
    displayName,
    description: `Back up ${(options.sources ?? ['.']).join(', ')} into ${options.out}`,
  });
}
