/**
 * A restore's dry run (`restore --dry-run`, `previewRestore`): what it would write, replace, skip
 * and (with `delete`) delete, decided by the rules the restore applies, without writing or
 * reading any file's content. Refused where the restore would be refused (names taken without
 * `overwrite`, `delete` without a record of what the backup covered, patterns that match nothing).
 */
import { existsSync, lstatSync, type Stats } from 'node:fs';
import { join, resolve } from 'node:path';
import { fsPath } from '../../format/path-bytes.js';
import { codecNamed, readableCodec } from '../../format/codecs/codecs.js';
import type { EntryType } from '../../format/manifest.js';
import { localFolderOf } from '../../store/location.js';
import { BACKUP_PATH, pathArgument } from '../options.js';
import { BackupReader } from './backup-reader.js';
import { deleteExtra, keptFoldersWarning } from './delete-extra.js';
import { includeMatcher } from './include-matcher.js';
import { malformedEntry } from './malformed-entry.js';
import { nestedInItself, strippedPath } from './restore-paths.js';
import { isOurType, nothingSelected, refuseTakenNames, refuseUnscopedDelete, selectEntries, validateRestoreOptions, type RestoreFailure, type RestoreOptions } from './restore.js';
import { DEFAULT_MAX_DEPTH, safeEntryPath } from './safe-paths.js';
import { foldingKey, nameFolding, sameNameRefusals } from './same-names.js';
import { skippedWhenMade } from './skipped-when-made.js';

export interface RestorePreview {
  target: string;
  /** What it would restore, at the paths it would take in the target (after `stripComponents`). */
  restore: { path: string; type: EntryType; size: number }[];
  /** Of those, the names that exist in the target and would be replaced (`overwrite`). */
  replace: string[];
  /** With `delete`: what it would delete from the target, folders before their contents. */
  delete: string[];
  /** Entries it would leave out, and why (refused paths, devices, nothing left to strip…). */
  skipped: RestoreFailure[];
  warnings: string[];
}

