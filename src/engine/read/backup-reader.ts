/**
 * A backup, or an archive another tool made, opened for reading: the one way restore, the
 * `restore()` plugin, verify, `ls` and `stats` read one. Opening locates it (a manifest, an
 * archive with or without its manifest beside it, or a folder's newest backup); then
 *
 * - `manifest` is what the backup says of itself (undefined for an archive read from its bytes),
 * - `holders()` proves the chain as far as its content needs (the archives that hold it),
 * - `content(files)` reads chosen files from whichever archive of the chain holds each,
 * - `entries()` is the tar entry stream of an archive read without a manifest: one entry at a
 *   time with its content, as tar-stream's extractor gives them; leaving the loop early (`return()`)
 *   closes the file,
 * - `chain()` lists the backups of its chain, oldest last, for `ls`.
 *
 * Verify reads the same holders, but block by block (it must check blocks, not only entries):
 * `ArchiveReader` over `holder.archivePath`.
 */
import type { Readable } from 'node:stream';
import { ChainError } from '../../errors.js';
import type { Manifest, ManifestEntry } from '../../format/manifest.js';
import type { TarEntry } from '../../format/tar-entry-stream.js';
import { ancestry, contentHolders, readChainLink, type ChainLink, type ContentHolders } from '../chain/backup-chain.js';
import { locateBackup, type LocateOptions, type LocatedBackup } from '../chain/locate-backup.js';
import { archiveEntries, archiveEntriesOf, type ArchiveEntriesOptions } from './archive-format.js';
import { BackupContent, type ContentOptions } from './backup-content.js';
import { resolveLocation } from '../../store/location.js';
import { defaultStores, type Stores } from '../../store/stores.js';

export class BackupReader {
  private provenHolders: Promise<ContentHolders> | undefined;

  private constructor(
    private readonly located: LocatedBackup,
    private readonly stores: Stores,
    /** Archive bytes handed over (a vinyl file's contents): read once, in order, instead of the store. */
    private readonly bytes?: Readable,
  ) {}

  /**
   * Locates the backup at `location` (a path or `s3://bucket/key`; a folder means its newest).
   * `archiveWhenManifestUnreadable`: a manifest that cannot be read leaves the archive to be read on
   * its own; `onLongManifest`: told when the manifest turns out long (start a worker then).
   */
  static async open(location: string, stores: Stores = defaultStores, options: LocateOptions = {}): Promise<BackupReader> {
    return new BackupReader(await locateBackup(resolveLocation(location), stores, options), stores);
  }

  /** An archive read from its bytes alone, named `name` in messages (no manifest, no chain). */
  static ofBytes(bytes: Readable, name: string): BackupReader {
    return new BackupReader({ manifest: undefined, manifestPath: undefined, archivePath: name }, defaultStores, bytes);
  }

  get manifest(): Manifest | undefined {
    return this.located.manifest;
  }

  get manifestPath(): string | undefined {
    return this.located.manifestPath;
  }

  get archivePath(): string {
    return this.located.archivePath;
  }

  /** The manifest that could not be read, when the archive is read on its own because of it. */
  get unreadableManifest(): { path: string; reason: string } | undefined {
    return this.located.unreadableManifest;
  }

  /** Whether the manifest had been converted to CRLF line endings or given a byte-order mark (it was read as written). */
  get convertedLineEndings(): boolean {
    return this.located.convertedLineEndings === true;
  }

  /** The backups whose archives hold this one's content, proven link by link (once, however often asked). */
  holders(): Promise<ContentHolders> {
    const manifest = this.requireManifest('holders');
    this.provenHolders ??= contentHolders(manifest, this.manifestPath, this.archivePath, this.stores);
    return this.provenHolders;
  }

  /**
   * The content of `files` (entries of the manifest, in its order), each from the archive that
   * holds it. Files up to `hashInBlockUpTo` bytes that lie whole in one block are hashed (SHA-256)
   * by the worker that inflates it, and `BackupContent.read` gives their digest.
   */
  async content(files: readonly ManifestEntry[], options: ContentOptions): Promise<BackupContent> {
    return BackupContent.open(this.requireManifest('content'), await this.holders(), files, { ...options, stores: this.stores });
  }

  /**
   * The entries of the archive read without its manifest, in order. `end` learns whether the tar
   * end marker came; `warnings` what is odd but harmless (bytes after the last gzip member);
   * `maxMemory` bounds a zstd window (archives made with `zstd --long` need more than the default).
   */
  entries(options: ArchiveEntriesOptions = {}): AsyncGenerator<TarEntry> {
    return this.bytes ? archiveEntriesOf(this.bytes, this.archivePath, options) : archiveEntries(this.archivePath, options, this.stores);
  }

  /** This backup and its ancestors, newest first, and where the chain breaks (a link missing or edited). */
  async chain(): Promise<{ links: ChainLink[]; broken?: ChainError }> {
    const links: ChainLink[] = [];
    if (this.manifestPath === undefined) return { links };
    try {
      for await (const link of ancestry(await readChainLink(this.manifestPath, this.stores), this.stores)) links.push(link);
    } catch (error) {
      if (!(error instanceof ChainError)) throw error;
      return { links, broken: error };
    }
    return { links };
  }

  private requireManifest(what: string): Manifest {
    if (!this.manifest) throw new Error(`${what}() needs a manifest; ${this.archivePath} was opened without one`);
    return this.manifest;
  }
}
