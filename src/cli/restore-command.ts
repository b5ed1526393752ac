/** `gulp-backup restore <manifest|archive> --to DIR`: exit 0 when everything was restored, 1 when some entry was not. */
import type { Command } from 'commander';
import type { CliContext } from './context.js';
import { READ_MEMORY_FLAG, collect, integerOrRaw } from './parse.js';
import { s3SettingsFrom, type S3Flags } from './s3-flags.js';
import { stderrProgress } from './progress-renderer.js';
import { EXIT_DAMAGE, EXIT_OK } from './exit-codes.js';
import { formatRestorePreview, formatRestoreResult } from '../report/restore-report.js';

interface RestoreFlags extends S3Flags {
  to: string;
  include: string[];
  allowEmpty?: boolean;
  overwrite?: boolean;
  delete?: boolean;
  sparse?: boolean;
  allowOutsideLinks?: boolean;
  stripComponents?: string;
  dryRun?: boolean;
  concurrency?: string;
  maxMemory?: string;
  json?: boolean;
  quiet?: boolean;
}


export function registerRestore(program: Command, context: CliContext): void {
  program
    .command('restore')
    .description('restore a backup (or any .tar.gz) into a folder, checking every file against the manifest')
    .argument('<path>', 'NAME.manifest.jsonl, an archive (its manifest beside it is used when present), or a folder or s3:// prefix (its newest backup)')
    .requiredOption('-t, --to <dir>', 'folder to restore into (created when missing)')
    .option('-i, --include <glob>', 'restore only entries that match, by archive path or path within its source (repeatable); their folders come too', collect, [])
    .option('--allow-empty', 'patterns that match nothing restore nothing instead of failing')
    .option('--overwrite', 'replace files that exist (default: report them and leave them)')
    .option('--delete', "with --overwrite: then delete what the backup would hold there and does not (as restic's --delete), within its sources and selection; files it excluded stay (--dry-run lists it first)")
    .option('--sparse', 'leave runs of zeros in files over 1 MiB unwritten, as holes (4 KiB pages): sparse files take their own room again')
    .option('--allow-outside-links', 'make symlinks that lead outside the folder (absolute targets) as they are, as GNU tar does: for a backup you trust (nothing is written through them)')
    .option('--dry-run', 'list what would be restored, replaced and (with --delete) deleted, and write nothing')
    .option('--strip-components <n>', 'leave out the first n parts of every stored path, as tar --strip-components does (var/www/site/a.html with 3: a.html)')
    .option('-j, --concurrency <n>', 'inflate workers (default: the number of cores less one, at least 1)')
    .option(...READ_MEMORY_FLAG)
    .option('--json', 'print the result as JSON')
    .option('-q, --quiet', 'print only problems')
    .action(async (path: string, flags: RestoreFlags) => {
      const options = {
        to: flags.to,
        include: flags.include.length > 0 ? flags.include : undefined,
        allowEmpty: flags.allowEmpty,
        overwrite: flags.overwrite,
        delete: flags.delete,
        sparse: flags.sparse,
        allowOutsideLinks: flags.allowOutsideLinks,
        stripComponents: integerOrRaw(flags.stripComponents),
        concurrency: integerOrRaw(flags.concurrency),
        maxMemory: flags.maxMemory,
        signal: context.signal,
        s3: s3SettingsFrom(flags),
      };
      if (flags.dryRun) {
        const { previewRestore } = await import('../engine/read/restore-preview.js');
        const preview = await previewRestore(path, options);
        context.stdout.write(flags.json ? `${JSON.stringify({ event: 'dry-run', ...preview })}\n` : `${formatRestorePreview(preview).join('\n')}\n`);
        context.exitCode = EXIT_OK;
        return;
      }
      const renderer = stderrProgress(flags, context.stderr, context.stdout);
      const { restoreBackup } = await import('../engine/read/restore.js');
      const result = await restoreBackup(path, {
        ...options,
        onProgress: (progress) => renderer.update(progress),
      }).finally(() => renderer.stop());
      if (flags.json) context.stdout.write(`${JSON.stringify(result)}\n`);
      else context.stdout.write(formatRestoreResult(result, flags.quiet === true).map((line) => `${line}\n`).join(''));
      context.exitCode = result.ok ? EXIT_OK : EXIT_DAMAGE;
    });
}
