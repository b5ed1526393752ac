/**
 * Which kind of backup to make and what to build it on: `full`, `incremental` (on the newest
 * backup), `differential` (on the full backup at the root of the newest chain) or `auto`.
 * The parent's chain is proven link by link before anything is built on it.
 */
import { BackupError, ChainError, OptionError } from '../../errors.js';
import type { BackupKind, ManifestHeader, ParentLink, Selection } from '../../format/manifest.js';
import { ancestry, readChainLink, readLinkFiles, type ChainLink } from './backup-chain.js';
import type { ParentFileIndex } from './parent-files.js';
import { isBackupFileName, manifestBeside, newestManifest, type UnreadableManifest } from './locate-backup.js';
import { ChangeDetector } from './change-detector.js';
import { LfsPointerError, refuseLfsPointer } from '../../format/lfs-pointer.js';
import { archiveCopyKind, archiveCopyNote, type ArchiveCopyKind } from '../read/archive-copy.js';
import type { ResolvedArchiveOptions, ResolvedChainOptions } from '../options.js';
import { nameOf, relativeLocation } from '../../store/location.js';
import type { Stores } from '../../store/stores.js';

/** The reason of a full backup made because one was asked for (the summary says nothing more). */
export const FULL_ASKED_FOR = 'a full backup was asked for';

