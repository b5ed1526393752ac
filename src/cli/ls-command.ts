/** `gulp-backup ls <manifest|archive>`: the entries of a backup, like `tar -tv`. */
import type { Command } from 'commander';
import { list } from 'tar';
import { locateBackup } from '../engine/locate-backup.js';
import { nanosecondsToMilliseconds } from '../engine/time.js';
import type { CliContext } from './context.js';
import { EXIT_OK } from './exit-codes.js';

interface ListFlags {
  json?: boolean;
}

export function registerList(program: Command, context: CliContext): void {
  program
    .command('ls')
    .description('list the entries of a backup')
    .argument('<path>', 'NAME.manifest.jsonl, or an archive')
    .option('--json', 'print the manifest records as JSON lines')
    .action(async (path: string, flags: ListFlags) => {
      const { manifest, archivePath } = await locateBackup(path);
      if (!manifest) {
        await list({ file: archivePath, onReadEntry: (entry) => context.stdout.write(`${entry.path}\n`) });
      } else if (flags.json) {
        for (const entry of manifest.entries) context.stdout.write(`${JSON.stringify(entry)}\n`);
      } else {
        const h = manifest.header;
        context.stdout.write(`# ${h.kind} backup ${h.id}, ${h.createdAt}, ${manifest.entries.length} entries, ${archivePath}\n`);
        for (const entry of manifest.entries) {
          const when = new Date(nanosecondsToMilliseconds(BigInt(entry.mtimeNs))).toISOString().replace('T', ' ').slice(0, 19);
          const kind = { file: '-', directory: 'd', symlink: 'l', hardlink: 'h' }[entry.type];
          const target = entry.linkTarget === undefined ? '' : ` -> ${entry.linkTarget}`;
          context.stdout.write(`${kind}${entry.mode.toString(8).padStart(4, '0')} ${String(entry.size).padStart(12)} ${when} ${entry.path}${target}\n`);
        }
      }
      context.exitCode = EXIT_OK;
    });
}
