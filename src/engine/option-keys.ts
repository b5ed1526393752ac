/**
 * Unknown option keys are refused, with a did-you-mean: `backupTask({ source: ['src'] })` must not
 * back up the whole project because `source` is not `sources`. Each API declares its keys once
 * with `optionKeys<Options>()(...)`, which fails to compile when a key of the type is left out.
 */
import { OptionError } from '../errors.js';

/** The declared keys of `T`; a compile error names any key of `T` that is missing. */
export function optionKeys<T>() {
  return <const K extends readonly (keyof T & string)[]>(...keys: K & ([Exclude<keyof T, K[number]>] extends [never] ? unknown : { missing: Exclude<keyof T, K[number]> })) =>
    new Set<string>(keys as readonly string[]);
}

/** Names users reach for that are not ours, and what they mean. */
const ALIASES: Readonly<Record<string, string>> = {
  src: 'sources',
  source: 'sources',
  dest: 'out',
  output: 'out',
  outDir: 'out',
  target: 'to',
  dir: 'to',
  ignore: 'exclude',
  overWrite: 'overwrite',
  force: 'overwrite',
  gzipLevel: 'level',
  compressionLevel: 'level',
  hash: 'hashes',
  algorithm: 'hashes',
  type: 'kind',
  mode: 'kind',
  dryrun: 'dryRun',
};

/** The CLI's kind flags, written as options (`auto: true` for `--auto`): the option and the value they mean. */
const FLAG_VALUES: Readonly<Record<string, [string, string]>> = {
  auto: ['kind', "'auto'"],
  full: ['kind', "'full'"],
  incremental: ['kind', "'incremental'"],
  differential: ['kind', "'differential'"],
};

/** Throws an `OptionError` for the first key of `options` that `known` lacks, naming the nearest known one. */
export function rejectUnknownKeys(api: string, options: object, known: ReadonlySet<string>): void {
  for (const key of Object.keys(options)) {
    if (known.has(key)) continue;
    const flag = FLAG_VALUES[key];
    const guess = flag && known.has(flag[0]) ? `${flag[0]}: ${flag[1]}` : nearest(key, known);
    const hint = guess ? `did you mean \`${guess}\`?` : `its options are ${[...known].map((k) => `\`${k}\``).join(', ')}.`;
    throw new OptionError(key, (options as Record<string, unknown>)[key], `${api} has no such option; ${hint}`, true);
  }
}

function nearest(key: string, known: ReadonlySet<string>): string | undefined {
  const alias = ALIASES[key];
  if (alias && known.has(alias)) return alias;
  const lower = key.toLowerCase();
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of known) {
    if (candidate.toLowerCase() === lower) return candidate;
    const distance = editDistance(lower, candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return bestDistance <= Math.max(2, Math.floor(key.length / 3)) ? best : undefined;
}

/** Levenshtein distance, with a swap of two neighbours counted as one edit. */
function editDistance(a: string, b: string): number {
  const rows = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) rows[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let value = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) value = Math.min(value, rows[i - 2]![j - 2]! + 1);
      rows[i]![j] = value;
    }
  }
  return rows[a.length]![b.length]!;
}
