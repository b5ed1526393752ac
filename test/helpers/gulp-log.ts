/** What gulp's logger says while a pipeline runs: gulplog (glogg) emits each level as an event, though its types declare only the levels. */
import log from 'gulplog';

/** The lines logged at `level` while `run` runs. */
export async function loggedWhile(level: 'info' | 'warn', run: () => Promise<unknown>): Promise<string[]> {
  const lines: string[] = [];
  const listen = (line: string) => lines.push(line);
  const events = log as unknown as NodeJS.EventEmitter;
  events.on(level, listen);
  try {
    await run();
  } finally {
    events.off(level, listen);
  }
  return lines;
}
