/**
 * `gulp-backup ls <manifest|archive|folder>`: the entries of a backup, like `tar -tv`, after the
 * chain it belongs to; for a folder, its backups and how they chain.
 */
import type { Command } from 'commander';
import { readChainLink, type ChainLink } from '../engine/chain/backup-chain.js';
import type { BackupReader } from '../engine/read/backup-reader.js';
import { nanosecondsToMilliseconds } from '../engine/read/time.js';
import type { CliContext } from './context.js';
import { EXIT_DAMAGE, EXIT_OK } from './exit-codes.js';
import { malformedEntry } from '../engine/read/malformed-entry.js';
import { formatBytes, malformedEntriesLine, printableName } from '../report/format.js';
import { isBackupFileName } from '../engine/chain/locate-backup.js';
import { joinLocation, nameOf as basename, resolveFrom, resolveLocation } from '../store/location.js';
import { storesFor, type Stores } from '../store/stores.js';
import { s3SettingsFrom, type S3Flags } from './s3-flags.js';
import { READ_MEMORY_FLAG } from './parse.js';

interface ListFlags extends S3Flags {
  json?: boolean;
  maxMemory?: string;
}

export function registerList(program: Command, context: CliContext): void {
  program
    .command('ls')
    .description('list the entries of a backup and its chain, or the backups in a folder')
    .argument('<path>', 'NAME.manifest.jsonl, an archive, or a folder of backups')
    .option('--json', 'print the manifest records (or, for a folder, one record per backup) as JSON lines')
    .option(...READ_MEMORY_FLAG)
    .action(async (path: string, flags: ListFlags) => {
      // Lines go out 64 KiB at a time: one write per line is a system call per entry when stdout
      // is a file or a pipe (a second of a million-entry listing).
      let pending = '';
      const flush = () => {
        if (pending !== '') context.stdout.write(pending);
        pending = '';
      };
      const write = (line: string) => {
        pending += `${line}\n`;
        if (pending.length >= 65536) flush();
      };
      const say = (text: string) => {
        flush();
        context.stderr.write(text);
      };
      try {
        context.exitCode = await list(path, flags, write, say);
      } finally {
        flush();
      }
    });
}

async function list(path: string, flags: ListFlags, write: (line: string) => void, say: (text: string) => void): Promise<number> {
  const stores = storesFor(s3SettingsFrom(flags));
  // Loaded when needed, as the read path is.
  const maxMemory = (await import('../engine/options.js')).windowMemory(flags.maxMemory);
  const location = resolveLocation(path);
  if (!isBackupFileName(location) && (await stores.folder(location).isFolder())) {
    await listFolder(location, flags, write, (line) => say(`gulp-backup: warning: ${line}\n`), stores);
    return EXIT_OK;
  }
  // Loaded when needed: every command's start-up would pay for the read path otherwise.
  const { BackupReader } = await import('../engine/read/backup-reader.js');
  const backup = await BackupReader.open(location, stores);
  const { manifest, manifestPath, archivePath } = backup;
  if (backup.convertedLineEndings) say(`gulp-backup: warning: ${(await import('../format/manifest-line-endings.js')).convertedLineEndingsWarning(manifestPath!)}\n`);
  if (!manifest) return listArchive(backup, maxMemory, flags, write, (line) => say(`gulp-backup: ${line}\n`));
  if (flags.json) {
    for (const entry of manifest.entries) write(JSON.stringify(entry));
    return EXIT_OK;
  }
  const h = manifest.header;
  write(`# ${h.kind} backup ${h.id}, ${h.createdAt}, ${manifest.entries.length} entries, ${archivePath}`);
  if (h.parent && manifestPath) {
    write('# chain, oldest first:');
    for (const line of await chainLines(backup)) write(`#   ${line}`);
  }
  let malformed = 0;
  for (const [i, entry] of manifest.entries.entries()) {
    const field = malformedEntry(entry);
    if (field === undefined) write(entryLine(entry.type, entry.mode, entry.size, BigInt(entry.mtimeNs), entry.path, entry.linkTarget));
    else {
      // A manifest edited with its digest computed again: said, not listed as if it were sound.
      write(`# entry ${i + 1} of the manifest is malformed (${field}): ${JSON.stringify(entry).slice(0, 200)}`);
      malformed++;
    }
  }
  if (malformed > 0) {
    say(`gulp-backup: ${malformedEntriesLine(malformed, manifestPath ?? archivePath)}\n`);
    return EXIT_DAMAGE;
  }
  return EXIT_OK;
}

const KIND_LETTER: Record<string, string> = { file: '-', directory: 'd', symlink: 'l', hardlink: 'h', 'character device': 'c', 'block device': 'b', fifo: 'p' };

/** `drwxr-xr-x`, `-rwsr-xr-x`, `drwxrwxrwt`: the type letter and mode as `ls -l` and `tar -tv` write them. */
export function modeString(type: string, mode: number): string {
  const bits = (shift: number, special: number, letter: string) => {
    const triplet = (mode >> shift) & 7;
    const execute = triplet & 1;
    const marked = (mode & special) !== 0;
    return `${triplet & 4 ? 'r' : '-'}${triplet & 2 ? 'w' : '-'}${marked ? (execute ? letter : letter.toUpperCase()) : execute ? 'x' : '-'}`;
  };
  return `${KIND_LETTER[type] ?? '?'}${bits(6, 0o4000, 's')}${bits(3, 0o2000, 's')}${bits(0, 0o1000, 't')}`;
}

