//! `open`/`openat`/`creat` and `close` (Linux's `do_sys_open`,
//! `path_openat`, `may_open`), with the errnos Linux gives, in its order:
//! `EINVAL` for `O_DIRECTORY|O_CREAT`; `EMFILE`, `ENFILE` before the walk;
//! the walk's errors; `EEXIST` for `O_CREAT|O_EXCL` on anything that exists
//! (a symlink included); `EISDIR` for creating `.`/`..`/`/` or a name with
//! a trailing slash, and for opening a directory for writing (or
//! `O_TRUNC`); `ELOOP` for `O_NOFOLLOW` on a symlink; `ENOTDIR` for
//! `O_DIRECTORY` on a non-directory; `EROFS` before `EACCES`. `O_TRUNC`
//! asks write permission and truncates even with `O_RDONLY`, as Linux.

use libsys::errno::Errno;

use crate::fifo::OpenIo;
use crate::file::{FdEntry, FileKind};
use crate::mount::Path;
use crate::namei::{Last, Parent, Walker};
use crate::perm::permission;
use crate::types::*;
use crate::vfs::Vfs;

/// The `MAY_*` an open with `flags` needs.
fn acc_mode(flags: u32) -> u32 {
    let mut mask = match flags & O_ACCMODE {
        O_RDONLY => MAY_READ,
        O_WRONLY => MAY_WRITE,
        _ => MAY_READ | MAY_WRITE,
    };
    if flags & O_TRUNC != 0 {
        mask |= MAY_WRITE;
    }
    mask
}

impl Vfs {
    /// `open(path, flags, mode)`: the new descriptor.
    pub fn open(
        &mut self,
        client: ClientId,
        path: &[u8],
        flags: u32,
        mode: u32,
    ) -> Result<i32, Errno> {
        self.openat(client, AT_FDCWD, path, flags, mode)
    }

    /// `creat(path, mode)`.
    pub fn creat(&mut self, client: ClientId, path: &[u8], mode: u32) -> Result<i32, Errno> {
        self.openat(client, AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, mode)
    }

    /// `openat(dirfd, path, flags, mode)`: the lowest free descriptor.
    /// An open that would wait (a FIFO without its other side) is
    /// `EAGAIN` here; the server calls [`Self::openat_io`], which can wait.
    pub fn openat(
        &mut self,
        client: ClientId,
        dirfd: i32,
        path: &[u8],
        flags: u32,
        mode: u32,
    ) -> Result<i32, Errno> {
        match self.openat_io(client, dirfd, path, flags, mode)? {
            OpenIo::Opened(fd) => Ok(fd),
            OpenIo::Blocked => {
                self.fifo_cancel(client);
                Err(Errno::EAGAIN)
            }
        }
    }

    /// `openat` that may wait: [`OpenIo::Blocked`] puts the client among
    /// the FIFO's waiting openers (see `fifo`); it is woken when the other
    /// side opens, and the open is run again. Any other outcome ends a
    /// wait it had.
    pub fn openat_io(
        &mut self,
        client: ClientId,
        dirfd: i32,
        path: &[u8],
        flags: u32,
        mode: u32,
    ) -> Result<OpenIo, Errno> {
        let result = self.do_openat(client, dirfd, path, flags, mode);
        if !matches!(result, Ok(OpenIo::Blocked)) {
            self.fifo_cancel(client);
        }
        result
    }

    fn do_openat(
        &mut self,
        client: ClientId,
        dirfd: i32,
        path: &[u8],
        flags: u32,
        mode: u32,
    ) -> Result<OpenIo, Errno> {
        let flags = (flags & VALID_OPEN_FLAGS) | O_LARGEFILE;
        if flags & O_DIRECTORY != 0 && flags & O_CREAT != 0 {
            return Err(Errno::EINVAL);
        }
        let c = self.client(client)?;
        let fd = c.fds.lowest_free(0, c.nofile)?;
        let umask = c.umask;
        if self.files.len() >= self.limits.file_max {
            return Err(Errno::ENFILE);
        }
        let (w, parent) = self.parent_at(client, dirfd, path)?;
        let mut links = 0;
        let (found, created) = if flags & O_CREAT != 0 {
            self.open_create(&w, parent, flags, mode & !umask, &mut links)?
        } else {
            let p = self.walk_last(&w, &parent, flags & O_NOFOLLOW == 0, &mut links)?;
            (p, false)
        };
        let key = self.may_open(&w, found, created, flags)?;
        let attr = self.attr(key)?;
        if attr.mode & S_IFMT == S_IFIFO {
            return self.open_fifo_file(client, fd, key, found, flags);
        }
        // A generated file (sysfs's attributes) has nothing to truncate.
        if flags & O_TRUNC != 0
            && is_reg(attr.mode)
            && !created
            && attr.size != 0
            && !self.sb(key.0)?.fs.is_uncached(key.1)
        {
            self.do_truncate(key, 0)?;
        }
        self.fs(key.0)?.open(key.1, flags)?;
        let snapshot = match self.snapshot_at_open(client, key, flags) {
            Ok(s) => s,
            Err(e) => {
                self.fs(key.0)?.release(key.1);
                return Err(e);
            }
        };
        self.iget(key)?;
        self.path_get(found);
        let status = flags & !(O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_CLOEXEC);
        let file = match self.alloc_file(FileKind::Inode { key, path: found }, status) {
            Ok(f) => f,
            Err(e) => {
                self.iput(key);
                self.path_put(found);
                return Err(e);
            }
        };
        if snapshot.is_some() {
            self.file_mut(file)?.snapshot = snapshot;
        }
        let cloexec = flags & O_CLOEXEC != 0;
        self.client_mut(client)?
            .fds
            .install(fd, FdEntry { file, cloexec });
        Ok(OpenIo::Opened(fd))
    }

