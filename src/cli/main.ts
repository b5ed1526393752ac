/**
 * The `gulp-backup` command. Errors that are the user's to fix (BackupError) print their message
 * alone, without a stack, and exit 2; any other error prints its stack and exits 3; Ctrl-C cancels
 * the run, cleans up and exits 130 (SIGTERM: 143).
 */
import { Command, CommanderError } from 'commander';
import { AbortError, BackupError, OptionError, formatValue } from '../errors.js';
import { TOOL } from '../engine/tool.js';
import type { CliContext } from './context.js';
import { registerCreate } from './create-command.js';
import { registerVerify } from './verify-command.js';
import { registerRestore } from './restore-command.js';
import { registerList } from './ls-command.js';
import { registerStats } from './stats-command.js';
import { registerPrune } from './prune-command.js';
import { EXIT_INTERRUPTED, EXIT_OK, EXIT_TERMINATED, EXIT_UNEXPECTED, EXIT_USAGE } from './exit-codes.js';
import { addS3Flags } from './s3-flags.js';

export interface MainOptions {
  stdout?: NodeJS.WriteStream;
  stderr?: NodeJS.WriteStream;
  /** Cancels the command; by default Ctrl-C (SIGINT) and SIGTERM do. */
  signal?: AbortSignal;
}

export async function main(argv: string[], options: MainOptions = {}): Promise<number> {
  const stdout = options.stdout ?? process.stdout;
  const stderr = options.stderr ?? process.stderr;
  const controller = new AbortController();
  let received: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    received ??= signal;
    controller.abort(new Error(`received ${signal}`));
  };
  if (!options.signal) {
    // `on`, not `once`: a second Ctrl-C during the clean-up must not kill the process half-way.
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
  const signal = options.signal ?? controller.signal;
  const context: CliContext = { stdout, stderr, signal, exitCode: EXIT_OK };

  const program = new Command('gulp-backup')
    .description('Concurrent, verifiable backups: tar archives of independently compressed blocks (gzip or zstd) with checksum manifests')
    .version(TOOL.version)
    .exitOverride()
    .showHelpAfterError('(run gulp-backup --help for usage)')
    .configureOutput({ writeOut: (text) => stdout.write(text), writeErr: (text) => stderr.write(text) });
  // What an interrupted run leaves behind depends on the command: it is said in those terms.
  let running = '';
  // With --json, a failure is also a JSON line on stdout: a script reading it learns why, not only the exit code.
  let json = false;
  const jsonError = (code: string, message: string, exitCode: number, path?: string) => {
    if (json) stdout.write(`${JSON.stringify({ event: 'error', code, message, ...(path === undefined ? {} : { path }), exitCode })}\n`);
    return exitCode;
  };
  program.hook('preAction', (_program, action) => {
    running = action.name();
    json = action.opts<{ json?: boolean }>().json === true;
  });
  registerCreate(program, context);
  registerVerify(program, context);
  registerRestore(program, context);
  registerList(program, context);
  registerStats(program, context);
  registerPrune(program, context);
  // Every command takes an s3:// location; create also says how to write there.
  for (const command of program.commands) addS3Flags(command, command.name() === 'create');

  try {
    await program.parseAsync(argv, { from: 'user' });
    return context.exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end through here too, with exit code 0.
      return error.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    }
    if (error instanceof AbortError || signal.aborted) {
      const message = INTERRUPTED[running] ?? 'interrupted.';
      stderr.write(`gulp-backup: ${message}\n`);
      return jsonError('ABORTED', message, received === 'SIGTERM' ? EXIT_TERMINATED : EXIT_INTERRUPTED);
    }
    if (error instanceof OptionError) {
      stderr.write(`gulp-backup: ${inFlags(error)}\n(run gulp-backup --help for usage)\n`);
      return jsonError(error.code, inFlags(error), EXIT_USAGE);
    }
    if (error instanceof BackupError) {
      stderr.write(`gulp-backup: ${error.message}\n`);
      return jsonError(error.code, error.message, EXIT_USAGE, error.path);
    }
    // Not an exit code that a script reads as "damage found" (1) or "fix the input" (2).
    const stack = error instanceof Error ? (error.stack ?? error.message) : formatValue(error);
    stderr.write(
      `gulp-backup: unexpected error: ${error instanceof Error ? error.message : formatValue(error)}\n${stack}\n` +
        `This is a bug in gulp-backup ${TOOL.version}, or a system error it does not handle yet: please report it with the lines above.\n`,
    );
    return jsonError('UNEXPECTED', error instanceof Error ? error.message : formatValue(error), EXIT_UNEXPECTED);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** What an interrupted command says about what it left. */
const INTERRUPTED: Readonly<Record<string, string>> = {
  create: 'interrupted; nothing was left behind. Run the command again to make the backup.',
  restore:
    'interrupted; the files restored so far are in place, each one whole and proven, and no partial file was left. ' +
    'Run the command again with --overwrite to finish, or restore into an empty folder.',
};

/** The engine's option names as the flags that set them. */
const FLAGS: Readonly<Record<string, string>> = {
  hashes: '--hash',
  concurrency: '--concurrency (-j)',
  kind: '--incremental, --differential or --auto',
  compareCtime: '--no-ctime',
  compareInode: '--no-inode',
  dot: '--dot / --no-dot',
  sources: 'the paths to back up',
  options: 'the options',
  's3.forcePathStyle': '--s3-path-style',
  's3.serverSideEncryption': '--s3-sse',
  's3.sseKmsKeyId': '--s3-kms-key-id',
};

/** An option error in the words of the command line: `--level must be …, got 12`. */
function inFlags(error: OptionError): string {
  // `s3.partSize` is --s3-part-size.
  const flag = FLAGS[error.option] ?? `--${error.option.replace('.', '-').replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`)}`;
  return `${flag} must be ${error.expected}, got ${formatValue(error.received)}`;
}
