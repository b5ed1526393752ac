/**
 * A dry run (`--dry-run`, `dryRun`): what a backup would do, decided exactly as `createBackup`
 * decides it (the same plan, scan and change detector), without writing anything: the files it
 * would store, those the chain would hold, and every path left out with the rule that did it.
 */
import { codecNamed, usableCodec } from '../../format/codecs/codecs.js';
import { resolve } from 'node:path';
import type { BackupKind, EntryType } from '../../format/manifest.js';
import { changeDetectorFor, planBackup } from '../chain/backup-plan.js';
import { resolveBackupOptions, selectionOf, type BackupOptions } from '../options.js';
import { scanSources } from './scan.js';
import { SMALL_FILE_LIMIT } from './write-archive.js';

export interface BackupPreview {
  kind: BackupKind;
  /** Why this kind, and what it would build on, in words. */
  kindReason: string;
  /** The backup it would build on (incremental and differential kinds). */
  parent?: { id: string; manifestPath: string };
  /** Entries whose content (files) or record (folders, links) would be stored. */
  store: { path: string; type: EntryType; size: number }[];
  /** Files whose content the chain already holds: recorded, not read or stored. */
  unchanged: { path: string; size: number; heldBy: string }[];
  /** Paths left out, and by which rule (a pattern, dot, size, type, a missing source…). */
  leftOut: { path: string; rule: string }[];
  warnings: string[];
}

/** What `createBackup(options)` would store, take from the chain and leave out, without writing. */
export async function previewBackup(options: BackupOptions): Promise<BackupPreview> {
  const resolved = resolveBackupOptions(options, 'previewBackup()');
  usableCodec(codecNamed(resolved.codec, 'codec')); // the backup it previews would fail
  const startedAt = new Date();
  const plan = await planBackup(resolved, { root: resolved.cwd, selection: selectionOf(resolved) }, resolved.out, startedAt);
  const leftOut: BackupPreview['leftOut'] = [];
  const scan = await scanSources({ ...resolved, leaveOut: [resolved.out], onLeftOut: (path, rule) => leftOut.push({ path, rule }) });
  for (const item of scan.skipped) leftOut.push({ path: item.path, rule: item.reason });
  const changes = changeDetectorFor(plan, resolved);
  const preview: BackupPreview = { kind: plan.kind, kindReason: plan.reason, store: [], unchanged: [], leftOut, warnings: [...plan.warnings, ...scan.warnings] };
  if (plan.parent) preview.parent = { id: plan.parent.link.id, manifestPath: resolve(resolved.out, plan.parent.link.manifest) };
  for (const entry of scan.entries) {
    const verdict = entry.type === 'file' ? changes?.check(entry) : undefined;
    // A dry run compares what the backup would compare (and what it would hash as it stores it): it reads those files, and only those.
    const toCompare = verdict?.compare ?? (entry.size <= SMALL_FILE_LIMIT ? verdict?.candidate : undefined);
    const held = toCompare !== undefined ? await changes!.compare(entry, toCompare) : verdict?.held;
    if (held) preview.unchanged.push({ path: entry.path, size: held.size, heldBy: held.heldBy });
    else preview.store.push({ path: entry.path, type: entry.type, size: entry.size });
  }
  return preview;
}