/** What `restoreBackup(path, options)` would do, writing nothing. */
export async function previewRestore(path: string, restoreOptions: RestoreOptions): Promise<RestorePreview> {
  pathArgument('previewRestore()', 'path', path, BACKUP_PATH);
  const options = validateRestoreOptions(restoreOptions, 'previewRestore()');
  const root = resolve(options.to);
  const backup = await BackupReader.open(path, options.stores);
  if (options.delete) refuseUnscopedDelete(backup);
  const preview: RestorePreview = { target: root, restore: [], replace: [], delete: [], skipped: [], warnings: [] };
  const maxDepth = options.maxDepth ?? DEFAULT_MAX_DEPTH;
  const take = (stored: string, type: string, size: number) => {
    const kept = strippedPath(stored, options.stripComponents);
    if (kept === '') {
      if (type !== 'directory') preview.skipped.push({ path: stored, reason: `its path has no more than ${options.stripComponents} parts to strip (--strip-components)` });
      return;
    }
    const safe = safeEntryPath(kept, { maxDepth });
    if ('refused' in safe) {
      if (!/^[/.]*$/.test(kept)) preview.skipped.push({ path: stored, reason: `refused: ${safe.refused}` });
      return;
    }
    if (!isOurType(type)) {
      preview.skipped.push({ path: stored, reason: `a ${type} entry is never created` });
      return;
    }
    // Under a file that the target holds where the backup has a folder (ENOTDIR): taken, as the
    // restore counts it; with overwrite that file is what is replaced, not this name.
    let existing: Stats | undefined;
    let underFile = false;
    try {
      existing = lstatSync(fsPath(join(root, safe.path)), { throwIfNoEntry: false });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOTDIR') throw error;
      underFile = true;
    }
    const taken = underFile || (existing !== undefined && !(type === 'directory' && existing.isDirectory()));
    // Names taken are refused one by one when there is no manifest to check them all up front.
    if (taken && !options.overwrite) {
      preview.skipped.push({ path: stored, reason: `${safe.path} exists; pass --overwrite (overwrite: true) to replace it` });
      return;
    }
    preview.restore.push({ path: safe.path, type, size });
    if (taken && !underFile) preview.replace.push(safe.path);
  };
  const targetExists = existsSync(root);
  if (backup.manifest) {
    const selected = selectEntries(backup.manifest, options.include);
    if (options.include && !options.allowEmpty && selected.length === 0) throw nothingSelected(backup.archivePath, options.include);
    // Without overwrite, the restore would refuse up front: so does its dry run, with the same words.
    if (targetExists && !options.overwrite) await refuseTakenNames(backup.manifest, options, root, false);
    // The archives the chosen files lie in must be readable here (zstd needs Node.js 22.15): else the restore fails up front.
    const { holders, broken } = await backup.holders();
    if (broken) preview.warnings.push(`broken chain: ${broken.message} Files held beyond it would not be restored.`);
    const readFrom = new Set(selected.filter((entry) => entry.type === 'file' && entry.size > 0).map((entry) => entry.heldBy ?? backup.manifest!.header.id));
    for (const id of readFrom) {
      const holder = holders.get(id);
      if (holder) readableCodec(codecNamed(holder.header.options.codec, holder.manifestPath ?? holder.archivePath), holder.archivePath);
    }
    for (const entry of selected) {
      const malformed = malformedEntry(entry);
      if (malformed) preview.skipped.push({ path: String(entry.path), reason: `refused: its manifest record is malformed (${malformed})` });
      else take(entry.path, entry.type, entry.type === 'file' ? entry.size : 0);
    }
    const leftOut = skippedWhenMade(backup.manifest, options.include ? includeMatcher(options.include, backup.manifest.header.selection?.sources) : undefined);
    if (leftOut) preview.warnings.push(leftOut);
  } else {
    // An archive alone says what it holds only by being read: its headers, its content skipped.
    const include = options.include ? includeMatcher(options.include) : undefined;
    for await (const entry of backup.entries({ warnings: preview.warnings, maxMemory: options.maxMemory })) {
      options.signal?.throwIfAborted();
      const safe = safeEntryPath(entry.path, { maxDepth });
      if (include && (!('path' in safe) || !include(safe.path))) continue;
      take(entry.path, entry.type, entry.type === 'file' ? (entry.sparse?.realSize ?? entry.size) : 0);
    }
    if (include && preview.restore.length + preview.skipped.length === 0 && !options.allowEmpty) throw nothingSelected(backup.archivePath, options.include!);
  }
  // On a file system that ignores case or Unicode form, names the restore would refuse as one with an earlier one.
  const keyOf = preview.restore.length > 1 ? foldingKey(nameFolding(root)) : undefined;
  if (keyOf) {
    const refused = sameNameRefusals(preview.restore, keyOf);
    if (refused.size > 0) {
      preview.restore = preview.restore.filter((entry) => !refused.has(entry.path));
      preview.replace = preview.replace.filter((path) => !refused.has(path));
      for (const [path, reason] of refused) preview.skipped.push({ path, reason });
    }
  }
  if (options.delete && targetExists) {
    const backupFolder = localFolderOf(backup.manifestPath);
    const removal = await deleteExtra(backup.manifest!, root, { dryRun: true, ...(options.include ? { include: options.include } : {}), ...(backupFolder ? { backupFolder } : {}) });
    preview.delete = removal.deleted;
    const kept = keptFoldersWarning(removal.keptFolders, true);
    if (kept) preview.warnings.push(kept);
  }
  const topNames = new Set<string>();
  for (const entry of preview.restore) if (topNames.add(entry.path.split('/')[0]!).size > 1) break;
  const nested = nestedInItself(topNames, root);
  if (nested) preview.warnings.push(nested);
  return preview;
}
