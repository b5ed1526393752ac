/**
 * The file-system side of restore, where the safety rules meet the disk: folders are made one
 * component at a time and never through a symlink; every file is written to a temporary name in
 * its folder (O_EXCL | O_NOFOLLOW), hashed while written, and renamed into place only when its
 * size and hash match; links are made under a temporary name and renamed too, a symlink only
 * when it leads inside once resolved through the links already made. Folder modes and times are
 * applied last, deepest first, after their children. As root, owners are restored as GNU tar
 * does (by number; docs/DESIGN-DECISIONS.md).
 */
import { createHash, randomBytes } from 'node:crypto';
import type { StreamHasher } from '../write/stream-hasher.js';
import type { HashAlgorithm } from '../options.js';
import { digestName, type ExpectedDigest } from './expected-digest.js';
import { closeSync, constants, fchmodSync, fchownSync, futimesSync, lchownSync, linkSync, lstatSync, lutimesSync, mkdirSync, openSync, readFileSync, readlinkSync, renameSync, rmdirSync, statSync, symlinkSync, unlinkSync, writevSync, type Stats } from 'node:fs';
import { chmod, chown, open, readdir, rm, utimes, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { decodeNameBytes, fsPath } from '../../format/path-bytes.js';
import { linkEscape } from './link-resolution.js';
import { LocalStore, ensureFolder } from '../../store/local-store.js';
import { RunLock, isDeadLock, lockHolder } from '../run-lock.js';
import { collisionKey } from './safe-paths.js';
import { sameNameRefusal } from './same-names.js';

export class RestoreRefusal extends Error {}

/** A symlink refused because it leads outside the restore folder (`allowOutsideLinks` restores it). */
export class OutsideLinkRefusal extends RestoreRefusal {}

/** S_ISGID (Node's fs.constants does not name it). */
const SET_GROUP_ID = 0o2000;
const CREATE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
/** What link(2) and symlink(2) say where the file system cannot make the link. */
const LINKS_UNSUPPORTED = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS']);

function linkRefusal(code: string): string {
  if (code === 'EMLINK') return 'its target has as many names as the file system allows';
  if (code === 'EXDEV') return 'its target lies on another file system';
  return "the target's file system cannot hold hard links (FAT and exFAT cannot)";
}

export interface FileMetadata {
  mode: number;
  /** Seconds, as `secondsForUtimes` gives them. */
  mtime: string;
  uid: number;
  gid: number;
}

/** What a file's bytes must come to, and which record says so (named in the refusal). */
export interface ExpectedContent {
  size: number;
  /** The digest to prove it against (the manifest's), if any: see `expectedDigest`. */
  digest: ExpectedDigest | undefined;
  record: 'the manifest' | 'its tar header';
}

type PlacedKind = 'file' | 'symlink' | 'directory';

export class RestoreWriter {
  private readonly verifiedFolders = new Set<string>();
  /** Collision keys of the symlinks this restore made: nothing may be written beneath them. */
  private readonly plantedLinks = new Set<string>();
  /** The symlinks this restore made (hard links to them too), checked again once all are made. */
  private readonly plantedLinkPaths = new Set<string>();
  private readonly folderMetadata = new Map<string, FileMetadata>();
  /** Names this run gave, and what is there: hard links may point to them, later entries replace them. */
  private readonly placed = new Map<string, PlacedKind>();
  /**
   * The first name this run gave under each collision key, where that name is not its own key
   * (those are found in `placed`), and the folders it made: on a file system that ignores case or
   * Unicode form (macOS, Windows), a later name under the same key is the same entry, and placing
   * it would replace the earlier one unseen.
   */
  private readonly placedKeys = new Map<string, string>();
  /**
   * Folders that were empty when this run began or that it made: no name in them was taken
   * before the run, so placing a file there skips the check for one (docs/DESIGN-DECISIONS.md).
   */
  private readonly freshFolders = new Set<string>();
  /** A folder met with its set-group-ID bit: files made beneath it may take its group, so owners are always set. */
  private groupMayBeInherited = process.platform !== 'linux';
  private readonly effectiveUser = process.geteuid?.();
  private readonly effectiveGroup = process.getegid?.();
  private readonly umask = currentUmask();
  /** Entries whose owner could not be set (the restore goes on, as GNU tar's does). */
  readonly ownerFailures: { path: string; reason: string }[] = [];
  /**
   * Entries whose mode or time the target's file system did not take (FAT and exFAT hold no modes;
   * some network shares refuse them): their content is proven and in place, as GNU tar leaves it.
   */
  readonly metadataFailures: { path: string; reason: string }[] = [];
  /** Hard links made as copies of their targets: the target's file system cannot link them. */
  readonly linksCopied: { path: string; reason: string }[] = [];
  private lock: RunLock | undefined;

  constructor(
    readonly root: string,
    private readonly overwrite: boolean,
    /**
     * Make symlinks that lead outside the root as they are (a backup the user trusts): nothing is
     * written through them all the same, as nothing is written beneath any symlink.
     */
    private readonly allowOutsideLinks = false,
    /** Give entries their owners from the archive: GNU tar's default when run as root. */
    private readonly restoreOwners = process.getuid?.() === 0,
  ) {}

  /** Makes `path` (relative) and its parents as folders, refusing to pass through anything else. */
  async ensureFolder(path: string): Promise<void> {
    if (this.verifiedFolders.has(path)) return;
    if (path === '') {
      await ensureFolder(this.root); // the target itself, as the user named it
      if (statSync(this.root).mode & SET_GROUP_ID) this.groupMayBeInherited = true;
      this.verifiedFolders.add('');
      return;
    }
    const parent = path.includes('/') ? path.slice(0, path.lastIndexOf('/')) : '';
    await this.ensureFolder(parent);
    const full = join(this.root, path);
    // Synchronous: a call that fails through fs/promises builds an error with its stack, 0.3 ms
    // each (80 ms for the 240 new folders of a 20,000-file restore).
    const existing = lstatQuietly(fsPath(full));
    // A symlink this run made, found under this name or a spelling that the file system takes for
    // its name (case, Unicode form): nothing is written through it, overwrite or not. A name the
    // file system tells apart from the link's is another entry (`Link` and `link/x`: GNU tar makes both).
    if (existing?.isSymbolicLink() && this.plantedLinks.has(collisionKey(path))) throw new RestoreRefusal(`${path} is a symlink restored earlier; nothing is written through it`);
    if (existing && !existing.isDirectory()) {
      this.refuseOneName(path);
      // With overwrite, a file or symlink where the backup has a folder is removed (the link
      // itself, never what it leads to) and the folder made, as GNU tar does; nothing is ever
      // written through it.
      if (!this.overwrite) {
        throw new RestoreRefusal(
          existing.isSymbolicLink()
            ? `${path} is a symlink in the target; nothing is written through it (--overwrite replaces it with the folder)`
            : `${path} is in the way: it exists and is not a folder; pass --overwrite (overwrite: true) to replace it`,
        );
      }
      await rm(fsPath(full));
    }
    // Folders without an entry of their own keep this mode: GNU tar's (0777 less the umask).
    if (!existing?.isDirectory()) {
      mkdirSync(fsPath(full), { mode: 0o777 });
      this.freshFolders.add(path);
      const key = collisionKey(path);
      if (!this.placedKeys.has(key)) this.placedKeys.set(key, path);
    } else if (existing.mode & SET_GROUP_ID) this.groupMayBeInherited = true;
    this.verifiedFolders.add(path);
  }

  /**
   * Marks the target as being restored into (a lock naming this process). Where a restore was
   * killed before (its lock is still there), its temporary files are found and removed first:
   * their names are returned, and `interrupted` says that such a restore was found.
   */
  async claim(): Promise<{ removed: string[]; interrupted: boolean }> {
    const lockPath = join(this.root, RESTORE_LOCK);
    const target = new LocalStore(this.root);
    const removed: string[] = [];
    let interrupted = false;
    this.lock = await RunLock.claim(target, RESTORE_LOCK);
    if (!this.lock && (await isDeadLock(target, RESTORE_LOCK))) {
      interrupted = true;
      for (const entry of await readdir(this.root, { recursive: true, withFileTypes: true })) {
        if (!entry.isFile() || !TEMPORARY_NAME.test(entry.name)) continue;
        const full = join(entry.parentPath, entry.name);
        await rm(full, { force: true });
        removed.push(full.slice(this.root.length + 1));
      }
      await rm(lockPath, { force: true });
      this.lock = await RunLock.claim(target, RESTORE_LOCK);
    }
    if (!this.lock) {
      const holder = await lockHolder(target, RESTORE_LOCK);
      throw new RestoreRefusal(`another gulp-backup restore is writing into ${this.root} right now (${RESTORE_LOCK}: ${holder.description}); wait for it to finish`);
    }
    if ((await readdir(this.root)).every((name) => name === RESTORE_LOCK)) this.freshFolders.add('');
    return { removed, interrupted };
  }

  async release(): Promise<void> {
    const lock = this.lock;
    this.lock = undefined;
    await lock?.release();
  }

  /**
   * Records a folder's mode, time and owner, applied by `finishFolders` after its children.
   * `''` is the target itself: the `./` entry of `tar -C dir -cf x.tar .` gives it dir's.
   */
  async folder(path: string, metadata: FileMetadata): Promise<void> {
    await this.ensureFolder(path);
    this.folderMetadata.set(path, metadata);
    if (path !== '') this.placed.set(path, 'directory');
  }

  /**
   * A file written piece by piece, under a temporary name beside `path` that `commit` renames into
   * place once its bytes are proven; with `hashing`, its digest is computed there as it is written.
   */
  async createFile(path: string, hashing?: { hasher: StreamHasher; algorithm: HashAlgorithm }): Promise<PendingFile> {
    await this.ensureFolder(parentOf(path));
    const temporary = temporaryName(join(this.root, path));
    const handle = await open(fsPath(temporary), CREATE_FLAGS, 0o600);
    return new PendingFile(this, path, temporary, handle, hashing);
  }

  /** Makes a symlink, refused when it leads outside the target through the links already made. */
  async symlink(path: string, target: string, metadata: FileMetadata): Promise<void> {
    await this.ensureFolder(parentOf(path));
    const escape = this.allowOutsideLinks ? undefined : linkEscape(this.root, path, target);
    if (escape) throw new OutsideLinkRefusal(`refused: ${escape}`);
    const temporary = temporaryName(join(this.root, path));
    // Synchronous, as for small files: a trip through libuv's pool costs tens of microseconds.
    try {
      symlinkSync(fsPath(target), fsPath(temporary));
    } catch (error) {
      // symlink(2) says EPERM when the file system has no symlinks (EACCES is a permission).
      if (!LINKS_UNSUPPORTED.has((error as NodeJS.ErrnoException).code ?? '')) throw error;
      throw new RestoreRefusal(`the target's file system cannot hold symlinks (${(error as NodeJS.ErrnoException).code}; FAT and exFAT cannot): restore onto another file system to have it`);
    }
    try {
      if (!this.ownedAlready(metadata)) await this.setOwner(path, () => lchownSync(fsPath(temporary), metadata.uid, metadata.gid), metadata);
      this.setMetadata(path, 'time', metadata, () => lutimesSync(fsPath(temporary), metadata.mtime, metadata.mtime));
    } catch (error) {
      rmQuietly(temporary);
      throw error;
    }
    this.place(path, temporary, 'symlink');
  }

  /**
   * A second name for a file or symlink this run restored (hard links to hard links too). A
   * hard link to a symlink is a symlink read from another folder: it must lead inside from there.
   */
  async hardlink(path: string, target: string): Promise<void> {
    const kind = this.placed.get(target);
    if (kind === undefined) throw new RestoreRefusal(`its hard-link target ${target} was not restored by this run`);
    if (kind === 'directory') throw new RestoreRefusal(`its hard-link target ${target} is a folder`);
    await this.ensureFolder(parentOf(path));
    if (kind === 'symlink' && !this.allowOutsideLinks) {
      const linkTarget = decodeNameBytes(readlinkSync(fsPath(join(this.root, target)), { encoding: 'buffer' }));
      const escape = linkEscape(this.root, path, linkTarget);
      if (escape) throw new OutsideLinkRefusal(`refused: it is a hard link to the symlink ${target}, and from ${path} ${escape.replace(/^its /, 'the ')}`);
    }
    const temporary = temporaryName(join(this.root, path));
    try {
      linkSync(fsPath(join(this.root, target)), fsPath(temporary));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? '';
      if (kind !== 'file' || !(LINKS_UNSUPPORTED.has(code) || code === 'EMLINK' || code === 'EXDEV')) throw error;
      await this.copyOf(target, temporary, path);
      this.linksCopied.push({ path, reason: `${code}: ${linkRefusal(code)}` });
    }
    this.place(path, temporary, kind);
  }

  /**
   * Gives a finished temporary file its name: a rename, which replaces a link rather than
   * following it. A name that this run gave is replaced (a later entry of the same name wins, as
   * in GNU tar); without overwrite, any other name that is taken is reported and left alone
   * (checked just before the rename, as GNU tar's --keep-old-files does).
   */
  place(path: string, temporary: string, kind: PlacedKind): void {
    const full = join(this.root, path);
    const key = collisionKey(path);
    try {
      this.refuseOneName(path, key);
      if (!this.overwrite && !this.placed.has(path) && !this.freshFolders.has(parentOf(path)) && lstatSync(fsPath(full), { throwIfNoEntry: false })) {
        throw new RestoreRefusal(`${path} exists; pass --overwrite (overwrite: true) to replace it`);
      }
      // A name this run gave a file or symlink (an archive that holds it twice) is freed first, as
      // GNU tar does: renamed over, ext4 writes the new file's data out before the rename (its
      // replace-via-rename rule), and 50,000 entries of one name took 14 s, 4 s so (GNU tar 3.8 s).
      // The user's own files stay replaced by the rename alone: old or new, never neither.
      const earlier = this.placed.get(path);
      if (earlier === 'file' || earlier === 'symlink') rmQuietly(full);
      try {
        renameSync(fsPath(temporary), fsPath(full));
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'EPERM' || code === 'EEXIST') {
          // A rename that does not replace a name that exists (sshfs: SFTP's rename): the old entry
          // is moved aside first (GNU tar unlinks it), and back if the new one still cannot take
          // its name. Where it cannot be moved (a sticky folder, an immutable file), the rename's
          // own error stands.
          if (!replaceAside(temporary, full)) throw error;
        } else if (code === 'EISDIR') {
          // A folder where the backup has a file: an empty one gives way, as in GNU tar; one with
          // contents is not removed (they are not in this backup).
          try {
            rmdirSync(fsPath(full));
          } catch {
            throw new RestoreRefusal(`${path} is in the way: it is a folder with contents in the target; move it away and restore again`);
          }
          renameSync(fsPath(temporary), fsPath(full));
        } else throw error;
      }
    } catch (error) {
      rmQuietly(temporary);
      throw error;
    }
    this.placed.set(path, kind);
    this.noteKey(key, path);
    if (kind === 'symlink') {
      this.plantedLinks.add(collisionKey(path));
      this.plantedLinkPaths.add(path);
    } else this.plantedLinkPaths.delete(path);
  }

  private noteKey(key: string, path: string): void {
    if (key !== path && !this.placedKeys.has(key)) this.placedKeys.set(key, path);
  }

  /**
   * Refuses a name that the target's file system takes for one this run gave before under another
   * spelling (`README` after `readme`, `café` composed after decomposed): the two are one entry
   * there, and the later would replace the earlier unseen (GNU tar lets it; git warns). The first
   * is kept. On a file system that tells them apart, each is its own entry and nothing is refused.
   */
  private refuseOneName(path: string, key = collisionKey(path)): void {
    const earlier = this.placedKeys.get(key) ?? (key !== path && this.placed.has(key) ? key : undefined);
    if (earlier === undefined || earlier === path) return;
    const here = lstatQuietly(fsPath(join(this.root, path)));
    const there = here && lstatQuietly(fsPath(join(this.root, earlier)));
    if (!here || !there || here.ino !== there.ino || here.dev !== there.dev) return;
    throw new RestoreRefusal(sameNameRefusal(path, earlier));
  }

  /**
   * Checks every symlink this run made once more, now that all are made (a later link can change
   * where an earlier one leads), and removes those that lead outside. Returns what it removed.
   */
  removeEscapedLinks(): { path: string; reason: string }[] {
    const removed: { path: string; reason: string }[] = [];
    if (this.allowOutsideLinks) return removed;
    for (let changed = true; changed; ) {
      changed = false;
      for (const path of this.plantedLinkPaths) {
        const full = fsPath(join(this.root, path));
        if (!lstatSync(full, { throwIfNoEntry: false })?.isSymbolicLink()) continue;
        const escape = linkEscape(this.root, path, decodeNameBytes(readlinkSync(full, { encoding: 'buffer' })));
        if (!escape) continue;
        unlinkSync(full);
        this.plantedLinkPaths.delete(path);
        removed.push({ path, reason: `removed: ${escape} through links restored after it` });
        changed = true;
      }
    }
    return removed;
  }

  /** Sets an owner as root; a failure (an id the system cannot hold) is noted, not fatal. */
  async setOwner(path: string, change: () => Promise<void> | void, metadata: FileMetadata): Promise<void> {
    if (!this.restoreOwners) return;
    try {
      await change();
    } catch (error) {
      this.ownerFailures.push({ path: path || '.', reason: `cannot set its owner to ${metadata.uid}:${metadata.gid} (${(error as Error).message})` });
    }
  }

  private setOwnerSync(path: string, fd: number, metadata: FileMetadata): void {
    if (!this.restoreOwners || this.ownedAlready(metadata)) return;
    try {
      fchownSync(fd, metadata.uid, metadata.gid);
    } catch (error) {
      this.ownerFailures.push({ path, reason: `cannot set its owner to ${metadata.uid}:${metadata.gid} (${(error as Error).message})` });
    }
  }

  /**
   * Whether a file this process makes already has the entry's owner: on Linux a new file takes
   * the effective user and group, unless a set-group-ID folder gives it the folder's group.
   */
  ownedAlready(metadata: FileMetadata): boolean {
    return !this.groupMayBeInherited && metadata.uid === this.effectiveUser && metadata.gid === this.effectiveGroup;
  }

  /**
   * A small file in one go, every step synchronous as tar does it (a cached metadata call costs
   * microseconds; a trip through libuv's pool costs tens). Size and hash are proven before
   * anything is written, so a mismatch leaves nothing behind. `ensureFolder` must have run.
   * `sha256`: the content's SHA-256, when the worker that inflated its block took it.
   */
  writeFileSync(path: string, chunks: Buffer[], expected: ExpectedContent, metadata: FileMetadata, sha256?: string): void {
    let size = 0;
    for (const chunk of chunks) size += chunk.length;
    if (size !== expected.size) throw sizeRefusal(size, expected);
    if (expected.digest !== undefined) {
      let actual = expected.digest.algorithm === 'sha256' ? sha256 : undefined;
      if (actual === undefined) {
        const hash = createHash(expected.digest.algorithm);
        for (const chunk of chunks) hash.update(chunk);
        actual = hash.digest('hex');
      }
      if (actual !== expected.digest.hex) throw digestRefusal(expected.digest);
    }
    const temporary = temporaryName(join(this.root, path));
    // Its bytes are proven: it may be made with its mode, when the umask leaves that whole and it
    // has no special bits.
    const modeAtOpen = this.umask !== undefined && (metadata.mode & (0o7000 | this.umask)) === 0;
    const fd = openSync(fsPath(temporary), CREATE_FLAGS, modeAtOpen ? metadata.mode : 0o600);
    try {
      const pending = chunks.filter((chunk) => chunk.length > 0);
      while (pending.length > 0) {
        let written = writevSync(fd, pending);
        while (pending.length > 0 && written >= pending[0]!.length) written -= pending.shift()!.length;
        if (written > 0) pending[0] = pending[0]!.subarray(written);
      }
      this.setOwnerSync(path, fd, metadata); // before the mode: chown clears set-user-ID bits
      // Inline rather than through setMetadata: no closure per small file.
      if (!modeAtOpen) {
        try {
          fchmodSync(fd, metadata.mode);
        } catch (error) {
          this.noteMetadataFailure(path, 'mode', metadata, error);
        }
      }
      try {
        futimesSync(fd, metadata.mtime, metadata.mtime);
      } catch (error) {
        this.noteMetadataFailure(path, 'time', metadata, error);
      }
    } catch (error) {
      closeSync(fd);
      rmQuietly(temporary);
      throw error;
    }
    closeSync(fd);
    this.place(path, temporary, 'file');
  }

  /** Applies folder owners, modes and times, deepest folders first, the target itself last. */
  async finishFolders(): Promise<void> {
    const depth = (path: string) => (path === '' ? 0 : path.split('/').length);
    const folders = [...this.folderMetadata].sort(([a], [b]) => depth(b) - depth(a));
    for (const [path, metadata] of folders) {
      const full = fsPath(join(this.root, path));
      // An owner or mode the folder has already is not given again: FAT refuses even those (a
      // warning for every folder of a second restore there), and each is a system call. A folder
      // this run made has the process's owner and the mode mkdir gave it; one that was there is asked.
      const made = path !== '' && this.freshFolders.has(path);
      const found = made ? undefined : lstatQuietly(full);
      const ownerHeld = made ? this.ownedAlready(metadata) : found !== undefined && found.uid === metadata.uid && found.gid === metadata.gid;
      const modeHeld = made ? this.madeFolderMode() === metadata.mode : found !== undefined && (found.mode & 0o7777) === metadata.mode;
      if (!ownerHeld) await this.setOwner(path, () => chown(full, metadata.uid, metadata.gid), metadata);
      if (!modeHeld) await this.setMetadata(path, 'mode', metadata, () => chmod(full, metadata.mode));
      await this.setMetadata(path, 'time', metadata, () => utimes(full, metadata.mtime, metadata.mtime));
    }
  }

  /** The mode `mkdir(0777)` gives a folder here, where it is known (no set-group-ID folder met, whose bit a new folder takes). */
  private madeFolderMode(): number | undefined {
    return this.umask === undefined || this.groupMayBeInherited ? undefined : 0o777 & ~this.umask;
  }

  /**
   * Sets a mode or a time. A file system that refuses it (EPERM on FAT and exFAT) leaves the entry
   * as that file system has it, noted; the entry's content is proven and stays.
   */
  setMetadata(path: string, what: 'mode' | 'time', metadata: FileMetadata, change: () => void): void;
  setMetadata(path: string, what: 'mode' | 'time', metadata: FileMetadata, change: () => Promise<void>): Promise<void>;
  setMetadata(path: string, what: 'mode' | 'time', metadata: FileMetadata, change: () => void | Promise<void>): void | Promise<void> {
    try {
      const pending = change();
      if (pending) return pending.catch((error: unknown) => this.noteMetadataFailure(path, what, metadata, error));
    } catch (error) {
      this.noteMetadataFailure(path, what, metadata, error);
    }
  }

  /** Notes a mode or time that the file system refused; anything but a system error is thrown on. */
  private noteMetadataFailure(path: string, what: 'mode' | 'time', metadata: FileMetadata, error: unknown): void {
    const code = (error as NodeJS.ErrnoException | undefined)?.code;
    if (typeof code !== 'string') throw error;
    const wanted = what === 'mode' ? `mode to ${metadata.mode.toString(8)}` : 'time';
    this.metadataFailures.push({ path: path || '.', reason: `cannot set its ${wanted} (${code})` });
  }

  /**
   * A copy of a file this run restored, under `temporary`, with its mode, owner and times: a hard
   * link where the file system cannot make one. Its target was proven; so is the copy's length.
   */
  private async copyOf(target: string, temporary: string, path: string): Promise<void> {
    const source = fsPath(join(this.root, target));
    const stats = statSync(source);
    const from = await open(source, 'r');
    const to = await open(fsPath(temporary), CREATE_FLAGS, 0o600);
    try {
      const buffer = Buffer.allocUnsafe(Math.min(1 << 20, Math.max(1, stats.size)));
      let copied = 0;
      for (let read; (read = (await from.read(buffer, 0, buffer.length, copied)).bytesRead) > 0; copied += read) await to.write(buffer, 0, read);
      if (copied !== stats.size) throw new RestoreRefusal(`its hard-link target ${target} changed while it was copied (the file system cannot link them)`);
      const metadata = { mode: stats.mode & 0o7777, mtime: String(stats.mtimeMs / 1000), uid: stats.uid, gid: stats.gid };
      if (!this.ownedAlready(metadata)) await this.setOwner(path, () => to.chown(stats.uid, stats.gid), metadata);
      await this.setMetadata(path, 'mode', metadata, () => to.chmod(metadata.mode));
      await this.setMetadata(path, 'time', metadata, () => to.utimes(stats.atime, stats.mtime));
    } catch (error) {
      await to.close().catch(() => {});
      rmQuietly(temporary);
      throw error;
    } finally {
      await from.close();
    }
    await to.close();
  }
}

