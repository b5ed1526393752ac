/**
 * The `backup()` gulp plugin: takes vinyl files (buffer, stream or null contents) and emits the
 * archive as a vinyl file with streaming contents, then its `.sha256` and its manifest, for
 * `gulp.dest()` to write. Errors are emitted as PluginError; nothing is thrown inside the stream.
 *
 * @example
 * gulp.src('dist/**', { encoding: false, read: false }).pipe(backup({ name: 'dist' })).pipe(gulp.dest('backups'))
 */
import { join } from 'node:path';
import { PassThrough, Readable, Transform, type TransformCallback } from 'node:stream';
import PluginError from 'plugin-error';
import File from 'vinyl';
import { BackupError, duplicatePathError, OptionError } from '../errors.js';
import { isS3Location, resolveLocation } from '../store/location.js';
import { storeBackup } from '../engine/write/store-backup.js';
import { FolderIdentities } from '../engine/folder-identity.js';
import { codecNamed, usableCodec } from '../format/codecs/codecs.js';
import { rm } from 'node:fs/promises';
import { LocalStore } from '../store/local-store.js';
import { log } from './logger.js';
import { onInterrupt, runSignal } from './interrupt.js';
import type { ArchiveSink } from '../engine/write/block-writer.js';
import { planBackup } from '../engine/chain/backup-plan.js';
import { writeBackup } from '../engine/write/backup-writer.js';
import { ARCHIVE_KEYS, resolveArchiveOptions, type ArchiveOptions } from '../engine/options.js';
import { optionKeys, rejectUnknownKeys } from '../engine/option-keys.js';
import { defaultBackupName, outputPaths } from '../engine/write/output-files.js';
import { ProgressTracker } from '../engine/progress.js';
import { compareArchivePaths, type ArchiveEntry } from '../engine/write/scan.js';
import { formatBackupSummary } from '../report/backup-summary.js';
import { loggedProgress } from './log-progress.js';
import { DotNamesLeftOut, dotNamesWarning } from './dot-names-left-out.js';
import { partialStreamWarning } from './partial-stream.js';
import { vinylToEntry } from './vinyl-entry.js';
import { PLUGIN_NAME, streamError } from './stream-error.js';
import { plural } from '../engine/plural.js';


/** How long gulp.dest gets to open what it was writing before the files are removed on an interrupt. */
const DEST_SETTLE_MS = 100;
/** How long an interrupted run gets to stop at its next block. */
const STOP_WAIT_MS = 2000;

const PLUGIN_OPTION_KEYS = optionKeys<BackupPluginOptions>()(...ARCHIVE_KEYS, 'out', 'replace', 'allowEmpty');

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface BackupPluginOptions extends ArchiveOptions {
  /**
   * Where the backup goes instead of down the stream: a folder, or `s3://bucket/prefix` (written
   * as `createBackup` writes, manifest last; nothing is emitted). Default: the files are emitted
   * for `gulp.dest`. It is also where `since` looks by default.
   */
  out?: string;
  /** With `out`: replace the backup of that `name` once the new one is whole. */
  replace?: boolean;
  /**
   * A stream that brings no file makes an empty backup instead of failing (gulp.src's
   * `allowEmpty`). Default false: a glob that matched nothing (a `dist/` not built yet) fails with
   * `NOTHING_SELECTED`, as the task and the CLI fail on a source that is not there.
   */
  allowEmpty?: boolean;
}

