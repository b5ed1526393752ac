/**
 * `gulp-backup prune <folder> --keep-daily 7 …`: removes the backups a retention policy does not
 * keep (restic's and borg's rules), never one that a kept backup needs; `--dry-run` lists only.
 */
import type { Command } from 'commander';
import type { CliContext } from './context.js';
import { EXIT_OK } from './exit-codes.js';
import { integerOrRaw } from './parse.js';
import { s3SettingsFrom, type S3Flags } from './s3-flags.js';
import { formatPruneResult } from '../report/prune-report.js';

interface PruneFlags extends S3Flags {
  keepLast?: string;
  keepHourly?: string;
  keepDaily?: string;
  keepWeekly?: string;
  keepMonthly?: string;
  keepYearly?: string;
  keepWithin?: string;
  dryRun?: boolean;
  json?: boolean;
  quiet?: boolean;
}

export function registerPrune(program: Command, context: CliContext): void {
  program
    .command('prune')
    .description('remove the backups in a folder that a retention policy does not keep, never one that a kept backup needs')
    .argument('<folder>', 'the folder of backups, or s3://bucket/prefix')
    .option('--keep-last <n>', 'keep the n newest backups')
    .option('--keep-hourly <n>', 'keep the newest backup of each of the last n hours that have one')
    .option('--keep-daily <n>', 'keep the newest backup of each of the last n days that have one')
    .option('--keep-weekly <n>', 'keep the newest backup of each of the last n weeks (ISO) that have one')
    .option('--keep-monthly <n>', 'keep the newest backup of each of the last n months that have one')
    .option('--keep-yearly <n>', 'keep the newest backup of each of the last n years that have one')
    .option('--keep-within <duration>', "keep every backup made within this long before the newest one, such as '7d' or '36h' (as restic's)")
    .option('--dry-run', 'list what would be kept and removed, and remove nothing')
    .option('--json', 'print the result as JSON')
    .option('-q, --quiet', 'print only what was removed')
    .action(async (folder: string, flags: PruneFlags) => {
      const { pruneBackups } = await import('../engine/chain/prune.js');
      const result = await pruneBackups(folder, {
        keepLast: integerOrRaw(flags.keepLast),
        keepHourly: integerOrRaw(flags.keepHourly),
        keepDaily: integerOrRaw(flags.keepDaily),
        keepWeekly: integerOrRaw(flags.keepWeekly),
        keepMonthly: integerOrRaw(flags.keepMonthly),
        keepYearly: integerOrRaw(flags.keepYearly),
        keepWithin: integerOrRaw(flags.keepWithin),
        dryRun: flags.dryRun === true,
        s3: s3SettingsFrom(flags),
      });
      if (flags.json) context.stdout.write(`${JSON.stringify(result)}\n`);
      else context.stdout.write(formatPruneResult(result, flags.quiet === true).map((line) => `${line}\n`).join(''));
      context.exitCode = EXIT_OK;
    });
}
