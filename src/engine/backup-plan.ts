/**
 * Which kind of backup to make and what to build it on: `full`, `incremental` (on the newest
 * backup), `differential` (on the full backup at the root of the newest chain) or `auto`.
 * The parent's chain is proven link by link before anything is built on it.
 */
import { stat } from 'node:fs/promises';
import { basename, relative, sep } from 'node:path';
import { BackupError, ChainError, OptionError } from '../errors.js';
import type { BackupKind, Manifest, ManifestHeader, ParentLink, Selection } from '../format/manifest.js';
import { ancestry, readChainLink, readLinkManifest, type ChainLink } from './backup-chain.js';
import { newestManifest } from './locate-backup.js';
import { ChangeDetector } from './change-detector.js';
import type { ResolvedArchiveOptions, ResolvedChainOptions } from './options.js';

/** The reason of a full backup made because one was asked for (the summary says nothing more). */
export const FULL_ASKED_FOR = 'a full backup was asked for';

export interface BackupPlan {
  kind: BackupKind;
  /** Why this kind was chosen, in words (shown in the summary). */
  reason: string;
  parent?: {
    manifest: Manifest;
    /** The header's link to it. */
    link: ParentLink;
    /** Its scan started here (ns): a file it saw modified at or after this may have changed unseen. */
    scanStartNs: bigint;
  };
}

/** What the backup about to be made backs up: a parent must have backed up the same. */
export interface TreeIdentity {
  root: string;
  selection: Selection | undefined;
}

/**
 * @param outFolder where the new manifest goes, so that its parent link is a path relative to it;
 *   undefined in the gulp plugin, where gulp.dest decides (the link is then the parent's file name:
 *   the chain must be kept in one folder).
 */
export async function planBackup(options: ResolvedChainOptions, tree: TreeIdentity, outFolder: string | undefined, now: Date): Promise<BackupPlan> {
  const { kind } = options;
  if (kind === 'full') return { kind: 'full', reason: FULL_ASKED_FOR };
  const since = options.since ?? outFolder;
  if (since === undefined) {
    if (kind === 'auto') return { kind: 'full', reason: 'no `since` folder to look for earlier backups in' };
    throw new OptionError('since', since, `the manifest or the folder of backups that a ${kind} backup builds on`);
  }
  const newestPath = await newestBackupIn(since);
  if (newestPath === undefined && kind !== 'auto') {
    throw new ChainError('PARENT_MISSING', `There is no backup in ${since} to build on. Make a full backup first, or use kind 'auto'.`, { path: since });
  }
  if (newestPath === undefined) return { kind: 'full', reason: `no earlier backup in ${since}` };

  let chain: ChainLink[];
  try {
    const newest = await readChainLink(newestPath);
    const otherTree = treeDifference(newest.header, tree);
    if (otherTree) {
      throw new ChainError(
        'PARENT_OTHER_TREE',
        `${newestPath} backs up another tree (${otherTree}). Pass \`since\` the backups of this tree, or make a full backup.`,
        { path: newestPath },
      );
    }
    chain = [];
    for await (const link of ancestry(newest)) chain.push(link);
  } catch (error) {
    // `auto` starts a new chain rather than build on one that cannot be restored.
    if (kind === 'auto' && error instanceof ChainError) return { kind: 'full', reason: error.message };
    throw error;
  }
  const root = chain.at(-1)!;
  if (root.header.kind !== 'full') {
    throw new ChainError('PARENT_MISSING', `${root.manifestPath} is a ${root.header.kind} backup that names no parent: its chain has no full backup.`, {
      path: root.manifestPath,
    });
  }
  let chosen: BackupKind = kind === 'auto' ? 'incremental' : kind;
  let reason = kind === 'auto' ? `incremental on ${basename(chain[0]!.manifestPath)}` : `${kind} backup asked for`;
  if (kind === 'auto') {
    const ageMs = now.getTime() - Date.parse(root.header.createdAt);
    if (chain.length >= options.fullEvery) {
      chosen = 'full';
      reason = `the chain holds ${chain.length} backups (fullEvery: ${options.fullEvery})`;
    } else if (!(ageMs < options.fullMaxAgeMs)) {
      chosen = 'full';
      reason = `the last full backup is ${Math.floor(ageMs / 3_600_000)} hours old (fullMaxAge)`;
    }
  }
  if (chosen === 'full') return { kind: 'full', reason };
  const parent = chosen === 'incremental' ? chain[0]! : root;
  return {
    kind: chosen,
    reason,
    parent: {
      manifest: await readLinkManifest(parent),
      link: {
        id: parent.header.id,
        manifest: outFolder === undefined ? basename(parent.manifestPath) : relative(outFolder, parent.manifestPath).split(sep).join('/'),
        manifestSha256: parent.sha256,
      },
      scanStartNs: BigInt(Date.parse(parent.header.createdAt)) * 1_000_000n,
    },
  };
}

/**
 * `since` as a manifest path: itself, the manifest beside an archive, or a folder's newest;
 * undefined for a folder with no backup (or none yet: the output folder of a first run).
 */
async function newestBackupIn(since: string): Promise<string | undefined> {
  const isBackupFile = /\.(manifest\.jsonl|tar|tar\.gz)$/.test(since);
  const info = await stat(since).catch(() => undefined);
  if (!isBackupFile) {
    // A folder without backups (or not there yet) has nothing to build on; an unreadable one is an error.
    if (!info) return undefined;
    if (!info.isDirectory()) throw new OptionError('since', since, 'the path of a NAME.manifest.jsonl, of its archive, or of a folder of backups');
    return newestManifest(since).catch((error: unknown) => (error instanceof BackupError && error.code === 'SOURCE_NOT_FOUND' ? undefined : Promise.reject(error)));
  }
  const path = since.replace(/\.tar(\.gz)?$/, '.manifest.jsonl');
  if (!(await stat(path).catch(() => undefined))) {
    throw new ChainError('PARENT_MISSING', `The backup to build on, ${path}, does not exist. Check \`since\`, or make a full backup.`, { path });
  }
  return path;
}

/** Why a parent's header shows it backed up another tree, or undefined when it is the same one. */
function treeDifference(parent: ManifestHeader, tree: TreeIdentity): string | undefined {
  if (parent.root !== undefined && parent.root !== tree.root) return `of ${parent.root}, not ${tree.root}`;
  if ((parent.selection === undefined) !== (tree.selection === undefined)) {
    return parent.selection ? 'made by the engine’s own scan, not by a gulp pipeline' : 'made by a gulp pipeline, not by the engine’s own scan';
  }
  const sources = (selection: Selection | undefined) => JSON.stringify(selection?.sources ?? []);
  if (sources(parent.selection) !== sources(tree.selection)) return `sources ${sources(parent.selection)}, not ${sources(tree.selection)}`;
  return undefined;
}

/** The change detector for a plan with a parent. */
export function changeDetectorFor(plan: BackupPlan, options: ResolvedArchiveOptions): ChangeDetector | undefined {
  if (!plan.parent) return undefined;
  const { manifest, scanStartNs } = plan.parent;
  const rules = { checksum: options.checksum, ctime: options.compareCtime, inode: options.compareInode };
  return new ChangeDetector(manifest.header.id, manifest.entries, scanStartNs, rules, options.hashes, options.fileSystem);
}