    /// The checks of an open of `found` (Linux's `do_open`/`may_open`):
    /// `ELOOP`, `EISDIR`, `ENOTDIR`, then for a file not just created
    /// `EROFS` and `EACCES`. Returns the inode.
    fn may_open(
        &self,
        w: &Walker,
        found: Path,
        created: bool,
        flags: u32,
    ) -> Result<InodeKey, Errno> {
        let key = self.path_key(found)?;
        let attr = self.attr(key)?;
        if is_lnk(attr.mode) {
            return Err(Errno::ELOOP);
        }
        if flags & O_CREAT != 0 && is_dir(attr.mode) {
            return Err(Errno::EISDIR);
        }
        if flags & O_DIRECTORY != 0 && !is_dir(attr.mode) {
            return Err(Errno::ENOTDIR);
        }
        let mask = acc_mode(flags);
        if is_dir(attr.mode) && mask & MAY_WRITE != 0 {
            return Err(Errno::EISDIR);
        }
        if !created {
            let writes_data = is_reg(attr.mode) || is_dir(attr.mode);
            if mask & MAY_WRITE != 0 && writes_data && self.read_only(found)? {
                return Err(Errno::EROFS);
            }
            permission(&attr, &w.cred, mask)?;
        }
        Ok(key)
    }

    /// Whether the mount of `p` or its superblock is read-only.
    pub(crate) fn read_only(&self, p: Path) -> Result<bool, Errno> {
        let m = self.mounts.get(p.mnt).ok_or(Errno::ESTALE)?;
        Ok(m.flags & MS_RDONLY != 0 || self.sb(m.sb)?.flags & MS_RDONLY != 0)
    }

    /// The `O_CREAT` half of open: finds or makes the last component,
    /// following symlinks to a missing target to create it there.
    fn open_create(
        &mut self,
        w: &Walker,
        mut parent: Parent,
        flags: u32,
        mode: u32,
        links: &mut u32,
    ) -> Result<(Path, bool), Errno> {
        loop {
            let Last::Name(_) = &parent.last else {
                return Err(Errno::EISDIR);
            };
            if parent.trailing_slash {
                return Err(Errno::EISDIR);
            }
            let found = self.walk_last(w, &parent, false, links)?;
            let Some(key) = self.dcache.get(found.dentry).key() else {
                self.create_at(w, &parent, found, S_IFREG | (mode & S_IALLUGO), b"", 0)?;
                return Ok((found, true));
            };
            if flags & O_EXCL != 0 {
                return Err(Errno::EEXIST);
            }
            if !is_lnk(self.attr(key)?.mode) {
                return Ok((found, false));
            }
            if flags & O_NOFOLLOW != 0 {
                return Err(Errno::ELOOP);
            }
            *links += 1;
            if *links > MAXSYMLINKS {
                return Err(Errno::ELOOP);
            }
            let target = self.fs(key.0)?.readlink_as(key.1, w.client)?;
            if target.is_empty() {
                return Err(Errno::ENOENT);
            }
            parent = self.walk_parent(w, parent.dir, &target, links)?;
        }
    }

    /// Makes a new inode for the negative dentry `at` in `parent.dir`
    /// (`vfs_create`/`vfs_mkdir`/`vfs_symlink`): `EROFS`, then `EACCES`
    /// without write and search permission on the directory, `ENOSPC`
    /// from the file system. The owner is the caller; the group is the
    /// directory's if it is set-group-ID (a new directory inherits the bit).
    pub(crate) fn create_at(
        &mut self,
        w: &Walker,
        parent: &Parent,
        at: Path,
        mode: u32,
        symlink: &[u8],
        rdev: u64,
    ) -> Result<InodeKey, Errno> {
        let Last::Name(name) = &parent.last else {
            return Err(Errno::EEXIST);
        };
        if self.read_only(parent.dir)? {
            return Err(Errno::EROFS);
        }
        let dir_key = self.path_key(parent.dir)?;
        let dir = self.attr(dir_key)?;
        permission(&dir, &w.cred, MAY_WRITE | MAY_EXEC)?;
        if dir.nlink == 0 {
            // A removed directory takes no new entries (IS_DEADDIR).
            return Err(Errno::ENOENT);
        }
        let mut mode = mode;
        let gid = if dir.mode & S_ISGID != 0 {
            if is_dir(mode) {
                mode |= S_ISGID;
            }
            dir.gid
        } else {
            w.cred.gid
        };
        let new = NewInode {
            mode,
            uid: w.cred.uid,
            gid,
            rdev,
            symlink,
            time: self.now,
        };
        let ino = self.fs(dir_key.0)?.create(dir_key.1, name, &new)?;
        let key = (dir_key.0, ino);
        self.iget(key)?;
        self.dcache.instantiate(at.dentry, ino);
        self.refresh(dir_key)?;
        self.touch_mc(dir_key)?;
        Ok(key)
    }

    /// `close(fd)`: `EBADF` if `fd` is not open.
    pub fn close(&mut self, client: ClientId, fd: i32) -> Result<(), Errno> {
        let entry = self
            .client_mut(client)?
            .fds
            .remove(fd)
            .ok_or(Errno::EBADF)?;
        self.fput(entry.file);
        Ok(())
    }
}
