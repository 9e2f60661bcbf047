//! Attribute calls: `stat`/`lstat`/`fstat`/`fstatat`, `chmod`/`fchmod`,
//! `chown`/`lchown`/`fchown`, `truncate`/`ftruncate`, `statfs`/`fstatfs`
//! and `umask`, with Linux's rules: only the owner or root changes the
//! mode (`EPERM`), and a non-root caller setting set-group-ID on a file of
//! a group it is not in loses that bit; only root changes the owner, and
//! the owner may change the group only to one of its groups (`EPERM`);
//! `chown` of a non-directory clears set-user-ID (and set-group-ID when
//! group-executable); `truncate` needs write permission, a regular file
//! (`EISDIR`, `EINVAL`) and a non-negative length (`EINVAL`), and a size
//! the file system can hold (`EFBIG`); `ftruncate` needs a descriptor
//! open for writing (`EINVAL` otherwise, as Linux).

use libsys::errno::Errno;

use crate::file::FileKind;
use crate::mount::Path;
use crate::perm::{owner_or_root, permission};
use crate::types::*;
use crate::vfs::Vfs;

/// `f_flags` bit of a read-only mount.
pub const ST_RDONLY: u64 = 1;

impl Vfs {
    /// `struct stat` of inode `key`.
    pub(crate) fn stat_key(&self, key: InodeKey) -> Result<Stat, Errno> {
        let a = self.attr(key)?;
        let sb = self.sb(key.0)?;
        Ok(Stat {
            st_dev: sb.dev,
            st_ino: a.ino,
            st_nlink: a.nlink as u64,
            st_mode: a.mode,
            st_uid: a.uid,
            st_gid: a.gid,
            st_rdev: a.rdev,
            st_size: a.size as i64,
            st_blksize: PAGE_SIZE as i64,
            st_blocks: a.blocks as i64,
            st_atime: a.atime,
            st_mtime: a.mtime,
            st_ctime: a.ctime,
        })
    }

    /// `fstatat(dirfd, path, flags)`: `AT_SYMLINK_NOFOLLOW` stats a link
    /// itself, `AT_EMPTY_PATH` with an empty path stats `dirfd`; other
    /// flags are `EINVAL`.
    pub fn fstatat(
        &mut self,
        client: ClientId,
        dirfd: i32,
        path: &[u8],
        flags: u32,
    ) -> Result<Stat, Errno> {
        if flags & !(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) != 0 {
            return Err(Errno::EINVAL);
        }
        if path.is_empty() && flags & AT_EMPTY_PATH != 0 {
            if dirfd == AT_FDCWD {
                let cwd = self.client(client)?.cwd;
                return self.stat_key(self.path_key(cwd)?);
            }
            return self.fstat(client, dirfd);
        }
        let p = self.lookup_at(client, dirfd, path, flags & AT_SYMLINK_NOFOLLOW == 0)?;
        self.stat_key(self.path_key(p)?)
    }

    pub fn stat(&mut self, client: ClientId, path: &[u8]) -> Result<Stat, Errno> {
        self.fstatat(client, AT_FDCWD, path, 0)
    }

    pub fn lstat(&mut self, client: ClientId, path: &[u8]) -> Result<Stat, Errno> {
        self.fstatat(client, AT_FDCWD, path, AT_SYMLINK_NOFOLLOW)
    }

    /// `fstat(fd)`.
    pub fn fstat(&mut self, client: ClientId, fd: i32) -> Result<Stat, Errno> {
        let entry = self.client(client)?.fds.get(fd)?;
        match self.file(entry.file)?.kind {
            FileKind::Inode { key, .. } => self.stat_key(key),
            FileKind::Pipe { .. } if self.fifo_key(entry.file).is_some() => {
                self.stat_key(self.fifo_key(entry.file).ok_or(Errno::EBADF)?)
            }
            FileKind::Pipe { pipe, .. } => self.pipe_stat(pipe),
        }
    }

    /// The file type bits and device number of what `fd` names, without
    /// building a whole `stat` (the server asks this before every read
    /// and write, to route device files); `None` for a pipe or FIFO end,
    /// or a descriptor not open.
    pub fn fd_type(&self, client: ClientId, fd: i32) -> Option<(u32, u64)> {
        let entry = self.client(client).ok()?.fds.get(fd).ok()?;
        match self.file(entry.file).ok()?.kind {
            FileKind::Inode { key, .. } => {
                let a = self.inodes.get(&key)?;
                Some((a.attr.mode & S_IFMT, a.attr.rdev))
            }
            FileKind::Pipe { .. } => None,
        }
    }