export function backup(pluginOptions: BackupPluginOptions = {}): Transform {
  // Bad options fail at once, when the pipeline is built.
  let resolved: ReturnType<typeof resolveArchiveOptions>;
  let out: string | undefined;
  let replace = false;
  let allowEmpty = false;
  try {
    if (pluginOptions !== null && typeof pluginOptions === 'object') rejectUnknownKeys('backup()', pluginOptions, PLUGIN_OPTION_KEYS);
    const { out: given, replace: replaceGiven, allowEmpty: allowEmptyGiven, ...options } = pluginOptions ?? {};
    if (allowEmptyGiven !== undefined && typeof allowEmptyGiven !== 'boolean') throw new OptionError('allowEmpty', allowEmptyGiven, 'true or false');
    allowEmpty = allowEmptyGiven === true;
    if (given !== undefined && (typeof given !== 'string' || given === '')) throw new OptionError('out', given, 'a folder, or s3://bucket/prefix');
    if (replaceGiven !== undefined && (typeof replaceGiven !== 'boolean' || given === undefined)) throw new OptionError('replace', replaceGiven, 'true or false, with `out`');
    out = given === undefined ? undefined : resolveLocation(given);
    replace = replaceGiven === true;
    resolved = resolveArchiveOptions({ ...(out !== undefined && options.since === undefined ? { since: out } : {}), ...options });
    usableCodec(codecNamed(resolved.codec, 'codec'));
    // gulp.dest decides where the backup goes, so the plugin cannot guess where earlier ones are.
    if ((resolved.kind === 'incremental' || resolved.kind === 'differential') && resolved.since === undefined) {
      throw new OptionError('since', undefined, `the folder of backups (or the manifest) that a ${resolved.kind} backup builds on, usually gulp.dest's folder`);
    }
  } catch (error) {
    throw new PluginError(PLUGIN_NAME, error as Error);
  }
  let entries: ArchiveEntry[] = [];
  /** The file each entry was read from: merged streams may carry one file twice. */
  const sourceOf = new Map<ArchiveEntry, string>();
  let cwd = process.cwd();
  // Before gulp.src reads or stats anything: the start of the racy window a later backup checks.
  const startedAt = new Date();
  // A glob that takes in the output folder would back up earlier backups: its files are left out, and said.
  const ownOutput = out !== undefined && !isS3Location(out) ? out : undefined;
  // By its path and its real one (out may be a symlink to a folder the glob walks), and by what it
  // is (on a file system that ignores case, `out: 'Backups'` is the tree's `backups/`), once it exists.
  let outputFolder: FolderIdentities | undefined;
  const inOutput = (path: string) => (outputFolder ??= new FolderIdentities(ownOutput === undefined ? [] : [ownOutput])).holds(path);
  let leftOutOfOutput = 0;
  /** Files given, also those left out (the output folder's): none at all is a glob that matched nothing. */
  let given = 0;
  const dotNames = new DotNamesLeftOut();

  return new Transform({
    objectMode: true,
    transform(file: File, _encoding: BufferEncoding, callback: TransformCallback) {
      cwd = file.cwd;
      dotNames.add(file);
      given++;
      // A symlink is stored as the link, even one that names the output folder (`out: 'bk'`).
      if (ownOutput !== undefined && !file.isSymbolic() && inOutput(file.path)) {
        if (!file.isDirectory()) leftOutOfOutput++;
        callback();
        return;
      }
      vinylToEntry(file).then(
        (entry) => {
          if (entry) {
            entries.push(entry);
            sourceOf.set(entry, file.history[0] ?? file.path); // where it was read, before any rename
          }
          callback();
        },
        (error: unknown) => callback(streamError(error as Error, file.path)),
      );
    },
    flush(callback: TransformCallback) {
      const finish = (dotLeftOut: string[]) => {
        const inputWarnings = definedOnly(dotNamesWarning(dotLeftOut));
        const start = performance.now();
        if (given === 0 && !allowEmpty) {
          callback(streamError(new BackupError(
            'NOTHING_SELECTED',
            'backup() was given no file: the glob of gulp.src matched nothing (a folder not built yet, a pattern relative to another folder). Check the glob, or pass allowEmpty: true to backup() for a backup that may be empty.',
          )));
          return;
        }
        entries.sort((a, b) => compareArchivePaths(a.path, b.path));
        try {
          entries = withoutRepeats(entries, sourceOf);
        } catch (error) {
          callback(streamError(error as Error));
          return;
        }
        if (out !== undefined) {
          backUpInto(out, replace, { entries, options: resolved, startedAt, start, root: cwd, inputWarnings }).then(
            () => {
              if (leftOutOfOutput > 0) log.info(`gulp-backup: left out ${plural(leftOutOfOutput, 'file')} of its own output folder ${out} (earlier backups are never backed up again)`);
              callback();
            },
            (error: unknown) => callback(streamError(error as Error)),
          );
          return;
        }
        const paths = outputPaths(new LocalStore(cwd), resolved.name ?? defaultBackupName(startedAt), resolved.codec);
        // Progress every few seconds and a summary through gulp's logger, as the task logs them.
        const progress = new ProgressTracker(loggedProgress(resolved.onProgress));
        progress.filesTotal = entries.length;
        progress.bytesTotal = entries.reduce((sum, entry) => sum + entry.size, 0);
        let archiveStream: PassThrough | undefined;
        // Ctrl-C or SIGTERM before the manifest is out: the run stops and the files gulp.dest has
        // begun to write are removed (dest gives each vinyl file its own path as it writes it).
        const controller = new AbortController();
        const emitted: File[] = [];
        const emit = (file: File) => {
          emitted.push(file);
          this.push(file);
      };
      // Interrupted, the run neither ends nor fails: its files are removed, then the process ends by the signal.
      let interrupted = false;
      let stopped = () => {};
      const whenStopped = new Promise<void>((resolve) => (stopped = resolve));
      const stopListening = onInterrupt(async (signal) => {
        interrupted = true;
        log.warn(`gulp-backup: ${signal}: cancelling; the files of this backup are removed`);
        controller.abort(new Error(`received ${signal}`));
        await Promise.race([whenStopped, delay(STOP_WAIT_MS)]);
        await delay(DEST_SETTLE_MS);
        await Promise.all(emitted.filter((file) => file.history.length > 1).map((file) => rm(file.path, { force: true })));
      });
      const run = { ...resolved, signal: runSignal(controller, resolved.signal) };
      // The chain is checked before any output exists: a broken one fails with nothing emitted.
      planBackup(run, { root: cwd, selection: undefined }, undefined, startedAt)
        .then(async (plan) => {
          archiveStream = new PassThrough({ highWaterMark: resolved.blockSize });
          emit(new File({ cwd, base: cwd, path: join(cwd, paths.archiveName), contents: archiveStream }));
          const made = await writeBackup({
            entries,
            sink: streamSink(archiveStream),
            options: run,
            plan,
            archiveName: paths.archiveName,
            startedAt,
            start,
            root: cwd,
            progress,
            archiveWritten: async () => {
              if (!interrupted) archiveStream!.end();
            },
          });
          if (interrupted) return stopped();
          emit(new File({ cwd, base: cwd, path: `${join(cwd, paths.archiveName)}.sha256`, contents: Buffer.from(made.checksumLine) }));
          const manifest = Readable.from(made.manifestText, { objectMode: false });
          manifest.on('end', stopListening); // handed over whole: the backup is gulp.dest's to finish
          emit(new File({ cwd, base: cwd, path: join(cwd, `${paths.name}.manifest.jsonl`), contents: manifest }));
          progress.enter('done');
          const summary = formatBackupSummary({
            id: made.header.id,
            kind: plan.kind,
            kindReason: plan.reason,
            archivePath: paths.archiveName,
            manifestPath: `${paths.name}.manifest.jsonl`,
            checksumPath: `${paths.archiveName}.sha256`,
            statistics: made.statistics,
            skipped: made.skipped,
            warnings: [...plan.warnings, ...inputWarnings, ...definedOnly(partialStreamWarning(made.changes))],
            ...(made.changes ? { changes: made.changes } : {}),
          });
          for (const line of summary) log.info(line);
          callback();
        })
        .catch((error: unknown) => {
          if (interrupted) return stopped();
          stopListening();
          archiveStream?.destroy(error as Error);
          callback(streamError(error as Error));
        });
      };
      // What the glob's `dot: false` left out goes into the summary's warnings.
      dotNames.find(cwd).then(
        (found) => finish(found),
        () => finish([]),
      );
    },
  });
}


