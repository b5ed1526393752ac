/**
 * A run marks the files it is writing as its own with a lock file that names its process
 * (`{ pid, host, startedAt }`), created with O_EXCL: the atomic claim on a backup name. A lock whose
 * process is gone (same host, no such pid) belongs to a dead run — killed, or its machine
 * restarted — and the next run removes that run's leftovers. A lock from another host is never
 * taken for dead: its process cannot be checked from here.
 */
import { hostname } from 'node:os';
import type { BackupStore } from '../store/backup-store.js';

export interface RunLockRecord {
  pid: number;
  host: string;
  startedAt: string;
}

export class RunLock {
  private constructor(
    private readonly store: BackupStore,
    readonly name: string,
  ) {}

  /** Claims `name` in `store`; undefined when another run holds it (alive, or dead: see `isDeadLock`). */
  static async claim(store: BackupStore, name: string): Promise<RunLock | undefined> {
    const record: RunLockRecord = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString() };
    return (await store.createExclusive(name, `${JSON.stringify(record)}\n`)) ? new RunLock(store, name) : undefined;
  }

  async release(): Promise<void> {
    await this.store.remove(this.name);
  }
}

/** Whether the run that wrote the lock `name` is gone. An unreadable or empty lock is a dead run's too (killed while writing it). */
export async function isDeadLock(store: BackupStore, name: string): Promise<boolean> {
  let record: Partial<RunLockRecord>;
  try {
    record = JSON.parse((await store.readAll(name)).toString('utf8')) as Partial<RunLockRecord>;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false; // released meanwhile
    if (error instanceof SyntaxError) return true;
    throw error;
  }
  if (record.host !== hostname() || !Number.isInteger(record.pid)) return record.host === hostname();
  return !processAlive(record.pid!);
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'; // alive, but not ours to signal
  }
}