    /// The inode and path `fd` names for the `f*` calls (`EBADF`; `EINVAL`
    /// for a pipe where a file is needed).
    fn fd_inode(&self, client: ClientId, fd: i32) -> Result<(InodeKey, Path), Errno> {
        let entry = self.client(client)?.fds.get(fd)?;
        match self.file(entry.file)?.kind {
            FileKind::Inode { key, path } => Ok((key, path)),
            FileKind::Pipe { .. } => Err(Errno::EINVAL),
        }
    }

    fn do_chmod(
        &mut self,
        client: ClientId,
        key: InodeKey,
        at: Path,
        mode: u32,
    ) -> Result<(), Errno> {
        if self.read_only(at)? {
            return Err(Errno::EROFS);
        }
        let cred = self.client(client)?.cred.clone();
        let attr = self.attr(key)?;
        if !owner_or_root(&attr, &cred) {
            return Err(Errno::EPERM);
        }
        let mut mode = mode & S_IALLUGO;
        if !cred.is_root() && !cred.in_group(attr.gid) {
            mode &= !S_ISGID;
        }
        let now = self.now;
        self.set_attr(key, |a| {
            a.mode = (a.mode & S_IFMT) | mode;
            a.ctime = now;
        })
    }

    /// `fchmodat(dirfd, path, mode)` (symlinks followed).
    pub fn fchmodat(
        &mut self,
        client: ClientId,
        dirfd: i32,
        path: &[u8],
        mode: u32,
    ) -> Result<(), Errno> {
        let p = self.lookup_at(client, dirfd, path, true)?;
        let key = self.path_key(p)?;
        self.do_chmod(client, key, p, mode)
    }

    pub fn chmod(&mut self, client: ClientId, path: &[u8], mode: u32) -> Result<(), Errno> {
        self.fchmodat(client, AT_FDCWD, path, mode)
    }

    pub fn fchmod(&mut self, client: ClientId, fd: i32, mode: u32) -> Result<(), Errno> {
        let (key, p) =
            self.fd_inode(client, fd)
                .map_err(|e| if e == Errno::EINVAL { Errno::EBADF } else { e })?;
        self.do_chmod(client, key, p, mode)
    }

    fn do_chown(
        &mut self,
        client: ClientId,
        key: InodeKey,
        at: Path,
        uid: Option<u32>,
        gid: Option<u32>,
    ) -> Result<(), Errno> {
        if self.read_only(at)? {
            return Err(Errno::EROFS);
        }
        let cred = self.client(client)?.cred.clone();
        let attr = self.attr(key)?;
        if !cred.is_root() {
            if uid.is_some_and(|u| u != attr.uid) {
                return Err(Errno::EPERM);
            }
            if let Some(g) = gid {
                if cred.uid != attr.uid || (g != attr.gid && !cred.in_group(g)) {
                    return Err(Errno::EPERM);
                }
            }
            if uid.is_some() && cred.uid != attr.uid {
                return Err(Errno::EPERM);
            }
        }
        let now = self.now;
        self.set_attr(key, |a| {
            if let Some(u) = uid {
                a.uid = u;
            }
            if let Some(g) = gid {
                a.gid = g;
            }
            if (uid.is_some() || gid.is_some()) && !is_dir(a.mode) {
                a.mode &= !S_ISUID;
                if a.mode & 0o010 != 0 {
                    a.mode &= !S_ISGID;
                }
            }
            a.ctime = now;
        })
    }

    /// `fchownat(dirfd, path, uid, gid, flags)`; `None` leaves an id as it
    /// is (`-1` in C).
    pub fn fchownat(
        &mut self,
        client: ClientId,
        dirfd: i32,
        path: &[u8],
        uid: Option<u32>,
        gid: Option<u32>,
        flags: u32,
    ) -> Result<(), Errno> {
        if flags & !AT_SYMLINK_NOFOLLOW != 0 {
            return Err(Errno::EINVAL);
        }
        let p = self.lookup_at(client, dirfd, path, flags & AT_SYMLINK_NOFOLLOW == 0)?;
        let key = self.path_key(p)?;
        self.do_chown(client, key, p, uid, gid)
    }

    pub fn chown(
        &mut self,
        client: ClientId,
        path: &[u8],
        uid: Option<u32>,
        gid: Option<u32>,
    ) -> Result<(), Errno> {
        self.fchownat(client, AT_FDCWD, path, uid, gid, 0)
    }

    pub fn lchown(
        &mut self,
        client: ClientId,
        path: &[u8],
        uid: Option<u32>,
        gid: Option<u32>,
    ) -> Result<(), Errno> {
        self.fchownat(client, AT_FDCWD, path, uid, gid, AT_SYMLINK_NOFOLLOW)
    }

