/** A verify report in words, as the CLI prints it and gulp logs it. */
import type { ArchiveLayout, VerifyReport } from '../engine/read/verify.js';
import { countText, plural } from '../engine/plural.js';
import { capped, formatDuration, formatStoreCounters, printableName } from './format.js';

/** What verify could check of an archive without its manifest, by how it is laid out: never more than it did. */
const CHECKED_WITHOUT_MANIFEST: Readonly<Record<ArchiveLayout, string>> = {
  blocked: 'block checksums, lengths and tar structure were checked; without a manifest there are no file hashes to check',
  gzip: 'the gzip checksum and length of every member and the tar structure were checked; a .tar.gz holds no file hashes to check',
  zstd: "the zstd frames (with their checksums, where the frames carry one) and the tar structure were checked; a .tar.zst holds no file hashes to check",
  tar: 'the tar structure was checked (header checksums, sizes, the end marker); a plain tar holds no checksum of any content',
};

/** Blocks are named where they are ours: another tool's stream is read in one pass, and a plain tar has none. */
function inBlocks(report: VerifyReport): string {
  return report.layout === 'blocked' ? ` in ${plural(report.counts.blocks, 'block')}` : '';
}

export function formatVerifyReport(report: VerifyReport, quiet: boolean): string[] {
  const lines: string[] = [];
  const { counts } = report;
  const source = report.source;
  const sourceLines = source
    ? [
        ...source.changed.map((c) => `  changed ${printableName(c.path)}: ${c.reason}`),
        ...source.missing.map((path) => `  missing from ${source.root}: ${printableName(path)}`),
        ...source.new.map((path) => `  new in ${source.root}: ${printableName(path)}`),
      ]
    : [];
  if (report.ok) {
    if (!quiet) {
      const chain = report.archives.length > 1 ? ` of ${report.archives.length} archives of its chain` : '';
      lines.push(`OK ${report.archivePath}: ${plural(counts.entries, 'entry')}${inBlocks(report)}${chain}, in ${formatDuration(report.elapsedMs)}`);
      lines.push(...formatStoreCounters(report.store));
      if (!report.hashesChecked) lines.push(`  ${CHECKED_WITHOUT_MANIFEST[report.layout]}`);
      for (const warning of report.warnings) lines.push(`  warning: ${warning}`);
      if (source) lines.push(`  ${source.root} matches the manifest`);
    }
    return lines;
  }
  if (counts.damaged + counts.missing + counts.damagedBlocks === 0 && report.problems.length === 0) {
    lines.push(`OK ${report.archivePath}, but ${source?.root} differs from it: ${source?.changed.length} changed, ${source?.missing.length} missing, ${source?.new.length} new`);
    if (source?.madeFrom) lines.push(`  most of the backup is missing from ${source.root}: it was made from ${source.madeFrom} (--source names the folder its paths are relative to)`);
    return [...lines, ...capped(sourceLines)];
  }
  const unreadable =
    report.layout === 'blocked' ? `; ${countText(counts.damagedBlocks)} of ${plural(counts.blocks, 'block')} unreadable` : counts.damagedBlocks > 0 ? `; the ${report.layout} stream is damaged` : '';
  lines.push(`DAMAGED ${report.archivePath}: ${counts.damaged} damaged, ${counts.missing} missing of ${plural(counts.entries, 'entry')}${unreadable}`);
  for (const problem of report.problems) lines.push(`  ${problem}`);
  for (const entry of report.entries) if (entry.status !== 'ok') lines.push(`  ${entry.status} ${printableName(entry.path)}: ${entry.reason ?? ''}`);
  return [...lines, ...capped(sourceLines)];
}