export interface BackupPlan {
  kind: BackupKind;
  /** Why this kind was chosen, in words (shown in the summary). */
  reason: string;
  /** What the user should know: manifests skipped as unreadable. */
  warnings: string[];
  parent?: {
    header: ManifestHeader;
    /** Its files, as the change detector reads them. */
    files: ParentFileIndex;
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
  const { kind, stores } = options;
  const warnings: string[] = [];
  if (kind === 'full') return { kind: 'full', reason: FULL_ASKED_FOR, warnings };
  const since = options.since ?? outFolder;
  if (since === undefined) {
    if (kind === 'auto') return { kind: 'full', reason: 'no `since` folder to look for earlier backups in', warnings };
    throw new OptionError('since', since, `the manifest or the folder of backups that a ${kind} backup builds on`);
  }
  const unreadable: UnreadableManifest[] = [];
  const newestPath = await newestBackupIn(since, unreadable, stores, tree);
  warnings.push(...unreadable.map((u) => `skipped ${u.path}: ${u.reason}`));
  if (newestPath === undefined && kind !== 'auto') {
    throw new ChainError('PARENT_MISSING', `There is no backup in ${since} to build on. Make a full backup first, or use --auto.`, { path: since });
  }
  if (newestPath === undefined) return { kind: 'full', reason: `no earlier backup in ${since}`, warnings };
  // An unreadable manifest may be the newest backup: auto does not guess what to build on.
  if (kind === 'auto' && unreadable.length > 0) return { kind: 'full', reason: `${unreadable.length} manifest(s) in ${since} cannot be read, so a new chain starts`, warnings };

  let chain: ChainLink[];
  try {
    // An incremental backup decodes the newest manifest: its bytes are kept rather than read twice.
    const newest = await readChainLink(newestPath, stores, { keep: true });
    const otherTree = treeDifference(newest.header, tree);
    // A folder's newest of another tree: it holds none of this one (those are preferred), so a chain starts.
    if (otherTree && kind === 'auto' && !isBackupFileName(since)) {
      return { kind: 'full', reason: `no earlier backup of this tree in ${since} (the newest there is of another: ${otherTree})`, warnings };
    }
    if (otherTree) {
      throw new ChainError(
        'PARENT_OTHER_TREE',
        `${newestPath} backs up another tree (${otherTree}). Pass \`since\` the backups of this tree, or make a full backup.`,
        { path: newestPath },
      );
    }
    chain = [];
    for await (const link of ancestry(newest, stores)) chain.push(link);
    await checkArchivesPresent(chain, stores, warnings);
  } catch (error) {
    // `auto` starts a new chain rather than build on one that cannot be restored (or read).
    const unusable = error instanceof ChainError || (error instanceof BackupError && error.code === 'MANIFEST_INVALID');
    if (kind === 'auto' && unusable) return { kind: 'full', reason: (error as Error).message, warnings };
    throw error;
  }
  const root = chain.at(-1)!;
  if (root.header.kind !== 'full') {
    throw new ChainError('PARENT_MISSING', `${root.manifestPath} is a ${root.header.kind} backup that names no parent: its chain has no full backup.`, {
      path: root.manifestPath,
    });
  }
  let chosen: BackupKind = kind === 'auto' ? 'incremental' : kind;
  let reason = `${kind === 'auto' ? 'incremental' : kind} on ${nameOf((kind === 'differential' ? root : chain[0]!).manifestPath)}`;
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
  if (chosen === 'full') return { kind: 'full', reason, warnings };
  const parent = chosen === 'incremental' ? chain[0]! : root;
  const parentManifest = outFolder === undefined ? nameOf(parent.manifestPath) : relativeLocation(outFolder, parent.manifestPath);
  if (parentManifest === undefined) {
    throw new OptionError('since', options.since, `in the same place as the output (${outFolder}): a chain lives in one folder on disk or one bucket`);
  }
  return {
    kind: chosen,
    reason,
    warnings,
    parent: {
      ...(await readLinkFiles(parent, stores)),
      link: {
        id: parent.header.id,
        manifest: parentManifest,
        manifestSha256: parent.sha256,
      },
      scanStartNs: BigInt(Date.parse(parent.header.createdAt)) * 1_000_000n,
    },
  };
}

/**
 * `since` as a manifest path: itself, the manifest beside an archive, or a folder's newest backup
 * of this tree (of another tree only when it holds none: its plan then says why it cannot build
 * on it), as restic takes the newest snapshot of the same paths for a parent; undefined for a
 * folder with no backup (or none yet: the output folder of a first run).
 */
async function newestBackupIn(since: string, unreadable: UnreadableManifest[], stores: Stores, tree: TreeIdentity): Promise<string | undefined> {
  if (!isBackupFileName(since)) {
    // A folder without backups (or not there yet) has nothing to build on; an unreadable one is an error.
    const folder = stores.folder(since);
    if (!(await folder.isFolder())) {
      if (await stores.file(since).store.stat(nameOf(since))) throw new OptionError('since', since, 'the path of a NAME.manifest.jsonl, of its archive, or of a folder of backups');
      return undefined;
    }
    return newestManifest(since, unreadable, stores, (header) => treeDifference(header, tree) === undefined).catch((error: unknown) => (error instanceof BackupError && error.code === 'SOURCE_NOT_FOUND' ? undefined : Promise.reject(error)));
  }
  const path = manifestBeside(since);
  const { store, name } = stores.file(path);
  if (!(await store.stat(name))) {
    throw new ChainError('PARENT_MISSING', `The backup to build on, ${path}, does not exist. Check \`since\`, or make a full backup.`, { path });
  }
  return path;
}

/**
 * Every archive of the chain must be there, whole: a new backup would leave the content of its
 * unchanged files to them. (Manifests are proven by `ancestry`; archives only by their size here,
 * since hashing them all would read the whole chain on every run. `verify` reads them.)
 */
async function checkArchivesPresent(chain: readonly ChainLink[], stores: Stores, warnings: string[]): Promise<void> {
  for (const link of chain) {
    const { store, name } = stores.file(link.archivePath);
    const size = (await store.stat(name))?.size;
    if (size === link.footer.archiveFile.size) continue;
    // Not the size written, but a copy the readers take (decompressed, recompressed, padded): its files can be restored.
    const kind = size === undefined ? undefined : await copyKindOf(link, stores);
    if (kind) {
      warnings.push(archiveCopyNote(link.archivePath, kind));
      continue;
    }
    throw new ChainError(
      'PARENT_MISSING',
      `${link.archivePath}, an archive of the chain that ${nameOf(chain[0]!.manifestPath)} belongs to, is ${size === undefined ? 'missing' : `${size} bytes, not ${link.footer.archiveFile.size}`}: ` +
        'a backup built on it could not be restored. Put it back, or make a full backup (--auto does so by itself).',
      { path: link.archivePath },
    );
  }
}

async function copyKindOf(link: ChainLink, stores: Stores): Promise<ArchiveCopyKind | undefined> {
  const { store, name } = stores.file(link.archivePath);
  const file = await store.open(name);
  try {
    // A pointer in place of the archive (backups kept with Git LFS, not fetched): say so; --auto starts a new chain.
    await refuseLfsPointer(file, link.archivePath).catch((error: unknown) => {
      throw error instanceof LfsPointerError ? new ChainError('PARENT_MISSING', error.message, { path: link.archivePath }) : error;
    });
    return await archiveCopyKind(file, link.header, link.footer);
  } finally {
    await file.close();
  }
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
  const { header, files, scanStartNs } = plan.parent;
  const rules = { checksum: options.checksum, ctime: options.compareCtime, inode: options.compareInode };
  return new ChangeDetector(header.id, files, scanStartNs, rules, options.hashes, options.fileSystem);
}