function digestRefusal(expected: ExpectedDigest): RestoreRefusal {
  return new RestoreRefusal(`its content does not match its ${digestName(expected.algorithm)} in the manifest`);
}

function sizeRefusal(size: number, expected: ExpectedContent): RestoreRefusal {
  return new RestoreRefusal(`it came out as ${size} bytes where ${expected.record} says ${expected.size}`);
}

const ZEROS = Buffer.alloc(64 * 1024);

/** The unit of a hole left by `writeLeavingHoles`: a page, the least most file systems allocate. */
const HOLE_GRAIN = 4096;

/** Whether `bytes[from, to)` (at most 64 KiB) are all zeros. */
function isZero(bytes: Buffer, from: number, to: number): boolean {
  return ZEROS.compare(bytes, from, to, 0, to - from) === 0;
}

export class PendingFile {
  /** The hash stream of this file on the hasher thread, when its content is checked. */
  private readonly hashId: number | undefined;
  private readonly hasher: StreamHasher | undefined;
  /** Where the next bytes go; past the last write after a hole. */
  private position = 0;
  /** Zeros left unwritten, as holes. */
  holeBytes = 0;
  private closed = false;

  constructor(
    private readonly writer: RestoreWriter,
    readonly path: string,
    private readonly temporary: string,
    private readonly handle: FileHandle,
    hashing: { hasher: StreamHasher; algorithm: HashAlgorithm } | undefined,
  ) {
    this.hasher = hashing?.hasher;
    this.hashId = hashing?.hasher.open([hashing.algorithm]);
  }

