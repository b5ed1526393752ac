/**
 * `gulp-backup verify <manifest|archive>...`: exit 0 when intact, 1 when damage is found. Several
 * backups (`verify backups/*.manifest.jsonl`) are checked one after another, each reported; one
 * that cannot be read is named and the others are still checked (exit 1 if any is damaged, else 2).
 */
import type { Command } from 'commander';
import type { CliContext } from './context.js';
import { READ_MEMORY_FLAG, integerOrRaw } from './parse.js';
import { s3SettingsFrom, type S3Flags } from './s3-flags.js';
import { stderrProgress } from './progress-renderer.js';
import { EXIT_DAMAGE, EXIT_OK, EXIT_USAGE } from './exit-codes.js';
import { AbortError, BackupError, OptionError } from '../errors.js';
import { formatVerifyReport } from '../report/verify-report.js';

interface VerifyFlags extends S3Flags {
  source?: string;
  concurrency?: string;
  maxMemory?: string;
  json?: boolean;
  quiet?: boolean;
}

export function registerVerify(program: Command, context: CliContext): void {
  program
    .command('verify')
    .description('check an archive against its manifest: checksums, every block, every file hash')
    .argument('<paths...>', 'NAME.manifest.jsonl, or NAME.tar.gz (its manifest beside it is used when present), or a folder (its newest backup); several are checked in turn')
    .option('-s, --source <dir>', 'also compare with this live tree (the folder the backup paths are relative to)')
    .option('-j, --concurrency <n>', 'inflate workers (default: the number of cores less one, at least 1)')
    .option(...READ_MEMORY_FLAG)
    .option('--json', 'print the report as JSON')
    .option('-q, --quiet', 'print only problems')
    .action(async (paths: string[], flags: VerifyFlags) => {
      const { verifyBackup } = await import('../engine/read/verify.js');
      let damaged = false;
      let unreadable = false;
      for (const path of paths) {
        const renderer = stderrProgress(flags, context.stderr, context.stdout);
        try {
          const report = await verifyBackup(path, {
            concurrency: integerOrRaw(flags.concurrency),
            maxMemory: flags.maxMemory,
            signal: context.signal,
            source: flags.source,
            s3: s3SettingsFrom(flags),
            onProgress: (progress) => renderer.update(progress),
          }).finally(() => renderer.stop());
          if (flags.json) context.stdout.write(`${JSON.stringify(report)}\n`);
          else context.stdout.write(formatVerifyReport(report, flags.quiet === true).map((line) => `${line}\n`).join(''));
          if (!report.ok) damaged = true;
        } catch (error) {
          // One backup: its error is the command's. Several: it is named, and the others are checked.
          if (paths.length === 1 || !(error instanceof BackupError) || error instanceof OptionError || error instanceof AbortError) throw error;
          context.stderr.write(`gulp-backup: ${error.message}\n`);
          if (flags.json) context.stdout.write(`${JSON.stringify({ event: 'error', code: error.code, message: error.message, path: error.path ?? path, exitCode: EXIT_USAGE })}\n`);
          unreadable = true;
        }
      }
      context.exitCode = damaged ? EXIT_DAMAGE : unreadable ? EXIT_USAGE : EXIT_OK;
    });
}
