/** `gulp-backup verify <manifest|archive>`: exit 0 when intact, 1 when damage is found. */
import type { Command } from 'commander';
import type { CliContext } from './context.js';
import { READ_MEMORY_FLAG, integerOrRaw } from './parse.js';
import { s3SettingsFrom, type S3Flags } from './s3-flags.js';
import { stderrProgress } from './progress-renderer.js';
import { EXIT_DAMAGE, EXIT_OK } from './exit-codes.js';
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
    .argument('<path>', 'NAME.manifest.jsonl, or NAME.tar.gz (its manifest beside it is used when present)')
    .option('-s, --source <dir>', 'also compare with this live tree (the folder the backup paths are relative to)')
    .option('-j, --concurrency <n>', 'inflate workers (default: the number of cores)')
    .option(...READ_MEMORY_FLAG)
    .option('--json', 'print the report as JSON')
    .option('-q, --quiet', 'print only problems')
    .action(async (path: string, flags: VerifyFlags) => {
      const renderer = stderrProgress(flags, context.stderr, context.stdout);
      const { verifyBackup } = await import('../engine/read/verify.js');
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
      context.exitCode = report.ok ? EXIT_OK : EXIT_DAMAGE;
    });
}
