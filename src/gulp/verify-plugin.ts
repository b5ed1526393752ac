/**
 * The `verify()` gulp plugin: checks each backup that passes through (manifest or archive vinyl
 * files, usually from `gulp.src('backups/*.manifest.jsonl', { read: false })`), logs the outcome,
 * and emits a PluginError naming the damaged files. The files pass through unchanged.
 */
import { Transform, type TransformCallback } from 'node:stream';
import PluginError from 'plugin-error';
import type File from 'vinyl';
import { validateVerifyOptions, verifyBackup, type VerifyOptions, type VerifyReport } from '../engine/read/verify.js';
import { formatVerifyReport } from '../report/verify-report.js';
import { PLUGIN_NAME, streamError } from './stream-error.js';
import { logReport } from './log-report.js';
import { isBackupFileName } from '../engine/chain/locate-backup.js';

export interface VerifyPluginOptions extends VerifyOptions {
  /** Called with every report, intact or not. */
  onReport?: (report: VerifyReport) => void;
}

export function verify(options: VerifyPluginOptions = {}): Transform {
  try {
    validateVerifyOptions(options, 'verify()', ['onReport']);
  } catch (error) {
    throw new PluginError(PLUGIN_NAME, error as Error);
  }
  const { onReport, ...verifyOptions } = options;
  return new Transform({
    objectMode: true,
    transform(file: File, _encoding: BufferEncoding, callback: TransformCallback) {
      if (!isBackupFileName(file.path)) return callback(null, file);
      verifyBackup(file.path, verifyOptions).then(
        (report) => {
          onReport?.(report);
          // Not log.error: gulplog emits it as an EventEmitter "error" event, which throws without a listener.
          const message = logReport(formatVerifyReport(report, false), report.ok);
          if (report.ok) callback(null, file);
          else callback(streamError(message, file.path));
        },
        (error: unknown) => callback(streamError(error as Error, file.path)),
      );
    },
  });
}
