"""A case-insensitive, case-preserving file system over a folder, as macOS's APFS is by default:
a name is found whatever its case or Unicode form (composed or decomposed letters), and a new
name keeps the spelling it was made with. With `fat` after the two folders, it also refuses what
FAT and exFAT cannot hold, as Linux's vfat and exfat drivers do: symlinks, hard links, modes and
owners (EPERM), and names that Windows refuses (EINVAL). With `sshfs`, a rename onto a name that
exists fails (EPERM), as SFTP's rename does (sshfs without `-o workaround=rename`). Run by
case-insensitive-fs.ts through FUSE (Debian: python3-fusepy); the kernel keeps no name cache
(every lookup comes here, as a real file system answers it) and inode numbers are the folder's
own, so two spellings of a name are one inode."""
import errno
import os
import sys
import unicodedata

from fusepy import FUSE, FuseOSError, Operations


def fold(name):
    return unicodedata.normalize('NFC', name).casefold()


class CaseInsensitive(Operations):
    def __init__(self, root, like):
        self.root = root
        self.fat = like == 'fat'
        self.sshfs = like == 'sshfs'

    def refuse_on_fat(self):
        if self.fat:
            raise FuseOSError(errno.EPERM)

    def refuse_name_on_fat(self, path):
        """vfat's rule for a new name: none of \\ : * ? " < > |, and no trailing dot or space (EINVAL)."""
        name = path.rsplit('/', 1)[-1]
        if self.fat and (any(c in name for c in '\\:*?"<>|') or name.endswith(('.', ' '))):
            raise FuseOSError(errno.EINVAL)

    def real(self, path):
        """The backing path: each part found without regard to case or form; a new part keeps its spelling."""
        current = self.root
        for part in [p for p in path.split('/') if p]:
            candidate = os.path.join(current, part)
            if not os.path.lexists(candidate) and os.path.isdir(current):
                for name in os.listdir(current):
                    if fold(name) == fold(part):
                        candidate = os.path.join(current, name)
                        break
            current = candidate
        return current

    def getattr(self, path, fh=None):
        st = os.lstat(self.real(path))
        keys = ('st_mode', 'st_ino', 'st_nlink', 'st_uid', 'st_gid', 'st_size', 'st_atime', 'st_mtime', 'st_ctime')
        return {key: getattr(st, key) for key in keys}

    def readdir(self, path, fh):
        return ['.', '..'] + os.listdir(self.real(path))

    def readlink(self, path):
        return os.readlink(self.real(path))

    def mkdir(self, path, mode):
        self.refuse_name_on_fat(path)
        os.mkdir(self.real(path), mode)

    def rmdir(self, path):
        os.rmdir(self.real(path))

    def unlink(self, path):
        os.unlink(self.real(path))

    def symlink(self, path, target):
        self.refuse_on_fat()
        os.symlink(target, self.real(path))

    def link(self, path, existing):
        self.refuse_on_fat()
        os.link(self.real(existing), self.real(path))

    def rename(self, old, new):
        self.refuse_name_on_fat(new)
        if self.sshfs and os.path.lexists(self.real(new)):
            raise FuseOSError(errno.EPERM)  # SFTP's rename does not replace (sshfs without workaround=rename)
        os.rename(self.real(old), self.real(new))

    def chmod(self, path, mode):
        self.refuse_on_fat()
        os.chmod(self.real(path), mode)

    def chown(self, path, uid, gid):
        self.refuse_on_fat()
        os.lchown(self.real(path), uid, gid)

    def utimens(self, path, times=None):
        os.utime(self.real(path), times, follow_symlinks=False)

    def truncate(self, path, length, fh=None):
        os.truncate(self.real(path), length)

    def open(self, path, flags):
        return os.open(self.real(path), flags)

    def create(self, path, mode, fi=None):
        self.refuse_name_on_fat(path)
        return os.open(self.real(path), os.O_RDWR | os.O_CREAT, mode)

    def read(self, path, size, offset, fh):
        return os.pread(fh, size, offset)

    def write(self, path, data, offset, fh):
        return os.pwrite(fh, data, offset)

    def flush(self, path, fh):
        return 0

    def release(self, path, fh):
        os.close(fh)
        return 0

    def fsync(self, path, datasync, fh):
        os.fsync(fh)
        return 0

    def statfs(self, path):
        st = os.statvfs(self.real(path))
        keys = ('f_bavail', 'f_bfree', 'f_blocks', 'f_bsize', 'f_favail', 'f_ffree', 'f_files', 'f_flag', 'f_frsize', 'f_namemax')
        return {key: getattr(st, key) for key in keys}


if __name__ == '__main__':
    FUSE(CaseInsensitive(sys.argv[1], sys.argv[3] if len(sys.argv) > 3 else None), sys.argv[2], foreground=True, nothreads=True, use_ino=True, entry_timeout=0, attr_timeout=0, negative_timeout=0)
