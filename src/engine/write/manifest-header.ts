/** The manifest's header record, shared by the engine and the gulp plugin. */
import { randomUUID } from 'node:crypto';
import { MANIFEST_FORMAT, MANIFEST_VERSION, type ManifestHeader, type Selection } from '../../format/manifest.js';
import type { BackupPlan } from '../chain/backup-plan.js';
import type { ResolvedArchiveOptions } from '../options.js';
import { TOOL } from '../tool.js';

export interface HeaderContext {
  plan: BackupPlan;
  /** The folder archive paths are relative to. */
  root: string;
  /** How the engine chose the files; undefined for a gulp pipeline. */
  selection?: Selection;
}

export function buildHeader(options: ResolvedArchiveOptions, archiveName: string, createdAt: Date, context: HeaderContext): ManifestHeader {
  const { plan } = context;
  return {
    record: 'header',
    format: MANIFEST_FORMAT,
    version: MANIFEST_VERSION,
    id: randomUUID(),
    kind: plan.kind,
    parent: plan.parent?.link ?? null,
    createdAt: createdAt.toISOString(),
    archive: archiveName,
    options: { codec: options.codec, level: options.level, blockSize: options.blockSize, hashes: options.hashes },
    ...(context.selection ? { selection: context.selection } : {}),
    root: context.root,
    ...(plan.parent
      ? {
          changeDetection: {
            mode: options.checksum ? 'checksum' : 'stat',
            fields: [...(options.compareCtime ? (['ctime'] as const) : []), ...(options.compareInode ? (['ino'] as const) : [])],
          },
        }
      : {}),
    tool: TOOL,
  };
}