    pub fn fchown(
        &mut self,
        client: ClientId,
        fd: i32,
        uid: Option<u32>,
        gid: Option<u32>,
    ) -> Result<(), Errno> {
        let (key, p) =
            self.fd_inode(client, fd)
                .map_err(|e| if e == Errno::EINVAL { Errno::EBADF } else { e })?;
        self.do_chown(client, key, p, uid, gid)
    }

    /// `truncate(path, length)`.
    pub fn truncate(&mut self, client: ClientId, path: &[u8], length: i64) -> Result<(), Errno> {
        let size = u64::try_from(length).map_err(|_| Errno::EINVAL)?;
        let p = self.lookup_at(client, AT_FDCWD, path, true)?;
        let key = self.path_key(p)?;
        let attr = self.attr(key)?;
        if is_dir(attr.mode) {
            return Err(Errno::EISDIR);
        }
        if !is_reg(attr.mode) {
            return Err(Errno::EINVAL);
        }
        if self.read_only(p)? {
            return Err(Errno::EROFS);
        }
        permission(&attr, &self.client(client)?.cred, MAY_WRITE)?;
        self.check_size(key, size)?;
        self.do_truncate(key, size)
    }

    /// `ftruncate(fd, length)`.
    pub fn ftruncate(&mut self, client: ClientId, fd: i32, length: i64) -> Result<(), Errno> {
        let size = u64::try_from(length).map_err(|_| Errno::EINVAL)?;
        let entry = self.client(client)?.fds.get(fd)?;
        let file = self.file(entry.file)?;
        let FileKind::Inode { key, .. } = file.kind else {
            return Err(Errno::EINVAL);
        };
        if !is_reg(self.attr(key)?.mode) || !file.writable() {
            return Err(Errno::EINVAL);
        }
        self.check_size(key, size)?;
        self.do_truncate(key, size)
    }

    fn check_size(&mut self, key: InodeKey, size: u64) -> Result<(), Errno> {
        if size > self.fs(key.0)?.max_file_size() {
            return Err(Errno::EFBIG);
        }
        Ok(())
    }

    fn statfs_of(&mut self, p: Path) -> Result<StatFs, Errno> {
        let ro = self.read_only(p)?;
        let sb = self.sb(self.path_key(p)?.0)?;
        let mut st = sb.fs.statfs();
        st.f_fsid = sb.dev;
        if ro {
            st.f_flags |= ST_RDONLY;
        }
        Ok(st)
    }

    /// `statfs(path)`.
    pub fn statfs(&mut self, client: ClientId, path: &[u8]) -> Result<StatFs, Errno> {
        let p = self.lookup_at(client, AT_FDCWD, path, true)?;
        self.statfs_of(p)
    }

    /// `fstatfs(fd)`.
    pub fn fstatfs(&mut self, client: ClientId, fd: i32) -> Result<StatFs, Errno> {
        let (_, p) = self.fd_inode(client, fd)?;
        self.statfs_of(p)
    }

    /// `faccessat(dirfd, path, mode, flags)`: `Ok` if the caller may
    /// access the file as `mode` (`R_OK` 4, `W_OK` 2, `X_OK` 1; 0 tests
    /// existence). `EACCES`, `EROFS` for `W_OK` on a read-only mount,
    /// `EINVAL` for unknown mode bits or flags.
    pub fn faccessat(
        &mut self,
        client: ClientId,
        dirfd: i32,
        path: &[u8],
        mode: u32,
        flags: u32,
    ) -> Result<(), Errno> {
        if mode & !7 != 0 || flags & !AT_SYMLINK_NOFOLLOW != 0 {
            return Err(Errno::EINVAL);
        }
        let p = self.lookup_at(client, dirfd, path, flags & AT_SYMLINK_NOFOLLOW == 0)?;
        let attr = self.attr(self.path_key(p)?)?;
        if mode & MAY_WRITE != 0 && self.read_only(p)? && !is_lnk(attr.mode) {
            return Err(Errno::EROFS);
        }
        permission(&attr, &self.client(client)?.cred, mode)
    }

    pub fn access(&mut self, client: ClientId, path: &[u8], mode: u32) -> Result<(), Errno> {
        self.faccessat(client, AT_FDCWD, path, mode, 0)
    }

    /// `umask(mask)`: the previous mask; only the permission bits count.
    pub fn umask(&mut self, client: ClientId, mask: u32) -> Result<u32, Errno> {
        let c = self.client_mut(client)?;
        let old = c.umask;
        c.umask = mask & 0o777;
        Ok(old)
    }
}
