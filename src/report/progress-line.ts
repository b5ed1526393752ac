/** Progress as one line of words: the CLI's plain lines (CI, pipes), its bar's counts, and the gulp log. */
import type { BackupProgress } from '../engine/progress.js';
import { formatBytes, formatDuration, formatRate } from './format.js';
import { countText } from '../engine/plural.js';

/** `1,234/6,418 entries`, or `1,234 entries` while the total is not known (an archive read as it comes). */
export function counted(done: number, total: number): string {
  return total > 0 ? `${countText(done)}/${countText(total)} entries` : `${countText(done)} ${done === 1 ? 'entry' : 'entries'}`;
}

/** One plain progress line (CI, pipes, the gulp log): entries (files and folders, as the summary adds them up), bytes, rate, time left. */
export function progressLine(progress: BackupProgress): string {
  const known = progress.bytesTotal > 0;
  const eta = progress.etaMs === undefined || progress.phase === 'done' || !known ? '' : `, ${formatDuration(Math.max(0, progress.etaMs))} left`;
  return (
    `${known ? `${progress.percentage.toFixed(1)}% ` : ''}${counted(progress.filesDone, progress.filesTotal)}, ` +
    `${known ? `${formatBytes(progress.bytesDone)}/${formatBytes(progress.bytesTotal)}` : formatBytes(progress.bytesDone)}, ${formatRate(progress.bytesPerSecond)}${eta}`
  );
}
