/** A verify report in words, as the CLI prints it and gulp logs it. */
import type { VerifyReport } from '../engine/read/verify.js';
import { countText, plural } from '../engine/plural.js';
import { capped, formatDuration, formatStoreCounters, printableName } from './format.js';

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
      lines.push(`OK ${report.archivePath}: ${plural(counts.entries, 'entry')} in ${plural(counts.blocks, 'block')}${chain}, in ${formatDuration(report.elapsedMs)}`);
      lines.push(...formatStoreCounters(report.store));
      if (!report.hashesChecked) lines.push('  block checksums, lengths and tar structure were checked; without a manifest there are no file hashes to check');
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
  lines.push(`DAMAGED ${report.archivePath}: ${counts.damaged} damaged, ${counts.missing} missing of ${plural(counts.entries, 'entry')}; ${countText(counts.damagedBlocks)} of ${plural(counts.blocks, 'block')} unreadable`);
  for (const problem of report.problems) lines.push(`  ${problem}`);
  for (const entry of report.entries) if (entry.status !== 'ok') lines.push(`  ${entry.status} ${printableName(entry.path)}: ${entry.reason ?? ''}`);
  return [...lines, ...capped(sourceLines)];
}

