/**
 * Ctrl-C and SIGTERM while a gulp task or plugin works. gulp has no cancellation of its own, so
 * the process would die with the run's files half-written (`*.partial`, a truncated archive that
 * gulp.dest wrote under its final name). While a run is under way it listens for both signals:
 * the run is cancelled and its files removed, then the signal is raised again so that the
 * process ends as it would have (exit status 130 or 143 from the shell's point of view).
 */

const SIGNALS = ['SIGINT', 'SIGTERM'] as const;

/**
 * Calls `cleanUp` on the first SIGINT or SIGTERM, then re-raises the signal. Returns the function
 * that stops listening (call it once the run is over, success or not).
 */
export function onInterrupt(cleanUp: (signal: NodeJS.Signals) => Promise<void>): () => void {
  let listening = true;
  const stop = () => {
    if (!listening) return;
    listening = false;
    for (const name of SIGNALS) process.off(name, handler);
  };
  const handler = (signal: NodeJS.Signals) => {
    stop();
    void cleanUp(signal)
      .catch(() => {})
      .finally(() => process.kill(process.pid, signal));
  };
  for (const name of SIGNALS) process.on(name, handler);
  return stop;
}

/** An AbortSignal for a run: the caller's own (if any) or an interrupt, whichever comes first. */
export function runSignal(controller: AbortController, own: AbortSignal | undefined): AbortSignal {
  return own ? AbortSignal.any([own, controller.signal]) : controller.signal;
}
