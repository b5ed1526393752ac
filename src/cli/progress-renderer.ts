/**
 * Shows backup progress: a live bar on a TTY (cli-progress), a plain line every few seconds in CI or
 * when output is piped, JSON lines with --json, nothing with --quiet.
 */
import { createRequire } from 'node:module';
import type cliProgressModule from 'cli-progress';
import type { BackupProgress } from '../engine/progress.js';
import { formatBytes, formatRate } from '../report/format.js';
import { counted, progressLine } from '../report/progress-line.js';

export type ProgressMode = 'bar' | 'lines' | 'json' | 'none';

export interface ProgressRenderer {
  update(progress: BackupProgress): void;
  stop(): void;
}

const PLAIN_LINE_INTERVAL_MS = 5000;

export function chooseProgressMode(options: { json?: boolean; quiet?: boolean }, stream: NodeJS.WriteStream): ProgressMode {
  if (options.quiet) return 'none';
  if (options.json) return 'json';
  return stream.isTTY && !process.env.CI ? 'bar' : 'lines';
}

export function createProgressRenderer(mode: ProgressMode, stream: NodeJS.WriteStream, out: NodeJS.WritableStream): ProgressRenderer {
  switch (mode) {
    case 'none':
      return { update: () => {}, stop: () => {} };
    case 'json':
      return {
        update: (progress) => out.write(`${JSON.stringify({ event: 'progress', ...progress })}\n`),
        stop: () => {},
      };
    case 'lines':
      return plainLines(stream);
    case 'bar':
      return bar(stream);
  }
}

/** For commands whose `--json` prints one final document: progress goes to stderr, or nowhere with --json or --quiet. */
export function stderrProgress(flags: { json?: boolean; quiet?: boolean }, stderr: NodeJS.WriteStream, stdout: NodeJS.WriteStream): ProgressRenderer {
  return createProgressRenderer(flags.json ? 'none' : chooseProgressMode(flags, stderr), stderr, stdout);
}

function plainLines(stream: NodeJS.WritableStream): ProgressRenderer {
  let last = 0;
  return {
    update(progress) {
      const now = performance.now();
      const working = progress.phase === 'store' || progress.phase === 'verify' || progress.phase === 'restore';
      if (working && now - last < PLAIN_LINE_INTERVAL_MS) return;
      if (!working && progress.phase !== 'done') return;
      last = now;
      stream.write(`${progressLine(progress)}\n`);
    },
    stop: () => {},
  };
}

function bar(stream: NodeJS.WriteStream): ProgressRenderer {
  // Loaded only for a live bar on a terminal.
  const cliProgress = createRequire(import.meta.url)('cli-progress') as typeof cliProgressModule;
  const progressBar = new cliProgress.SingleBar(
    {
      stream,
      format: '{bar} {percentage}% | {files} | {bytes} | {rate} | {file}',
      hideCursor: true,
      clearOnComplete: true,
      barsize: 24,
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update(progress) {
      const payload = {
        files: counted(progress.filesDone, progress.filesTotal),
        bytes: progress.bytesTotal > 0 ? `${formatBytes(progress.bytesDone)}/${formatBytes(progress.bytesTotal)}` : formatBytes(progress.bytesDone),
        rate: formatRate(progress.bytesPerSecond),
        file: (progress.currentFile ?? progress.phase).slice(-40),
      };
      if (!started) {
        progressBar.start(100, 0, payload);
        started = true;
      }
      progressBar.update(Math.floor(progress.percentage), payload);
    },
    stop() {
      if (started) progressBar.stop();
    },
  };
}