/**
 * The backup written into `out` (a folder, or an S3 prefix) as `createBackup` writes it, with the
 * summary logged. Ctrl-C cancels it and removes what it wrote, then the process ends by the signal.
 */
async function backUpInto(
  out: string,
  replace: boolean,
  run: { entries: ArchiveEntry[]; options: ReturnType<typeof resolveArchiveOptions>; startedAt: Date; start: number; root: string; inputWarnings: string[] },
): Promise<void> {
  const progress = new ProgressTracker(loggedProgress(run.options.onProgress));
  progress.filesTotal = run.entries.length;
  progress.bytesTotal = run.entries.reduce((sum, entry) => sum + entry.size, 0);
  const controller = new AbortController();
  let running: Promise<unknown> = Promise.resolve();
  const stopListening = onInterrupt(async (signal) => {
    log.warn(`gulp-backup: ${signal}: cancelling; the files of this backup are removed`);
    controller.abort(new Error(`received ${signal}`));
    await running.catch(() => {});
  });
  try {
    const options = { ...run.options, signal: runSignal(controller, run.options.signal) };
    const work = (async () => {
      const plan = await planBackup(options, { root: run.root, selection: undefined }, out, run.startedAt);
      return { plan, made: await storeBackup({ entries: run.entries, options, plan, startedAt: run.startedAt, start: run.start, root: run.root, progress }, out, replace) };
    })();
    running = work;
    const { plan, made } = await work;
    progress.enter('done');
    const summary = formatBackupSummary({
      id: made.header.id,
      kind: plan.kind,
      kindReason: plan.reason,
      archivePath: made.paths.archive,
      manifestPath: made.paths.manifest,
      checksumPath: made.paths.checksum,
      statistics: made.statistics,
      skipped: made.skipped,
      warnings: [...made.warnings, ...run.inputWarnings, ...definedOnly(partialStreamWarning(made.changes))],
      ...(made.changes ? { changes: made.changes } : {}),
    });
    for (const line of summary) log.info(line);
  } catch (error) {
    // Interrupted: the stream neither ends nor fails; the process ends by the signal, raised again.
    if (controller.signal.aborted && !run.options.signal?.aborted) return new Promise<never>(() => {});
    throw error;
  } finally {
    stopListening();
  }
}

