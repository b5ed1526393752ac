/** `gulp-backup verify <manifest|archive>`: exit 0 when intact, 1 when damage is found. */
import type { Command } from 'commander';
import type { VerifyReport } from '../engine/verify.js';
import type { CliContext } from './context.js';
import { integerOrRaw } from './parse.js';
import { stderrProgress } from './progress-renderer.js';
import { EXIT_DAMAGE, EXIT_OK } from './exit-codes.js';
import { capped, formatDuration } from './format.js';

interface VerifyFlags {
  source?: string;
  concurrency?: string;
  json?: boolean;
  quiet?: boolean;
}

export function registerVerify(program: Command, context: CliContext): void {
  program
    .command('verify')
    .description('check an archive against its manifest: checksums, every block, every file hash')
    .argument('<path>', 'NAME.manifest.jsonl, or NAME.tar.gz (its manifest beside it is used when present)')
    .option('-s, --source <dir>', 'also compare with this live tree (the folder the backup paths are relative to)')
    .option('-j, --concurrency <n>', 'inflate workers (default: the number of cores)')
    .option('--json', 'print the report as JSON')
    .option('-q, --quiet', 'print only problems')
    .action(async (path: string, flags: VerifyFlags) => {
      const renderer = stderrProgress(flags, context.stderr, context.stdout);
      const { verifyBackup } = await import('../engine/verify.js');
      const report = await verifyBackup(path, {
        concurrency: integerOrRaw(flags.concurrency),
        signal: context.signal,
        source: flags.source,
        onProgress: (progress) => renderer.update(progress),
      }).finally(() => renderer.stop());
      if (flags.json) context.stdout.write(`${JSON.stringify(report)}\n`);
      else context.stdout.write(formatVerifyReport(report, flags.quiet === true).map((line) => `${line}\n`).join(''));
      context.exitCode = report.ok ? EXIT_OK : EXIT_DAMAGE;
    });
}

export function formatVerifyReport(report: VerifyReport, quiet: boolean): string[] {
  const lines: string[] = [];
  const { counts } = report;
  const source = report.source;
  const sourceLines = source
    ? [
        ...source.changed.map((c) => `  changed ${c.path}: ${c.reason}`),
        ...source.missing.map((path) => `  missing from ${source.root}: ${path}`),
        ...source.new.map((path) => `  new in ${source.root}: ${path}`),
      ]
    : [];
  if (report.ok) {
    if (!quiet) {
      const chain = report.archives.length > 1 ? ` of ${report.archives.length} archives of its chain` : '';
      lines.push(`OK ${report.archivePath}: ${counts.entries} entries in ${counts.blocks} blocks${chain}, in ${formatDuration(report.elapsedMs)}`);
      if (!report.hashesChecked) lines.push('  CRCs, lengths and tar structure were checked; a plain tar archive holds no file hashes to check');
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
  lines.push(`DAMAGED ${report.archivePath}: ${counts.damaged} damaged, ${counts.missing} missing of ${counts.entries} entries; ${counts.damagedBlocks} of ${counts.blocks} blocks unreadable`);
  for (const problem of report.problems) lines.push(`  ${problem}`);
  for (const entry of report.entries) if (entry.status !== 'ok') lines.push(`  ${entry.status} ${entry.path}: ${entry.reason ?? ''}`);
  return [...lines, ...capped(sourceLines)];
}

