/**
 * gulp's logger, as gulp 5 and gulp 4 hear it. gulp 5's CLI (gulp-cli 3) listens on gulplog 2;
 * gulp 4's (gulp-cli 2) on gulplog 1, whose logger lives in another store (sparkles' legacy one).
 * Loading gulplog 2 into a gulp 4 process wires, for each level, a forwarder from the legacy
 * logger to the new one (glogg 2's deprecation path). Two things went wrong with gulp 4 once a
 * gulpfile imported this package: every error gulp 4 logs (a task that failed, any task) was
 * forwarded to the new logger, where no one listens, and an 'error' event without a listener
 * throws: the process died with ERR_UNHANDLED_ERROR instead of printing the task's error; and what
 * we logged on the new logger (summaries, warnings of files left out) was printed by no one.
 * Here, a level no one hears on the new logger goes to the CLI that listens on the legacy one, and
 * the new logger gets a silent 'error' listener while gulp 4's CLI prints errors itself.
 */
import type { EventEmitter } from 'node:events';
import gulplog from 'gulplog';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const modern = gulplog as unknown as EventEmitter & Record<LogLevel, (message: string) => void>;

/** sparkles' legacy store (sparkles 1, and `sparkles/legacy`), where gulplog 1 keeps its logger. */
const LEGACY_STORE = 'store@sparkles';

function legacyLogger(): EventEmitter | undefined {
  const store = (globalThis as Record<string, unknown>)[LEGACY_STORE] as Record<string, EventEmitter | undefined> | undefined;
  return store?.gulplog;
}

/** glogg 2's forwarders (they announce a deprecation first): not a CLI listening. */
function isForwarder(listener: (...args: unknown[]) => unknown): boolean {
  return String(listener).includes("emit('deprecated')");
}

/** The listeners of gulp 4's CLI (or anything else on gulplog 1) for `level`. */
function legacyListeners(level: LogLevel): ((message: string) => void)[] {
  return (legacyLogger()?.listeners(level) ?? []).filter((listener) => !isForwarder(listener as (...args: unknown[]) => unknown)) as ((message: string) => void)[];
}

/** The silent listener: gulp 4's CLI has printed the error that glogg 2 forwards to it. */
function forwardedFromGulp4(): void {}

/** Who listens on the new logger for `level`, but for our own silent listener. */
function modernListeners(level: LogLevel): number {
  return modern.listeners(level).filter((listener) => listener !== forwardedFromGulp4).length;
}

function quietErrorsForwardedFromGulp4(): void {
  if (modernListeners('error') === 0 && legacyListeners('error').length > 0 && !modern.listeners('error').includes(forwardedFromGulp4)) modern.on('error', forwardedFromGulp4);
}
quietErrorsForwardedFromGulp4();

function emit(level: LogLevel, message: string): void {
  quietErrorsForwardedFromGulp4();
  const legacy = modernListeners(level) === 0 ? legacyListeners(level) : [];
  if (legacy.length > 0) {
    // Straight to gulp 4's listeners: through the legacy logger, glogg 2 would forward it back here.
    for (const listener of legacy) listener(message);
    return;
  }
  // gulplog's `error` level is an 'error' event, which throws without a listener (no gulp CLI).
  if (level === 'error' && modernListeners('error') === 0) return;
  modern[level](message);
}

/** Whether anyone hears `level`: gulp 5's CLI, gulp 4's, or a program listening on gulplog. */
export function heard(level: LogLevel): boolean {
  return modernListeners(level) > 0 || legacyListeners(level).length > 0;
}

export const log = {
  debug: (message: string) => emit('debug', message),
  info: (message: string) => emit('info', message),
  warn: (message: string) => emit('warn', message),
  error: (message: string) => emit('error', message),
};