/** Writes to a stream, waiting for 'drain' when it is full: the plugin keeps the engine's bounded memory. */
function streamSink(stream: PassThrough): ArchiveSink {
  return {
    write(buffers) {
      let writable = true;
      for (const buffer of buffers) writable = stream.write(buffer);
      if (writable) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const done = (error?: Error) => {
          stream.off('drain', onDrain).off('close', onClose).off('error', done);
          if (error) reject(error);
          else resolve();
        };
        const onDrain = () => done();
        const onClose = () => done(new Error('the archive stream was closed before the backup was written'));
        stream.on('drain', onDrain).on('close', onClose).on('error', done);
      });
    },
  };
}

/**
 * Entries sorted by path, each path once: a file that merged streams carry twice (read from the
 * same path) is kept once, in stream order; two different files that reach one path (a rename that
 * collides) are refused, since a restore could give back only one of them.
 */
function withoutRepeats(sorted: readonly ArchiveEntry[], sourceOf: ReadonlyMap<ArchiveEntry, string>): ArchiveEntry[] {
  const kept: ArchiveEntry[] = [];
  for (const entry of sorted) {
    const previous = kept.at(-1);
    if (previous?.path !== entry.path) kept.push(entry);
    else if (sourceOf.get(previous) !== sourceOf.get(entry)) {
      throw duplicatePathError(entry.path, sourceOf.get(previous)!, sourceOf.get(entry)!, 'Rename one of them before backup() (gulp-rename), or back them up in two backups.');
    }
  }
  return kept;
}

function definedOnly(warning: string | undefined): string[] {
  return warning === undefined ? [] : [warning];
}