  async write(bytes: Buffer): Promise<void> {
    let done = 0;
    while (done < bytes.length) done += (await this.handle.write(bytes, done, bytes.length - done, this.position + done)).bytesWritten;
    this.position += bytes.length;
    if (this.hashId !== undefined) await this.hasher!.update(this.hashId, bytes);
  }

  /** A run of zeros that is left unwritten: a hole, as GNU tar restores a sparse file. */
  async skip(length: number): Promise<void> {
    if (this.hashId !== undefined) for (let left = length; left > 0; left -= ZEROS.length) await this.hasher!.update(this.hashId, ZEROS.subarray(0, Math.min(left, ZEROS.length)));
    this.position += length;
    this.holeBytes += length;
  }

  /**
   * `write`, leaving each page of zeros (4 KiB, aligned in the file) unwritten: a hole. The part of
   * a page at either end of `bytes`, which it shares with the chunk before or after, is left
   * unwritten too when it is zero, so that a page of zeros cut by a block boundary is a hole as
   * well (bytes never written read as zeros: skipping any zeros is safe).
   */
  async writeLeavingHoles(bytes: Buffer): Promise<void> {
    const end = bytes.length;
    let written = 0; // bytes before this are written or skipped
    let page = Math.min(end, (HOLE_GRAIN - (this.position % HOLE_GRAIN)) % HOLE_GRAIN); // the first page boundary
    if (page > 0 && isZero(bytes, 0, page)) {
      await this.skip(page);
      written = page;
    }
    while (page + HOLE_GRAIN <= end) {
      if (!isZero(bytes, page, page + HOLE_GRAIN)) {
        page += HOLE_GRAIN;
        continue;
      }
      let zerosEnd = page + HOLE_GRAIN;
      while (zerosEnd + HOLE_GRAIN <= end && isZero(bytes, zerosEnd, zerosEnd + HOLE_GRAIN)) zerosEnd += HOLE_GRAIN;
      if (page > written) await this.write(bytes.subarray(written, page));
      await this.skip(zerosEnd - page);
      written = page = zerosEnd;
    }
    if (page < end && isZero(bytes, page, end)) {
      if (page > written) await this.write(bytes.subarray(written, page));
      await this.skip(end - page);
      written = end;
    }
    if (written < end) await this.write(bytes.subarray(written));
  }

