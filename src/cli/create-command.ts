/** `gulp-backup create <path...>`: the engine's createBackup with progress and a summary. */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { BackupOptions, HashAlgorithm, KindOption } from '../engine/options.js';
import { OptionError } from '../errors.js';
import type { Codec } from '../format/manifest.js';
import { EXIT_OK } from './exit-codes.js';
import { chooseProgressMode, createProgressRenderer } from './progress-renderer.js';
import { formatBackupSummary, formatPreview } from '../report/backup-summary.js';
import type { CliContext } from './context.js';
import { collect, integerOrRaw } from './parse.js';
import { s3SettingsFrom, type S3Flags } from './s3-flags.js';

interface CreateFlags extends S3Flags {
  out: string;
  name?: string;
  cwd?: string;
  level?: string;
  codec?: string;
  hash?: string;
  include: string[];
  exclude: string[];
  excludeFrom: string[];
  dot?: boolean;
  followSymlinks?: boolean;
  maxFileSize?: string;
  allowEmpty?: boolean;
  replace?: boolean;
  dryRun?: boolean;
  blockSize?: string;
  concurrency?: string;
  readConcurrency?: string;
  maxMemory?: string;
  retries?: string;
  retryDelay?: string;
  onFileError?: string;
  json?: boolean;
  quiet?: boolean;
  incremental?: boolean;
  differential?: boolean;
  auto?: boolean;
  since?: string;
  fullEvery?: string;
  fullMaxAge?: string;
  checksum?: boolean;
  ctime: boolean;
  inode: boolean;
}

/** The kind the flags ask for; more than one is an error that names them. */
function kindOf(flags: CreateFlags): KindOption | undefined {
  const asked = (['incremental', 'differential', 'auto'] as const).filter((kind) => flags[kind]);
  if (asked.length > 1) throw new OptionError('kind', asked.map((kind) => `--${kind}`).join(' '), 'one of --incremental, --differential and --auto');
  return asked[0];
}


