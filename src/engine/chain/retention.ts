/**
 * Retention policies, as restic's `forget` and borg's `prune` define them: `keepLast` keeps the N
 * newest backups; `keepHourly` (daily, weekly, monthly, yearly) keeps, for each of the last N
 * hours (days…) that have a backup, the newest backup of that hour. Periods are calendar periods in
 * local time (weeks are ISO weeks), as in both tools. `keepWithin` keeps every backup made within
 * that long before the newest one, as restic's `--keep-within` (relative to the newest backup, not
 * to the clock: backups that stopped coming are not all lost at once). A backup is kept when any
 * rule keeps it.
 */
import { BackupError, OptionError } from '../../errors.js';
import { duration } from '../options.js';

export interface RetentionPolicy {
  keepLast?: number;
  keepHourly?: number;
  keepDaily?: number;
  keepWeekly?: number;
  keepMonthly?: number;
  keepYearly?: number;
  /** Every backup made within this long before the newest one: `'7d'`, `'36h'`, or milliseconds. */
  keepWithin?: number | string;
}

export const RETENTION_RULES = ['keepLast', 'keepHourly', 'keepDaily', 'keepWeekly', 'keepMonthly', 'keepYearly'] as const;

export interface RetentionPoint {
  id: string;
  createdAt: Date;
}

/** The period a backup falls in, for each rule: two backups in one period share a key. */
const PERIOD: Record<(typeof RETENTION_RULES)[number], (point: RetentionPoint) => string> = {
  keepLast: (point) => point.id, // every backup its own period
  keepHourly: ({ createdAt: t }) => `${t.getFullYear()}-${t.getMonth()}-${t.getDate()}T${t.getHours()}`,
  keepDaily: ({ createdAt: t }) => `${t.getFullYear()}-${t.getMonth()}-${t.getDate()}`,
  keepWeekly: ({ createdAt: t }) => isoWeek(t),
  keepMonthly: ({ createdAt: t }) => `${t.getFullYear()}-${t.getMonth()}`,
  keepYearly: ({ createdAt: t }) => `${t.getFullYear()}`,
};

/** Checks a policy: whole numbers, at least one rule (a policy that keeps nothing is refused, as restic refuses it). */
export function validateRetentionPolicy(policy: RetentionPolicy): void {
  let any = duration('keepWithin', policy.keepWithin, 0) > 0;
  for (const rule of RETENTION_RULES) {
    const value = policy[rule];
    if (value === undefined) continue;
    if (!Number.isSafeInteger(value) || value < 0) throw new OptionError(rule, value, 'a whole number of backups to keep');
    if (value > 0) any = true;
  }
  if (!any) {
    throw new BackupError(
      'INVALID_OPTION',
      'A prune needs a policy that keeps something: at least one of --keep-last, --keep-hourly, --keep-daily, --keep-weekly, --keep-monthly, --keep-yearly, --keep-within (keepLast, keepDaily… in code). A prune that would remove every backup is refused, as restic refuses it.',
    );
  }
}

/** The backups each rule keeps, newest first: id → the rules that keep it (`last`, `daily`…). */
export function applyRetention(points: readonly RetentionPoint[], policy: RetentionPolicy): Map<string, string[]> {
  const newestFirst = [...points].sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a.id < b.id ? 1 : -1));
  const kept = new Map<string, string[]>();
  for (const rule of RETENTION_RULES) {
    const wanted = policy[rule] ?? 0;
    let last: string | undefined;
    let count = 0;
    for (const point of newestFirst) {
      if (count >= wanted) break;
      const period = PERIOD[rule](point);
      if (period === last) continue;
      last = period;
      count++;
      kept.set(point.id, [...(kept.get(point.id) ?? []), rule.slice(4).toLowerCase()]);
    }
  }
  const within = duration('keepWithin', policy.keepWithin, 0);
  if (within > 0 && newestFirst.length > 0) {
    const since = newestFirst[0]!.createdAt.getTime() - within;
    const label = `within ${typeof policy.keepWithin === 'string' ? policy.keepWithin : `${within} ms`}`;
    for (const point of newestFirst) if (point.createdAt.getTime() >= since) kept.set(point.id, [...(kept.get(point.id) ?? []), label]);
  }
  return kept;
}

/** `2026-W48`: the ISO 8601 week (Monday first; week 1 holds the year's first Thursday) of the local date. */
export function isoWeek(time: Date): string {
  // The local calendar date, counted in UTC days so that daylight saving cannot shift it.
  const day = new Date(Date.UTC(time.getFullYear(), time.getMonth(), time.getDate()));
  day.setUTCDate(day.getUTCDate() + 4 - (day.getUTCDay() || 7)); // the Thursday of its week
  const yearStart = Date.UTC(day.getUTCFullYear(), 0, 1);
  return `${day.getUTCFullYear()}-W${Math.ceil(((day.getTime() - yearStart) / 86_400_000 + 1) / 7)}`;
}
