/**
 * Retention rules against an independent oracle: Python's datetime (local time, ISO weeks from
 * isocalendar) applying restic's definition, over random histories and random policies.
 */
import { execFileSync } from 'node:child_process';
import { expect } from 'chai';
import { applyRetention, validateRetentionPolicy, type RetentionPolicy } from '../../src/engine/chain/retention.js';

const ORACLE = `
import json, sys, datetime
data = json.load(sys.stdin)
points = sorted(data['points'], key=lambda p: (-p['t'], p['id']))
keys = {
  'keepLast': lambda d, p: p['id'],
  'keepHourly': lambda d, p: (d.year, d.month, d.day, d.hour),
  'keepDaily': lambda d, p: (d.year, d.month, d.day),
  'keepWeekly': lambda d, p: d.isocalendar()[:2],
  'keepMonthly': lambda d, p: (d.year, d.month),
  'keepYearly': lambda d, p: d.year,
}
kept = {}
within = data['policy'].pop('keepWithin', 0)
if within > 0 and points:
    for p in points:
        if p['t'] >= points[0]['t'] - within: kept.setdefault(p['id'], []).append('within %d ms' % within)
for rule, n in data['policy'].items():
    last, count = None, 0
    for p in points:
        if count >= n: break
        k = keys[rule](datetime.datetime.fromtimestamp(p['t'] / 1000), p)
        if k == last: continue
        last, count = k, count + 1
        kept.setdefault(p['id'], []).append(rule[4:].lower())
print(json.dumps(kept))
`;

function random(seed: number): () => number {
  let x = seed;
  return () => {
    x = (x * 1_103_515_245 + 12_345) % 2 ** 31;
    return x / 2 ** 31;
  };
}

describe('engine/retention (restic and borg keep rules)', () => {
  // Periods are local time: a zone with daylight saving moves hour and day boundaries.
  for (const [seed, zone] of [
    [1, 'UTC'],
    [2, 'UTC'],
    [3, 'UTC'],
    [4, 'America/New_York'],
    [5, 'Europe/Berlin'],
    [6, 'Australia/Lord_Howe'],
  ] as const) {
    it(`keeps what the oracle keeps, for a random history and policy (seed ${seed}, ${zone})`, () => {
      const before = process.env.TZ;
      process.env.TZ = zone;
      try {
        check(seed);
      } finally {
        if (before === undefined) delete process.env.TZ;
        else process.env.TZ = before;
      }
    });
  }

  function check(seed: number): void {
    {
      const next = random(seed);
      const start = Date.UTC(2024, 0, 1);
      // Bursts and gaps: several backups an hour, then days or weeks without any.
      let t = start;
      const points = Array.from({ length: 120 }, (_, i) => {
        t += next() < 0.5 ? next() * 3_600_000 : next() * 20 * 86_400_000;
        return { id: `p${i}`, t: Math.floor(t) };
      });
      const policy: RetentionPolicy = {};
      for (const rule of ['keepLast', 'keepHourly', 'keepDaily', 'keepWeekly', 'keepMonthly', 'keepYearly'] as const) {
        if (next() < 0.5) policy[rule] = Math.floor(next() * 8);
      }
      policy.keepDaily ??= 1;
      // restic's --keep-within: everything within that long before the newest backup.
      if (next() < 0.5) policy.keepWithin = Math.floor(next() * 30 * 86_400_000);
      const ours = applyRetention(
        points.map((p) => ({ id: p.id, createdAt: new Date(p.t) })),
        policy,
      );
      const oracle = JSON.parse(execFileSync('python3', ['-c', ORACLE], { input: JSON.stringify({ points, policy }), env: { ...process.env } }).toString()) as Record<string, string[]>;
      expect(Object.fromEntries([...ours].map(([id, rules]) => [id, [...rules].sort()]))).to.deep.equal(Object.fromEntries(Object.entries(oracle).map(([id, rules]) => [id, rules.sort()])));
      expect(ours.size).to.be.greaterThan(0);
    }
  }

  it("keepWithin takes a duration ('7d') and names itself as given", () => {
    const newest = Date.UTC(2026, 10, 30, 12);
    const points = [0, 1, 6.9, 7.1, 40].map((days, i) => ({ id: `b${i}`, createdAt: new Date(newest - days * 86_400_000) }));
    const kept = applyRetention(points, { keepWithin: '7d' });
    expect([...kept.keys()].sort()).to.deep.equal(['b0', 'b1', 'b2']);
    expect(kept.get('b2')).to.deep.equal(['within 7d']);
    expect(() => validateRetentionPolicy({ keepWithin: 'a week' })).to.throw(/`keepWithin`.*got `a week`/);
    expect(() => validateRetentionPolicy({ keepWithin: '0d' })).to.throw(/keeps something.*--keep-within/);
  });
});