  /** Checks size and digest, sets owner, mode and times, then renames into place. */
  async commit(expected: ExpectedContent, metadata: FileMetadata): Promise<void> {
    try {
      if (this.position !== expected.size) throw sizeRefusal(this.position, expected);
      const digest = this.hashId === undefined ? undefined : (await this.hasher!.digest(this.hashId))[0];
      if (expected.digest !== undefined && digest !== expected.digest.hex) throw digestRefusal(expected.digest);
      if ((await this.handle.stat()).size < this.position) await this.handle.truncate(this.position); // a hole at the end
      if (!this.writer.ownedAlready(metadata)) await this.writer.setOwner(this.path, () => this.handle.chown(metadata.uid, metadata.gid), metadata);
      await this.writer.setMetadata(this.path, 'mode', metadata, () => this.handle.chmod(metadata.mode));
      await this.writer.setMetadata(this.path, 'time', metadata, () => this.handle.utimes(metadata.mtime, metadata.mtime));
      await this.close();
      this.writer.place(this.path, this.temporary, 'file');
    } catch (error) {
      await this.discard();
      throw error;
    }
  }

  /** Removes the temporary file: a failed restore leaves no half-written file. */
  async discard(): Promise<void> {
    await this.close().catch(() => {});
    await rm(fsPath(this.temporary), { force: true });
  }

