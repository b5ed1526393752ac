/**
 * `pruneBackups(folder, policy)`: removes the backups a retention policy does not keep, and never
 * one that a kept backup needs (its chain up to its full backup, where the content of its
 * unchanged files lies). Kept backups say why; removed ones what they freed. The manifest of a
 * removed backup goes first, so a prune that is killed leaves no backup half-removed that still
 * looks whole; the leftovers of killed runs go too.
 */
import { BackupError, OptionError } from '../../errors.js';
import { joinLocation, nameOf, resolveLocation } from '../../store/location.js';
import type { S3Settings } from '../../store/s3-settings.js';
import { storesFor } from '../../store/stores.js';
import type { BackupKind } from '../../format/manifest.js';
import { readChainLink, type ChainLink } from './backup-chain.js';
import { isManifestFileName } from './locate-backup.js';
import { optionKeys, rejectUnknownKeys } from '../option-keys.js';
import { pathArgument } from '../options.js';
import { LOCK_SUFFIX, removeDeadRuns } from '../write/output-files.js';
import { STALE_AFTER_MS, lockHolder } from '../run-lock.js';
import { applyRetention, validateRetentionPolicy, type RetentionPolicy } from './retention.js';

export interface PruneOptions extends RetentionPolicy {
  /** List what would be kept and removed, and remove nothing. */
  dryRun?: boolean;
  /** How to reach S3 when the folder is `s3://bucket/prefix`. */
  s3?: S3Settings;
}

export interface PrunedBackup {
  /** The manifest's file name in the folder. */
  manifest: string;
  kind: BackupKind;
  createdAt: string;
}

export interface PruneResult {
  folder: string;
  dryRun: boolean;
  /** Kept, newest first, with the rules that keep each (`last`, `daily`…) or the backup that needs it. */
  kept: (PrunedBackup & { reasons: string[] })[];
  /** Removed (or, in a dry run, to be removed), newest first, with their files and bytes. */
  removed: (PrunedBackup & { files: string[]; bytes: number })[];
  /** Manifests that cannot be read: left alone, as a prune cannot tell what needs them. */
  unreadable: { manifest: string; reason: string }[];
  /** Files of killed runs removed before pruning (in a dry run, that would be). */
  cleaned: string[];
  freedBytes: number;
}

const PRUNE_OPTION_KEYS = optionKeys<PruneOptions>()('keepLast', 'keepHourly', 'keepDaily', 'keepWeekly', 'keepMonthly', 'keepYearly', 'keepWithin', 'dryRun', 's3');

/** Checks prune options without doing anything (pruneTask calls it when the gulpfile loads). */
export function validatePruneOptions(options: PruneOptions, api = 'pruneBackups()'): void {
  if (options === null || typeof options !== 'object') throw new OptionError('options', options, 'an object with a retention policy, such as { keepDaily: 7 }');
  rejectUnknownKeys(api, options, PRUNE_OPTION_KEYS);
  if (options.dryRun !== undefined && typeof options.dryRun !== 'boolean') throw new OptionError('dryRun', options.dryRun, 'true or false');
  validateRetentionPolicy(options);
}

/** Backups by the tree they back up: its root and sources (a gulp pipeline's have none). */
function groupByTree(links: readonly ChainLink[]): ChainLink[][] {
  const groups = new Map<string, ChainLink[]>();
  for (const link of links) {
    const { root, selection } = link.header;
    const key = JSON.stringify([root ?? null, selection === undefined ? null : (selection.sources ?? [])]);
    const group = groups.get(key);
    if (group) group.push(link);
    else groups.set(key, [link]);
  }
  return [...groups.values()];
}

