/**
 * How the plugins fail inside their streams. In the usual `gulp.src(…).pipe(plugin).pipe(gulp.dest(…))`
 * chain, gulp.src (a streamx stream) takes the error of the stream it pipes into as its own and
 * stops, and gulp, which watches the last stream, never hears of it: the task ends with "Did you
 * forget to signal async completion?" and no reason. So the error is also said through gulp's
 * logger, where gulp prints it (under `pipeline(…)` gulp reports it once more, as the task's error).
 */
import { heard, log } from './logger.js';
import PluginError from 'plugin-error';

export const PLUGIN_NAME = 'gulp-backup';

/** The PluginError a plugin's stream emits, said through gulp's logger as it is made. */
export function streamError(error: Error | string, fileName?: string): PluginError {
  const pluginError = new PluginError(PLUGIN_NAME, error as Error, fileName === undefined ? {} : { fileName });
  // Said only where someone hears it (logger.ts: gulp 5's CLI, gulp 4's, or a program listening).
  if (heard('error')) log.error(`${PLUGIN_NAME}: ${pluginError.message}`);
  return pluginError;
}
