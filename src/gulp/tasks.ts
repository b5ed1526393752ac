/**
 * Task factories for gulpfiles: `export const backup = backupTask({ sources: ['src'], out: 'backups' })`.
 * The task logs progress and its summary through gulp's logger (gulplog).
 */
import { log } from './logger.js';
import { createBackup, type BackupResult } from '../engine/write/backup.js';
import { BACKUP_PATH, pathArgument, resolveBackupOptions, stringList, type BackupOptions } from '../engine/options.js';
import { formatBackupSummary, formatPreview } from '../report/backup-summary.js';
import { previewBackup, type BackupPreview } from '../engine/write/preview.js';
import { loggedProgress } from './log-progress.js';
import { logReport } from './log-report.js';
import { onInterrupt, runSignal } from './interrupt.js';
import { validateVerifyOptions, verifyBackup, type VerifyOptions, type VerifyReport } from '../engine/read/verify.js';
import { restoreBackup, validateRestoreOptions, type RestoreOptions, type RestoreResult } from '../engine/read/restore.js';
import { formatVerifyReport } from '../report/verify-report.js';
import { formatRestorePreview, formatRestoreResult } from '../report/restore-report.js';
import { previewRestore, type RestorePreview } from '../engine/read/restore-preview.js';
import { formatPruneResult } from '../report/prune-report.js';
import { pruneBackups, validatePruneOptions, type PruneOptions, type PruneResult } from '../engine/chain/prune.js';
import { BackupError, OptionError } from '../errors.js';

/**
 * A gulp task function. gulp names an exported task by its export name unless it has a
 * `displayName`, so one is set only when asked for (`backupTask(options, 'nightly')`).
 */
export interface Task<T> {
  (): Promise<T>;
  displayName?: string;
  description: string;
}

function named<T>(task: () => Promise<T>, description: string, displayName: string | undefined): Task<T> {
  const run = () => task().catch((error: unknown) => Promise.reject(withoutStack(error)));
  return Object.assign(run, { description }, displayName === undefined ? {} : { displayName });
}

/**
 * gulp prints a failed task's error with its stack unless the error has a boolean `showStack`, as
 * a PluginError has. A BackupError is an outcome whose message says what to do: gulp then prints
 * `BackupError: message`, as the CLI prints the message alone. Any other error keeps its stack.
 */
function withoutStack(error: unknown): unknown {
  if (error instanceof BackupError && !('showStack' in error)) Object.defineProperty(error, 'showStack', { value: false, configurable: true });
  return error;
}

export type BackupTask = Task<BackupResult>;

/**
 * Runs a task's work so that Ctrl-C or SIGTERM cancels it (the engine removes what it had
 * written) before the process ends, as the CLI does.
 */
async function interruptible<T>(own: AbortSignal | undefined, run: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  let running: Promise<unknown> = Promise.resolve();
  const stop = onInterrupt(async (signal) => {
    log.warn(`gulp-backup: ${signal}: cancelling; what this run wrote is removed`);
    controller.abort(new Error(`received ${signal}`));
    await running.catch(() => {});
  });
  try {
    const work = run(runSignal(controller, own));
    running = work;
    return await work;
  } catch (error) {
    // Interrupted: the task neither succeeds nor fails; the process ends by the signal, raised again.
    if (controller.signal.aborted && !own?.aborted) return new Promise<never>(() => {});
    throw error;
  } finally {
    stop();
  }
}

/** A backup task's options: the engine's, and `dryRun` (log what it would do, write nothing). */
export interface BackupTaskOptions extends BackupOptions {
  dryRun?: boolean;
}

export function backupTask(options: BackupTaskOptions & { dryRun: true }, displayName?: string): Task<BackupPreview>;
export function backupTask(options: BackupTaskOptions, displayName?: string): BackupTask;
export function backupTask(taskOptions: BackupTaskOptions, displayName?: string): Task<BackupResult | BackupPreview> {
  const { dryRun, ...options } = taskOptions ?? ({} as BackupTaskOptions);
  if (dryRun !== undefined && typeof dryRun !== 'boolean') throw new OptionError('dryRun', dryRun, 'true or false');
  // Bad options fail when the gulpfile loads, not when the task runs.
  // A task runs again and again: by default it builds chains (full, then incremental runs); a
  // fixed snapshot that replaces itself is a full backup each time.
  const kind = options.replace ? 'full' : 'auto';
  resolveBackupOptions({ kind, ...options }, 'backupTask()');
  const task = async (): Promise<BackupResult | BackupPreview> => {
    if (dryRun) {
      const preview = await previewBackup({ kind, ...options });
      for (const line of formatPreview(preview)) log.info(line);
      return preview;
    }
    const onProgress = loggedProgress(options.onProgress);
    const result = await interruptible(options.signal, (signal) => createBackup({ kind, ...options, onProgress, signal }));
    for (const line of formatBackupSummary(result)) log.info(line);
    return result;
  };
  return named(task, `Back up ${stringList('sources', options.sources, ['.']).join(', ')} into ${options.out}`, displayName);
}