export function registerCreate(program: Command, context: CliContext): void {
  program
    .command('create')
    .description('back up files and folders into NAME.tar.gz (or .tar.zst with --codec zstd) with a checksum manifest')
    .argument('<path...>', 'files and folders to back up, relative to --cwd')
    .option('-o, --out <dir>', 'folder to write the backup into, or s3://bucket/prefix', 'backups')
    .option('-n, --name <name>', 'base name of the backup files (default: backup-<UTC time>)')
    .option('--replace', 'replace the backup of that --name once the new one is complete (a fixed snapshot such as predeploy)')
    .option('-C, --cwd <dir>', 'folder that archive paths are relative to (default: the current folder)')
    .option('-l, --level <n>', 'compression level: gzip 0 (store) to 9 (smallest), default 6; zstd 1 to 19, default 3')
    .option('--codec <gzip|zstd|none>', "gzip (.tar.gz, the default, opens everywhere), zstd (.tar.zst: faster and smaller, Node.js >= 22.15), none (plain .tar, for data already compressed)")
    .option('--hash <list>', 'content hashes to record, comma-separated: sha256, sha1, sha512, md5 (default: sha256)')
    .option('-i, --include <glob>', 'only back up paths that match (repeatable)', collect, [])
    .option('-x, --exclude <glob>', 'leave out paths that match; a pattern without / matches a name at any depth, !pattern takes one back, as in .gitignore (repeatable)', collect, [])
    .option('-X, --exclude-from <file>', "leave out paths that match the patterns in this file, one per line ('#' starts a comment), as a .gitignore is read (repeatable)", collect, [])
    .option('--dot', 'keep names that start with a dot (the default)')
    .option('--no-dot', 'leave out names that start with a dot (kept by default, as tar does)')
    .option('--follow-symlinks', 'store what symlinks point to instead of the links')
    .option('--max-file-size <size>', "skip files larger than this, such as '100MB' (listed in the manifest)")
    .option('--allow-empty', 'a source that does not exist, or patterns that leave out every file, make an empty backup instead of an error')
    .option('--block-size <size>', "uncompressed bytes per compressed block (default: '1MB'; zstd: '4MB')")
    .option('-j, --concurrency <n>', 'compression workers (default: the number of cores)')
    .option('--read-concurrency <n>', 'files read at once, ahead of the writer: more helps cold disks and network file systems (default: 1)')
    .option('--max-memory <size>', "bytes of blocks in flight (default: '256MB')")
    .option('--retries <n>', 'further tries of a read that meets a transient error (EBUSY, EIO…) (default: 3)')
    .option('--retry-delay <ms>', 'base delay before a retry, doubled each time (default: 100)')
    .option('--on-file-error <fail|skip>', "a file that cannot be opened fails the backup, or is skipped and listed (default: fail)")
    .option('--incremental', 'store only what changed since the newest backup in --out (or --since)')
    .option('--differential', 'store only what changed since the newest full backup in --out (or --since)')
    .option('--auto', 'full when there is none yet, after --full-every backups or --full-max-age; incremental otherwise')
    .option('--since <path>', 'the backup to build on: a manifest, or a folder (or s3:// prefix) whose newest backup is used (default: --out)')
    .option('--full-every <n>', 'with --auto: a full backup when the chain holds this many (default: 10)')
    .option('--full-max-age <duration>', "with --auto: a full backup when the last one is this old, such as '7d' or '12h' (default: 7d)")
    .option('--checksum', 'read every file and store only those whose content differs (for trees whose mtimes cannot be trusted)')
    .option('--no-ctime', 'do not count a changed ctime as a change (file systems where it churns)')
    .option('--no-inode', 'do not count a changed inode number as a change (network and FUSE file systems)')
    .option('--dry-run', 'list what would be stored, taken from the chain and left out (and by which rule), and write nothing')
    .option('--json', 'print progress and the result as JSON lines on stdout')
    .option('-q, --quiet', 'print nothing but errors')
    .action(async (paths: string[], flags: CreateFlags) => {
      const mode = chooseProgressMode(flags, context.stderr);
      const renderer = createProgressRenderer(mode, context.stderr, context.stdout);
      const options: BackupOptions = {
        sources: paths,
        out: flags.out,
        name: flags.name,
        cwd: flags.cwd,
        level: integerOrRaw(flags.level),
        codec: flags.codec as Codec | undefined,
        hashes: flags.hash?.split(',').map((name) => name.trim().toLowerCase()) as HashAlgorithm[] | undefined,
        include: flags.include.length > 0 ? flags.include : undefined,
        exclude: flags.exclude,
        // Files named on the command line are relative to where it runs, not to --cwd (tar -X's rule).
        excludeFrom: flags.excludeFrom.map((file) => resolve(file)),
        dot: flags.dot,
        followSymlinks: flags.followSymlinks,
        maxFileSize: flags.maxFileSize,
        allowEmpty: flags.allowEmpty,
        replace: flags.replace,
        blockSize: flags.blockSize,
        concurrency: integerOrRaw(flags.concurrency),
        readConcurrency: integerOrRaw(flags.readConcurrency),
        maxMemory: flags.maxMemory,
        retries: integerOrRaw(flags.retries),
        retryDelay: integerOrRaw(flags.retryDelay),
        onFileError: flags.onFileError as 'fail' | 'skip' | undefined,
        kind: kindOf(flags),
        since: flags.since,
        fullEvery: integerOrRaw(flags.fullEvery),
        fullMaxAge: integerOrRaw(flags.fullMaxAge),
        checksum: flags.checksum,
        compareCtime: flags.ctime,
        compareInode: flags.inode,
        s3: s3SettingsFrom(flags),
        signal: context.signal,
        onProgress: (progress) => renderer.update(progress),
      };
      if (flags.dryRun) {
        const { previewBackup } = await import('../engine/write/preview.js');
        const preview = await previewBackup(options);
        context.stdout.write(flags.json ? `${JSON.stringify({ event: 'dry-run', ...preview })}\n` : `${formatPreview(preview).join('\n')}\n`);
        context.exitCode = EXIT_OK;
        return;
      }
      try {
        // Loaded when used: a command's start-up is part of every run's time.
        const { createBackup } = await import('../engine/write/backup.js');
        const result = await createBackup(options);
        renderer.stop();
        if (flags.json) context.stdout.write(`${JSON.stringify({ event: 'result', ...result })}\n`);
        else if (!flags.quiet) context.stdout.write(`${formatBackupSummary(result).join('\n')}\n`);
      } finally {
        renderer.stop();
      }
      context.exitCode = EXIT_OK;
    });
}
