/** The manifest's header record, shared by the engine and the gulp plugin. */
import { randomUUID } from 'node:crypto';
import { MANIFEST_FORMAT, MANIFEST_VERSION, type ManifestHeader, type Selection } from '../format/manifest.js';
import type { ResolvedArchiveOptions } from './options.js';
import { TOOL } from './tool.js';

export function buildHeader(options: ResolvedArchiveOptions, archiveName: string, createdAt: Date, selection?: Selection): ManifestHeader {
  return {
    record: 'header',
    format: MANIFEST_FORMAT,
    version: MANIFEST_VERSION,
    id: randomUUID(),
    kind: 'full',
    parent: null,
    createdAt: createdAt.toISOString(),
    archive: archiveName,
    options: { codec: options.codec, level: options.level, blockSize: options.blockSize, hashes: options.hashes },
    ...(selection ? { selection } : {}),
    tool: TOOL,
  };
}