export async function pruneBackups(folderPath: string, options: PruneOptions): Promise<PruneResult> {
  pathArgument('pruneBackups()', 'folder', folderPath, 'the folder of backups');
  validatePruneOptions(options);
  const folder = resolveLocation(folderPath);
  const stores = storesFor(options.s3);
  const store = stores.folder(folder);
  const names = await store.list().catch((error: unknown) => {
    if (error instanceof BackupError) throw error;
    throw new BackupError('SOURCE_NOT_FOUND', `Cannot read the folder of backups ${folder} (${(error as NodeJS.ErrnoException).code}). Check the path.`, { path: folder, cause: error });
  });
  // A run writing here now may build on a backup this prune would remove.
  for (const lock of names.filter((name) => name.endsWith(LOCK_SUFFIX))) {
    const holder = await lockHolder(store, lock);
    if (!holder.dead) {
      throw new BackupError(
        'RUN_IN_PROGRESS',
        `A gulp-backup run is writing in ${folder} right now (${lock}: ${holder.description}); prune once it has finished. ` +
          `A lock from another host is taken for a killed run's once it has not been refreshed for ${STALE_AFTER_MS / 60_000} minutes.`,
        { path: folder },
      );
    }
  }
  const dryRun = options.dryRun === true;
  const cleaned = await removeDeadRuns(store, dryRun);
  // By id; a backup copied under another name is one backup (one id) with two sets of files.
  const links = new Map<string, ChainLink>();
  const everyLink: ChainLink[] = [];
  const unreadable: PruneResult['unreadable'] = [];
  const listed = new Set(names);
  for (const name of names.filter((n) => n.endsWith('.manifest.jsonl')).sort()) {
    await readChainLink(joinLocation(folder, name), stores, { listed }).then(
      (link) => {
        if (!links.has(link.header.id)) links.set(link.header.id, link);
        everyLink.push(link);
      },
      (error: unknown) => unreadable.push({ manifest: name, reason: (error as Error).message }),
    );
  }
  // The policy applies to each tree's backups on its own (restic groups by host and paths): a folder
  // that holds backups of src and of docs keeps the last N of each, not the last N of both together.
  const reasons = new Map<string, string[]>();
  for (const backups of groupByTree([...links.values()])) {
    const kept = applyRetention(
      backups.map((link) => ({ id: link.header.id, createdAt: new Date(link.header.createdAt) })),
      options,
    );
    for (const [id, why] of kept) reasons.set(id, why);
  }
  // A kept backup keeps its chain: every parent up to its full backup holds some of its content.
  for (const id of [...reasons.keys()]) {
    const child = links.get(id)!;
    const why = `needed by ${nameOf(child.manifestPath)}`;
    for (let parent = links.get(child.header.parent?.id ?? ''); parent; parent = links.get(parent.header.parent?.id ?? '')) {
      const list = reasons.get(parent.header.id) ?? [];
      if (!list.includes(why)) list.push(why);
      reasons.set(parent.header.id, list);
    }
  }
  const newestFirst = everyLink.sort((a, b) => (a.header.createdAt < b.header.createdAt ? 1 : a.header.createdAt > b.header.createdAt ? -1 : 0));
  const describe = (link: ChainLink): PrunedBackup => ({ manifest: nameOf(link.manifestPath), kind: link.header.kind, createdAt: link.header.createdAt });
  const result: PruneResult = { folder, dryRun, kept: [], removed: [], unreadable, cleaned, freedBytes: 0 };
  const filesOf = (link: ChainLink) => [nameOf(link.manifestPath), nameOf(link.archivePath), `${nameOf(link.archivePath)}.sha256`];
  // A manifest copied under another name without its archive reads the original's archive:
  // removing it must leave the files of every kept backup alone.
  const inUse = new Set(newestFirst.filter((link) => reasons.has(link.header.id)).flatMap(filesOf));
  const gone = new Set<string>();
  for (const link of newestFirst) {
    const why = reasons.get(link.header.id);
    if (why) {
      result.kept.push({ ...describe(link), reasons: why });
      continue;
    }
    const files = filesOf(link).filter((file) => !inUse.has(file) && !gone.has(file));
    for (const file of files) gone.add(file);
    let bytes = 0;
    for (const file of files) bytes += (await store.stat(file))?.size ?? 0;
    result.removed.push({ ...describe(link), files, bytes });
    result.freedBytes += bytes;
  }
  // Every manifest first: once they are gone, what is left is no backup (not even a copy's manifest
  // whose archive went), and the next run cleans it up.
  const removing = result.removed.flatMap((backup) => backup.files);
  if (!dryRun) for (const file of [...removing.filter(isManifestFileName), ...removing.filter((f) => !isManifestFileName(f))]) await store.remove(file);
  return result;
}