/**
 * A task that verifies a backup (its manifest, its archive, or a folder whose newest backup is
 * meant) and fails when anything is damaged.
 *
 * @example
 * export const verify = verifyTask('backups/nightly.manifest.jsonl');
 */
export function verifyTask(path: string, options: VerifyOptions = {}, displayName?: string): Task<VerifyReport> {
  pathArgument('verifyTask()', 'path', path, BACKUP_PATH);
  validateVerifyOptions(options, 'verifyTask()');
  const task = async (): Promise<VerifyReport> => {
    const report = await interruptible(options.signal, (signal) => verifyBackup(path, { ...options, signal }));
    const message = logReport(formatVerifyReport(report, false), report.ok);
    if (!report.ok) throw new BackupError('ARCHIVE_DAMAGED', message, { path: report.archivePath });
    return report;
  };
  return named(task, `Verify ${path}`, displayName);
}

/** A restore task's options: the engine's, and `dryRun` (log what it would do, write nothing). */
export interface RestoreTaskOptions extends RestoreOptions {
  dryRun?: boolean;
}

/**
 * A task that restores a backup (manifest, archive, or a folder whose newest backup is meant) into a
 * folder, and fails when some entry could not be restored.
 *
 * @example
 * export const rollback = restoreTask('backups/predeploy.manifest.jsonl', { to: 'dist', overwrite: true });
 */
export function restoreTask(path: string, options: RestoreTaskOptions & { dryRun: true }, displayName?: string): Task<RestorePreview>;
export function restoreTask(path: string, options: RestoreTaskOptions, displayName?: string): Task<RestoreResult>;
export function restoreTask(path: string, taskOptions: RestoreTaskOptions, displayName?: string): Task<RestoreResult | RestorePreview> {
  pathArgument('restoreTask()', 'path', path, BACKUP_PATH);
  const { dryRun, ...options } = taskOptions ?? ({} as RestoreTaskOptions);
  if (dryRun !== undefined && typeof dryRun !== 'boolean') throw new OptionError('dryRun', dryRun, 'true or false');
  validateRestoreOptions(options, 'restoreTask()');
  if (dryRun) {
    const preview = async (): Promise<RestorePreview> => {
      const result = await previewRestore(path, options);
      for (const line of formatRestorePreview(result)) log.info(line);
      return result;
    };
    return named(preview, `Restore ${path} into ${options.to} (dry run)`, displayName);
  }
  const task = async (): Promise<RestoreResult> => {
    const result = await interruptible(options.signal, (signal) => restoreBackup(path, { ...options, signal }));
    const message = logReport(formatRestoreResult(result, false), result.ok);
    if (!result.ok) throw new BackupError('ARCHIVE_DAMAGED', message, { path: result.target });
    return result;
  };
  return named(task, `Restore ${path} into ${options.to}`, displayName);
}

/**
 * A task that prunes a folder of backups by a retention policy (restic's and borg's `keep` rules),
 * never removing a backup that a kept one needs, and logs what it kept and removed.
 *
 * @example
 * export const prune = pruneTask('backups', { keepDaily: 7, keepWeekly: 4, keepMonthly: 6 });
 */
export function pruneTask(folder: string, options: PruneOptions, displayName?: string): Task<PruneResult> {
  pathArgument('pruneTask()', 'folder', folder, 'the folder of backups');
  validatePruneOptions(options, 'pruneTask()');
  const task = async (): Promise<PruneResult> => {
    const result = await pruneBackups(folder, options);
    for (const line of formatPruneResult(result, false)) log.info(line);
    return result;
  };
  return named(task, `Prune the backups in ${folder}`, displayName);
}
