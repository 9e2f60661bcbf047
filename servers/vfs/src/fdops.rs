//! Descriptor and directory calls: `dup`, `dup2`, `dup3`, `fcntl`
//! (`F_DUPFD`, `F_DUPFD_CLOEXEC`, `F_GETFD`, `F_SETFD`, `F_GETFL`,
//! `F_SETFL`), `chdir`, `fchdir` and `getcwd`, with Linux's errnos: `EBADF`
//! for a descriptor not open or (`dup2`/`dup3`) a target outside
//! `0..RLIMIT_NOFILE`; `EMFILE` when no descriptor is free below the limit;
//! `EINVAL` for `dup3` onto itself or with flags other than `O_CLOEXEC`, for
//! an `F_DUPFD` minimum at or above the limit and for an unknown command;
//! `ENOTDIR`/`EACCES` for `chdir`; `ERANGE` for a `getcwd` buffer too small
//! and `ENOENT` when the working directory was removed.

use alloc::vec::Vec;
use libsys::errno::Errno;

use crate::file::{FdEntry, FileKind};
use crate::mount::Path;
use crate::perm::permission;
use crate::types::*;
use crate::vfs::Vfs;

impl Vfs {
    /// `dup(fd)`: the lowest free descriptor, sharing `fd`'s open file.
    pub fn dup(&mut self, client: ClientId, fd: i32) -> Result<i32, Errno> {
        self.dup_from(client, fd, 0, false)
    }

    fn dup_from(
        &mut self,
        client: ClientId,
        fd: i32,
        min: usize,
        cloexec: bool,
    ) -> Result<i32, Errno> {
        let c = self.client(client)?;
        let entry = c.fds.get(fd)?;
        let new = c.fds.lowest_free(min, c.nofile)?;
        self.file_mut(entry.file)?.refs += 1;
        self.client_mut(client)?.fds.install(
            new,
            FdEntry {
                file: entry.file,
                cloexec,
            },
        );
        Ok(new)
    }

    /// `dup2(old, new)`: `new` now shares `old`'s open file (whatever `new`
    /// named is closed); `old == new` just checks `old`.
    pub fn dup2(&mut self, client: ClientId, old: i32, new: i32) -> Result<i32, Errno> {
        if old == new {
            self.client(client)?.fds.get(old)?;
            return Ok(new);
        }
        self.dup_to(client, old, new, false)
    }

    /// `dup3(old, new, flags)`.
    pub fn dup3(&mut self, client: ClientId, old: i32, new: i32, flags: u32) -> Result<i32, Errno> {
        if flags & !O_CLOEXEC != 0 || old == new {
            return Err(Errno::EINVAL);
        }
        self.dup_to(client, old, new, flags & O_CLOEXEC != 0)
    }

    fn dup_to(
        &mut self,
        client: ClientId,
        old: i32,
        new: i32,
        cloexec: bool,
    ) -> Result<i32, Errno> {
        let c = self.client(client)?;
        let entry = c.fds.get(old)?;
        if new < 0 || new as usize >= c.nofile {
            return Err(Errno::EBADF);
        }
        self.file_mut(entry.file)?.refs += 1;
        let replaced = self.client_mut(client)?.fds.install(
            new,
            FdEntry {
                file: entry.file,
                cloexec,
            },
        );
        if let Some(r) = replaced {
            self.fput(r.file);
        }
        Ok(new)
    }

    /// `fcntl(fd, cmd, arg)`: for `F_DUPFD*` the new descriptor, for
    /// `F_GETFD` `FD_CLOEXEC` or 0, for `F_GETFL` the flags, else 0.
    pub fn fcntl(&mut self, client: ClientId, fd: i32, cmd: u32, arg: u64) -> Result<u64, Errno> {
        let c = self.client(client)?;
        let entry = c.fds.get(fd)?;
        match cmd {
            F_DUPFD | F_DUPFD_CLOEXEC => {
                if arg >= c.nofile as u64 {
                    return Err(Errno::EINVAL);
                }
                let fd = self.dup_from(client, fd, arg as usize, cmd == F_DUPFD_CLOEXEC)?;
                Ok(fd as u64)
            }
            F_GETFD => Ok(if entry.cloexec { FD_CLOEXEC as u64 } else { 0 }),
            F_SETFD => {
                self.client_mut(client)?.fds.get_mut(fd)?.cloexec = arg & FD_CLOEXEC as u64 != 0;
                Ok(0)
            }
            F_GETFL => Ok(self.file(entry.file)?.flags as u64),
            F_SETFL => {
                let file = self.file_mut(entry.file)?;
                file.flags = (file.flags & !SETFL_MASK) | (arg as u32 & SETFL_MASK);
                Ok(0)
            }
            _ => Err(Errno::EINVAL),
        }
    }

    fn set_cwd(&mut self, client: ClientId, p: Path) -> Result<(), Errno> {
        let key = self.path_key(p)?;
        let attr = self.attr(key)?;
        if !is_dir(attr.mode) {
            return Err(Errno::ENOTDIR);
        }
        permission(&attr, &self.client(client)?.cred, MAY_EXEC)?;
        self.path_get(p);
        let old = core::mem::replace(&mut self.client_mut(client)?.cwd, p);
        self.path_put(old);
        Ok(())
    }

    /// `chdir(path)`.
    pub fn chdir(&mut self, client: ClientId, path: &[u8]) -> Result<(), Errno> {
        let p = self.lookup_at(client, AT_FDCWD, path, true)?;
        self.set_cwd(client, p)
    }

    /// `fchdir(fd)`.
    pub fn fchdir(&mut self, client: ClientId, fd: i32) -> Result<(), Errno> {
        let entry = self.client(client)?.fds.get(fd)?;
        match self.file(entry.file)?.kind {
            FileKind::Inode { path, .. } => self.set_cwd(client, path),
            FileKind::Pipe { .. } => Err(Errno::ENOTDIR),
        }
    }

    /// `getcwd(size)`: the working directory's absolute path (without the
    /// NUL, which must fit in `size` too).
    pub fn getcwd(&mut self, client: ClientId, size: usize) -> Result<Vec<u8>, Errno> {
        let c = self.client(client)?;
        let path = self.d_path(c.root, c.cwd)?;
        if path.len() + 1 > size {
            return Err(Errno::ERANGE);
        }
        Ok(path)
    }
}
