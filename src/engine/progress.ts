/** Progress events of a backup, a verify or a restore, throttled so that renderers and callbacks stay cheap. */

/** `scan`, `store`, `finish` for a backup; `verify` or `restore` for those; `done` at the end. */
export type BackupPhase = 'scan' | 'store' | 'finish' | 'verify' | 'restore' | 'done';

export interface BackupProgress {
  phase: BackupPhase;
  /** Entries written to the archive so far, and in all (known once the scan is over). */
  filesDone: number;
  filesTotal: number;
  /** Bytes done so far, and in all: file content for backup and restore, archive bytes for verify. */
  bytesDone: number;
  bytesTotal: number;
  /** 0–100 once totals are known. */
  percentage: number;
  /** The entry being stored, if any. */
  currentFile: string | undefined;
  /** Bytes per second since the main phase began. */
  bytesPerSecond: number;
  /** Estimated milliseconds left, when a rate is known. */
  etaMs: number | undefined;
  elapsedMs: number;
}

const DEFAULT_INTERVAL_MS = 100;

export class ProgressTracker {
  filesDone = 0;
  filesTotal = 0;
  bytesDone = 0;
  bytesTotal = 0;
  currentFile: string | undefined;
  private phase: BackupPhase = 'scan';
  private readonly startedAt = performance.now();
  private storeStartedAt: number | undefined;
  private lastEmitAt = -Infinity;

  constructor(
    private readonly listener: ((progress: BackupProgress) => void) | undefined,
    private readonly intervalMs = DEFAULT_INTERVAL_MS,
  ) {}

  /** Moves to a new phase and always reports it. */
  enter(phase: BackupPhase): void {
    this.phase = phase;
    if (phase === 'store' || phase === 'verify' || phase === 'restore') this.storeStartedAt = performance.now();
    if (phase === 'done') this.currentFile = undefined;
    this.emit();
  }

  /** Reports at most once per interval. */
  tick(): void {
    if (!this.listener) return;
    if (performance.now() - this.lastEmitAt >= this.intervalMs) this.emit();
  }

  snapshot(): BackupProgress {
    const now = performance.now();
    const storeMs = this.storeStartedAt === undefined ? 0 : now - this.storeStartedAt;
    const bytesPerSecond = storeMs > 0 ? (this.bytesDone * 1000) / storeMs : 0;
    const done = this.phase === 'done';
    const fraction = done ? 1 : this.fractionDone();
    return {
      phase: this.phase,
      filesDone: this.filesDone,
      filesTotal: this.filesTotal,
      bytesDone: this.bytesDone,
      bytesTotal: this.bytesTotal,
      percentage: Math.min(100, Math.round(fraction * 1000) / 10),
      currentFile: this.currentFile,
      bytesPerSecond,
      etaMs: bytesPerSecond > 0 ? ((this.bytesTotal - this.bytesDone) * 1000) / bytesPerSecond : undefined,
      elapsedMs: now - this.startedAt,
    };
  }

  private fractionDone(): number {
    if (this.phase === 'scan') return 0;
    // Bytes dominate the time; entries keep the figure moving through trees of empty files.
    if (this.bytesTotal > 0) return (this.bytesDone / this.bytesTotal) * 0.99;
    return this.filesTotal > 0 ? (this.filesDone / this.filesTotal) * 0.99 : 0;
  }

  private emit(): void {
    if (!this.listener) return;
    this.lastEmitAt = performance.now();
    this.listener(this.snapshot());
  }
}