  private async close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      await this.handle.close();
    }
  }
}

/**
 * The process's umask, read from /proc (Linux): never set and reset, as `process.umask()` would,
 * changing it for every thread for a moment. Undefined elsewhere.
 */
function currentUmask(): number | undefined {
  try {
    const line = /^Umask:\s*([0-7]+)$/m.exec(readFileSync('/proc/self/status', 'latin1'));
    return line ? Number.parseInt(line[1]!, 8) : undefined;
  } catch {
    return undefined;
  }
}

/** What is at `path`, or undefined when nothing can be found there (whatever the reason: the mkdir that follows names it). */
function lstatQuietly(path: string | Buffer): Stats | undefined {
  try {
    return lstatSync(path, { throwIfNoEntry: false });
  } catch {
    return undefined;
  }
}

/**
 * Gives `temporary` the name `full` where a rename does not replace: what is there (not a folder)
 * goes to a temporary name of its own, `temporary` takes the name, and the old entry is removed;
 * put back if the rename still fails. False when there is nothing to move, or it cannot be moved.
 */
function replaceAside(temporary: string, full: string): boolean {
  const existing = lstatQuietly(fsPath(full));
  if (!existing || existing.isDirectory()) return false;
  const aside = temporaryName(full);
  try {
    renameSync(fsPath(full), fsPath(aside));
  } catch {
    return false;
  }
  try {
    renameSync(fsPath(temporary), fsPath(full));
  } catch (error) {
    try {
      renameSync(fsPath(aside), fsPath(full));
    } catch {
      // The old entry stays under its temporary name: a file system that took one rename and
      // refused the next two, which none known does.
    }
    throw error;
  }
  rmQuietly(aside);
  return true;
}

function rmQuietly(path: string): void {
  try {
    unlinkSync(fsPath(path));
  } catch {
    // already gone
  }
}

function parentOf(path: string): string {
  return path.includes('/') ? dirname(path) : '';
}

/** Marks a folder being restored into; removed when the restore ends. */
export const RESTORE_LOCK = '.gulp-backup-restore.lock';
const TEMPORARY_NAME = /^\.[0-9a-f]{12}\.gulp-backup\.partial$/;

/**
 * Temporary names: 12 hex digits, a random 48-bit start for this process counted up by one per
 * file (O_EXCL would catch a clash). A random draw per file cost 7 µs each, 0.14 s on 20,000 files.
 */
let nextTemporary = randomBytes(6).readUIntBE(0, 6);

function temporaryName(fullPath: string): string {
  nextTemporary = (nextTemporary + 1) % 2 ** 48;
  return join(dirname(fullPath), `.${nextTemporary.toString(16).padStart(12, '0')}.gulp-backup.partial`);
}
