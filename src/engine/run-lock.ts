/**
 * A run marks the files it is writing as its own with a lock file that names its process
 * (`{ pid, host, startedAt }`), created with O_EXCL: the atomic claim on a backup name. While the
 * run lives, it refreshes the lock's time every few minutes (restic refreshes its locks so too).
 * A lock whose process is gone belongs to a dead run — killed, or its machine restarted — and the
 * next run removes that run's leftovers: on this host, when no process has its pid; from another
 * host (a CI container, a second machine on a shared folder or bucket), whose process cannot be
 * checked from here, when it has not been refreshed for STALE_AFTER_MS. Before the refresh, such a
 * lock was never taken for dead, and a job killed in a container kept `prune` refusing forever.
 */
import { hostname } from 'node:os';
import type { BackupStore } from '../store/backup-store.js';

export interface RunLockRecord {
  pid: number;
  host: string;
  startedAt: string;
}

/** How often a live run refreshes its lock. */
export const REFRESH_EVERY_MS = 5 * 60 * 1000;
/** An unreadable lock this recent is being written, not a killed run's. */
const BEING_WRITTEN_MS = 60 * 1000;
/** A lock from another host not refreshed for this long is a dead run's: six refreshes missed, and room for clock skew. */
export const STALE_AFTER_MS = 30 * 60 * 1000;

export class RunLock {
  private readonly heartbeat: NodeJS.Timeout;
  /** The refresh under way, which `release` waits for: one landing after the removal would bring the lock back. */
  private refreshing: Promise<void> = Promise.resolve();

  private constructor(
    private readonly store: BackupStore,
    readonly name: string,
    refreshEveryMs: number,
  ) {
    // Best effort: a refresh that fails is tried again at the next beat. Unref'd: it keeps no process alive.
    this.heartbeat = setInterval(() => {
      this.refreshing = this.refreshing.then(() => this.store.touch(this.name)).catch(() => {});
    }, refreshEveryMs).unref();
  }

  /** Claims `name` in `store`; undefined when another run holds it (alive, or dead: see `isDeadLock`). */
  static async claim(store: BackupStore, name: string, { refreshEveryMs = REFRESH_EVERY_MS }: { refreshEveryMs?: number } = {}): Promise<RunLock | undefined> {
    const record: RunLockRecord = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString() };
    return (await store.createExclusive(name, `${JSON.stringify(record)}\n`)) ? new RunLock(store, name, refreshEveryMs) : undefined;
  }

  async release(): Promise<void> {
    clearInterval(this.heartbeat);
    await this.refreshing;
    await this.store.remove(this.name);
  }
}

/** A lock as found: whose it is, and whether its run is gone. */
export interface LockHolder {
  dead: boolean;
  /** In words, for messages: `pid 123 on ci-7f9c (started …, refreshed 2 min ago)`. */
  description: string;
}

/** Whether the run that wrote the lock `name` is gone, and whose it is. An unreadable or empty lock is a dead run's too (killed while writing it), once it is a minute old. */
export async function lockHolder(store: BackupStore, name: string): Promise<LockHolder> {
  let record: Partial<RunLockRecord>;
  try {
    record = JSON.parse((await store.readAll(name)).toString('utf8')) as Partial<RunLockRecord>;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { dead: false, description: 'a run that has just finished' }; // released meanwhile
    if (!(error instanceof SyntaxError)) throw error;
    // Empty or cut short: a run killed while it wrote it, unless that is happening right now (a
    // lock is created, then written; a store may show a lock being refreshed half-written).
    const modified = (await store.stat(name))?.modified;
    const writing = modified !== undefined && Date.now() - modified.getTime() < BEING_WRITTEN_MS;
    return { dead: !writing, description: writing ? 'a run writing its lock now' : 'a run killed while it wrote its lock' };
  }
  const who = `pid ${String(record.pid)} on ${String(record.host)}${typeof record.startedAt === 'string' ? `, started ${record.startedAt}` : ''}`;
  if (record.host === hostname() && Number.isInteger(record.pid)) return { dead: !processAlive(record.pid!), description: who };
  // Another host's, or one that names no process: alive while it is refreshed.
  const modified = (await store.stat(name))?.modified;
  if (modified === undefined) return { dead: false, description: 'a run that has just finished' };
  const silentMs = Date.now() - modified.getTime();
  return { dead: silentMs > STALE_AFTER_MS, description: `${who}, its lock refreshed ${Math.max(0, Math.round(silentMs / 60_000))} min ago` };
}

/** Whether the run that wrote the lock `name` is gone (see `lockHolder`). */
export async function isDeadLock(store: BackupStore, name: string): Promise<boolean> {
  return (await lockHolder(store, name)).dead;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'; // alive, but not ours to signal
  }
}