/** One entry as `tar -tv` shows it: kind and mode, size, time (UTC), path and link target. */
function entryLine(type: string, mode: number, size: number, mtimeNs: bigint, path: string, linkTarget: string | undefined): string {
  const date = new Date(nanosecondsToMilliseconds(mtimeNs));
  // Past what a Date holds (±275,000 years: a header's base-256 field can say more), as GNU tar shows it: the seconds.
  const when = Number.isNaN(date.getTime()) ? String(mtimeNs / 1_000_000_000n).padStart(19) : date.toISOString().replace('T', ' ').slice(0, 19);
  const target = linkTarget === undefined ? '' : ` ${type === 'hardlink' ? 'link to' : '->'} ${printableName(linkTarget)}`;
  return `${modeString(type, mode)} ${String(size).padStart(12)} ${when} ${printableName(path)}${target}`;
}

/**
 * An archive without a manifest (GNU tar's, Python's…), read through: the entries before any
 * damage are listed, the damage is said on stderr and the exit code is 1.
 */
async function listArchive(backup: BackupReader, maxMemory: number, flags: ListFlags, write: (line: string) => void, say: (line: string) => void): Promise<number> {
  const { isDecompressionError } = await import('../engine/read/archive-format.js');
  const { TarFormatError } = await import('../format/tar-entry-stream.js');
  const { archivePath } = backup;
  const warnings: string[] = [];
  try {
    for await (const entry of backup.entries({ warnings, maxMemory })) {
      const size = entry.type === 'file' ? (entry.sparse?.realSize ?? entry.size) : 0;
      const linkTarget = entry.type === 'symlink' || entry.type === 'hardlink' ? entry.linkTarget : undefined;
      if (flags.json) write(JSON.stringify({ path: entry.path, type: entry.type, size, mode: entry.mode, uid: entry.uid, gid: entry.gid, mtimeNs: entry.mtimeNs.toString(), ...(linkTarget === undefined ? {} : { linkTarget }) }));
      else write(entryLine(entry.type, entry.mode, size, entry.mtimeNs, entry.path, linkTarget));
    }
  } catch (error) {
    if (!(error instanceof TarFormatError) && !isDecompressionError(error)) throw error;
    say(`${archivePath} is damaged (${(error as Error).message}); the entries before the damage are listed`);
    return EXIT_DAMAGE;
  }
  for (const warning of warnings) say(`warning: ${warning}`);
  return EXIT_OK;
}

/** One line per backup: kind, date, files stored of files in the tree, archive size, name. */
function describe(link: ChainLink): string {
  const { header, footer } = link;
  const stored = footer.totals.files - (footer.totals.unchangedFiles ?? 0);
  return (
    `${header.kind.padEnd(12)} ${header.createdAt.replace('T', ' ').slice(0, 19)}  ` +
    `${String(stored).padStart(7)} of ${String(footer.totals.files).padEnd(7)} files stored  ${formatBytes(footer.archiveFile.size).padStart(9)}  ${basename(link.manifestPath)}`
  );
}

/** The chain from its full backup to this one; a broken link is said where it breaks. */
async function chainLines(backup: BackupReader): Promise<string[]> {
  const { links, broken } = await backup.chain();
  return [...(broken ? [`(broken: ${broken.message})`] : []), ...links.reverse().map(describe)];
}

async function listFolder(folder: string, flags: ListFlags, write: (line: string) => void, warn: (line: string) => void, stores: Stores): Promise<void> {
  const listed = new Set(await stores.folder(folder).list());
  const links: ChainLink[] = [];
  // One damaged manifest must not hide the others: it is named and skipped.
  for (const name of [...listed].filter((n) => n.endsWith('.manifest.jsonl'))) {
    await readChainLink(joinLocation(folder, name), stores, { listed }).then(
      (link) => links.push(link),
      (error: unknown) => warn(`skipped ${name}: ${(error as Error).message}`),
    );
  }
  links.sort((a, b) => (a.header.createdAt < b.header.createdAt ? -1 : a.header.createdAt > b.header.createdAt ? 1 : 0));
  const nameOf = new Map(links.map((link) => [link.header.id, basename(link.manifestPath)]));
  for (const link of links) {
    const parent = link.header.parent;
    if (flags.json) {
      const { header, footer } = link;
      write(
        JSON.stringify({
          manifest: basename(link.manifestPath),
          id: header.id,
          kind: header.kind,
          createdAt: header.createdAt,
          parent: parent?.id ?? null,
          files: footer.totals.files,
          storedFiles: footer.totals.files - (footer.totals.unchangedFiles ?? 0),
          archiveBytes: footer.archiveFile.size,
        }),
      );
    } else {
      write(`${describe(link)}${parent ? `  ← ${nameOf.get(parent.id) ?? (await parentElsewhere(folder, parent.manifest, stores))}` : ''}`);
    }
  }
  if (links.length === 0 && !flags.json) write(`# no backups in ${folder}`);
  // What killed runs left (a partial archive of hundreds of MB, a dead lock) is otherwise unseen.
  const { removeDeadRuns } = await import('../engine/write/output-files.js');
  const leftovers = await removeDeadRuns(stores.folder(folder), true).catch(() => []);
  if (leftovers.length > 0) {
    warn(`interrupted runs left ${leftovers.slice(0, 3).join(', ')}${leftovers.length > 3 ? ', …' : ''}: gulp-backup prune removes them (a next backup into this folder does too)`);
  }
}

/** A parent that is not in the folder listed: a chain may build on backups in another folder (`--since`). */
async function parentElsewhere(folder: string, relativeManifest: string, stores: Stores): Promise<string> {
  const { store, name } = stores.file(resolveFrom(folder, relativeManifest));
  return (await store.stat(name)) ? relativeManifest : `${relativeManifest} (missing)`;
}
