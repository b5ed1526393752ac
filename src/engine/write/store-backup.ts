/**
 * A backup written into its store (a folder, or an S3 prefix): the name claimed with a lock, the
 * archive, then its checksum, then the manifest, each put in place only when whole; on any failure
 * everything this run wrote is removed. Behind `createBackup` and the `backup()` plugin's `out`.
 */
import { AbortError, BackupError } from '../../errors.js';
import type { StoreWriter } from '../../store/backup-store.js';
import { nameOf } from '../../store/location.js';
import type { Stores } from '../../store/stores.js';
import { readChainLink } from '../chain/backup-chain.js';
import type { ResolvedArchiveOptions } from '../options.js';
import type { RunLock } from '../run-lock.js';
import { writeBackup, type BackupToWrite, type WrittenBackup } from './backup-writer.js';
import { prepareOutput, replaceBackup, writeText, type OutputPaths } from './output-files.js';
import { throwIfAborted } from './write-archive.js';

export interface StoredBackup extends WrittenBackup {
  paths: OutputPaths;
  /** What the user should know: the plan's warnings, and the leftovers of killed runs removed. */
  warnings: string[];
}

/** Writes `backup` (all but its sink and archive name, which the store gives) into `out`. */
export async function storeBackup(
  backup: Omit<BackupToWrite, 'sink' | 'archiveName' | 'archiveWritten'>,
  out: string,
  replace: boolean,
): Promise<StoredBackup> {
  const options: ResolvedArchiveOptions = backup.options;
  const { stores, signal } = options;
  const store = stores.folder(out);
  const requestsBefore = stores.counters();
  const { paths, lock, cleaned } = await prepareOutput(store, options.name, options.codec, backup.startedAt, replace);
  if (replace) await refuseReplacingAParent(paths, backup.plan.parent?.link.id, lock, stores);
  const warnings = [...backup.plan.warnings, ...(cleaned.length > 0 ? [`removed what an interrupted run left in ${out}: ${cleaned.join(', ')}`] : [])];
  let archiveFile: StoreWriter;
  try {
    archiveFile = await store.create(paths.archiveName);
  } catch (error) {
    await lock.release();
    throw error;
  }
  const created: string[] = [];
  // With replace, every new file waits, whole and durable, unseen; they are swapped in together
  // at the end (replaceBackup).
  const sealed: StoreWriter[] = [];
  const finishFile = async (file: StoreWriter, path: string) => {
    if (replace) {
      await file.seal();
      sealed.push(file);
    } else {
      await file.commit();
      created.push(nameOf(path));
    }
  };
  try {
    const made = await writeBackup({
      ...backup,
      sink: archiveFile,
      archiveName: paths.archiveName,
      archiveWritten: async () => {
        throwIfAborted(signal);
        await finishFile(archiveFile, paths.archive);
      },
    });
    await finishFile(await writeText(store, nameOf(paths.checksum), [made.checksumLine]), paths.checksum);
    throwIfAborted(signal);
    await finishFile(await writeText(store, nameOf(paths.manifest), made.manifestText), paths.manifest);
    if (replace) await replaceBackup(paths, sealed);
    await lock.release(); // after the manifest: a run killed before this point is a dead run's
    const statistics = store.remote ? { ...made.statistics, store: stores.since(requestsBefore) } : made.statistics;
    return { ...made, statistics, paths, warnings };
  } catch (error) {
    await archiveFile.discard();
    await Promise.all(sealed.map((file) => file.discard()));
    await Promise.all(created.map((name) => store.remove(name).catch(() => {})));
    await lock.release();
    throw signal?.aborted && !(error instanceof AbortError) ? new AbortError(signal.reason) : error;
  }
}

/**
 * A backup that others build on is never replaced: their parent link names its manifest's
 * SHA-256, and a new one would break their chains.
 */
async function refuseReplacingAParent(paths: OutputPaths, parentId: string | undefined, lock: RunLock, stores: Stores): Promise<void> {
  const old = await readChainLink(paths.manifest, stores).catch(() => undefined);
  if (!old) return; // nothing (readable) to replace
  const children: string[] = [];
  if (parentId === old.header.id) children.push('the backup being made now');
  const listed = new Set(await paths.store.list());
  for (const name of listed) {
    if (!name.endsWith('.manifest.jsonl') || paths.store.locationOf(name) === paths.manifest) continue;
    const link = await readChainLink(paths.store.locationOf(name), stores, { listed }).catch(() => undefined);
    if (link?.header.parent?.id === old.header.id) children.push(name);
  }
  if (children.length === 0) return;
  await lock.release();
  throw new BackupError(
    'OUTPUT_EXISTS',
    `${nameOf(paths.manifest)} is not replaced: ${children.join(', ')} ${children.length === 1 ? 'builds' : 'build'} on it, and replacing it would break ${children.length === 1 ? 'that chain' : 'those chains'}. Choose another --name, or make a full backup (replace works on a full backup that nothing builds on).`,
    { path: paths.manifest },
  );
}
