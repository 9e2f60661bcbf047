//! The calls that change names: `mkdir`, `rmdir`, `unlink`, `symlink`,
//! `link`, `rename`, and `readlink`, with Linux's checks in Linux's order
//! (`filename_create`, `may_create`, `may_delete`, `vfs_rename`):
//!
//! - creating: `EEXIST` if the name exists (or is `.`, `..`, `/`), then
//!   `EROFS`, then `EACCES` without write+search on the directory; a
//!   trailing slash on a new non-directory is `ENOENT`;
//! - removing: `EISDIR`/`EINVAL`/`ENOTEMPTY`/`EBUSY` for `.`, `..`, `/`;
//!   `EROFS`; `ENOENT`; `EACCES`; `EPERM` for a sticky directory not
//!   the caller's; `EISDIR`/`ENOTDIR` for the wrong type; `EBUSY` for a
//!   mount point; `ENOTEMPTY`;
//! - `link`: `EXDEV` across mounts, `EPERM` for a directory;
//! - `rename`: `EXDEV` across mounts, `EBUSY` for `.`/`..`/mount points,
//!   `EINVAL` moving a directory below itself, `ENOTEMPTY` replacing a
//!   non-empty directory or an ancestor, `ENOTDIR`/`EISDIR` for mismatched
//!   types; renaming a name onto another link of the same inode does
//!   nothing.

use alloc::vec::Vec;
use libsys::errno::Errno;

use crate::mount::Path;
use crate::namei::{Last, Name, Parent, Walker};
use crate::perm::{permission, sticky_forbids};
use crate::types::*;
use crate::vfs::Vfs;

/// What a rename moved and replaced.
struct Renamed {
    from: Path,
    from_key: InodeKey,
    to: Path,
    to_key: Option<InodeKey>,
    old_dir: InodeKey,
    new_dir: InodeKey,
}

impl Vfs {
    /// Finds the target of a creating call (`filename_create`): the
    /// negative dentry to fill, or `EEXIST`/`EROFS`/`ENOENT`.
    fn filename_create(&mut self, w: &Walker, p: &Parent, is_mkdir: bool) -> Result<Path, Errno> {
        let Last::Name(name) = &p.last else {
            return Err(Errno::EEXIST);
        };
        let ro = self.read_only(p.dir)?;
        let found = self.step_nofollow(w, p.dir, name)?;
        if self.dcache.get(found.dentry).inode.is_some() {
            return Err(Errno::EEXIST);
        }
        if ro {
            return Err(Errno::EROFS);
        }
        if p.trailing_slash && !is_mkdir {
            return Err(Errno::ENOENT);
        }
        Ok(found)
    }

    /// The last component without following a symlink or trailing slash.
    fn step_nofollow(&mut self, w: &Walker, dir: Path, name: &[u8]) -> Result<Path, Errno> {
        let parent = Parent {
            dir,
            last: Last::Name(Name::new(name)?),
            trailing_slash: false,
        };
        let mut links = 0;
        self.walk_last(w, &parent, false, &mut links)
    }

    /// `mkdirat(dirfd, path, mode)`.
    pub fn mkdirat(
        &mut self,
        client: ClientId,
        dirfd: i32,
        path: &[u8],
        mode: u32,
    ) -> Result<(), Errno> {
        let (w, p) = self.parent_at(client, dirfd, path)?;
        let at = self.filename_create(&w, &p, true)?;
        let umask = self.client(client)?.umask;
        let mode = S_IFDIR | (mode & (0o777 | S_ISVTX) & !umask);
        self.create_at(&w, &p, at, mode, b"", 0).map(|_| ())
    }

    /// `mknodat(dirfd, path, mode, dev)`: a regular file or (root only,
    /// else `EPERM`) a character or block device file; `EINVAL` for any
    /// other type (FIFOs on the file system are not made yet).
    pub fn mknodat(
        &mut self,
        client: ClientId,
        dirfd: i32,
        path: &[u8],
        mode: u32,
        dev: u64,
    ) -> Result<(), Errno> {
        let kind = match mode & S_IFMT {
            0 => S_IFREG,
            k @ (S_IFREG | S_IFCHR | S_IFBLK | S_IFIFO) => k,
            _ => return Err(Errno::EINVAL),
        };
        let device = kind == S_IFCHR || kind == S_IFBLK;
        if device && !self.client(client)?.cred.is_root() {
            return Err(Errno::EPERM);
        }
        let (w, p) = self.parent_at(client, dirfd, path)?;
        let at = self.filename_create(&w, &p, false)?;
        let umask = self.client(client)?.umask;
        let mode = kind | (mode & S_IALLUGO & !umask);
        let rdev = if device { dev } else { 0 };
        self.create_at(&w, &p, at, mode, b"", rdev).map(|_| ())
    }

    pub fn mkdir(&mut self, client: ClientId, path: &[u8], mode: u32) -> Result<(), Errno> {
        self.mkdirat(client, AT_FDCWD, path, mode)
    }

    /// `symlinkat(target, dirfd, linkpath)`: `ENOENT` for an empty target.
    pub fn symlinkat(
        &mut self,
        client: ClientId,
        target: &[u8],
        dirfd: i32,
        path: &[u8],
    ) -> Result<(), Errno> {
        if target.is_empty() {
            return Err(Errno::ENOENT);
        }
        if target.len() >= PATH_MAX {
            return Err(Errno::ENAMETOOLONG);
        }
        let (w, p) = self.parent_at(client, dirfd, path)?;
        let at = self.filename_create(&w, &p, false)?;
        self.create_at(&w, &p, at, S_IFLNK | 0o777, target, 0)
            .map(|_| ())
    }

    pub fn symlink(&mut self, client: ClientId, target: &[u8], path: &[u8]) -> Result<(), Errno> {
        self.symlinkat(client, target, AT_FDCWD, path)
    }

    /// `readlinkat(dirfd, path, bufsiz)`: the target, cut to `bufsiz`
    /// bytes; `EINVAL` if `bufsiz` is 0 or the path is not a symlink.
    pub fn readlinkat(
        &mut self,
        client: ClientId,
        dirfd: i32,
        path: &[u8],
        bufsiz: usize,
    ) -> Result<Vec<u8>, Errno> {
        if bufsiz == 0 {
            return Err(Errno::EINVAL);
        }
        let p = self.lookup_at(client, dirfd, path, false)?;
        let key = self.path_key(p)?;
        if !is_lnk(self.attr(key)?.mode) {
            return Err(Errno::EINVAL);
        }
        let mut target = self.fs(key.0)?.readlink_as(key.1, client)?;
        target.truncate(bufsiz);
        Ok(target)
    }

    pub fn readlink(
        &mut self,
        client: ClientId,
        path: &[u8],
        bufsiz: usize,
    ) -> Result<Vec<u8>, Errno> {
        self.readlinkat(client, AT_FDCWD, path, bufsiz)
    }

    /// `may_delete`: may `w` remove `victim` from `dir`, expecting a
    /// directory or not.
    fn may_delete(&self, w: &Walker, dir: Path, victim: Path, want_dir: bool) -> Result<(), Errno> {
        let dir_attr = self.attr(self.path_key(dir)?)?;
        let attr = self.attr(self.path_key(victim)?)?;
        permission(&dir_attr, &w.cred, MAY_WRITE | MAY_EXEC)?;
        if sticky_forbids(&dir_attr, &attr, &w.cred) {
            return Err(Errno::EPERM);
        }
        match (want_dir, is_dir(attr.mode)) {
            (true, false) => return Err(Errno::ENOTDIR),
            (false, true) => return Err(Errno::EISDIR),
            _ => {}
        }
        if victim.mnt != dir.mnt || victim == w.root {
            return Err(Errno::EBUSY);
        }
        Ok(())
    }

    /// `unlinkat(dirfd, path, flags)`: with `AT_REMOVEDIR` it is `rmdir`
    /// (`EINVAL` for other flags).
    pub fn unlinkat(
        &mut self,
        client: ClientId,
        dirfd: i32,
        path: &[u8],
        flags: u32,
    ) -> Result<(), Errno> {
        if flags & !AT_REMOVEDIR != 0 {
            return Err(Errno::EINVAL);
        }
        let rmdir = flags & AT_REMOVEDIR != 0;
        let (w, p) = self.parent_at(client, dirfd, path)?;
        let name = match (&p.last, rmdir) {
            (Last::Name(n), _) => n.clone(),
            (Last::Dot, true) => return Err(Errno::EINVAL),
            (Last::DotDot, true) => return Err(Errno::ENOTEMPTY),
            (_, true) => return Err(Errno::EBUSY),
            (_, false) => return Err(Errno::EISDIR),
        };
        if self.read_only(p.dir)? {
            return Err(Errno::EROFS);
        }
        let victim = self.step_nofollow(&w, p.dir, &name)?;
        let Some(key) = self.dcache.get(victim.dentry).key() else {
            return Err(Errno::ENOENT);
        };
        if !rmdir && p.trailing_slash {
            return Err(if is_dir(self.attr(key)?.mode) {
                Errno::EISDIR
            } else {
                Errno::ENOTDIR
            });
        }
        self.may_delete(&w, p.dir, victim, rmdir)?;
        let dir_key = self.path_key(p.dir)?;
        let fs = self.fs(dir_key.0)?;
        if rmdir {
            if !fs.is_empty_dir(key.1)? {
                return Err(Errno::ENOTEMPTY);
            }
            fs.rmdir(dir_key.1, &name)?;
        } else {
            fs.unlink(dir_key.1, &name)?;
        }
        self.refresh(key)?;
        self.refresh(dir_key)?;
        self.touch_mc(dir_key)?;
        self.touch_c(key)?;
        if let Some(k) = self.dcache.delete(victim.dentry) {
            self.iput(k);
        }
        Ok(())
    }

    pub fn unlink(&mut self, client: ClientId, path: &[u8]) -> Result<(), Errno> {
        self.unlinkat(client, AT_FDCWD, path, 0)
    }

    pub fn rmdir(&mut self, client: ClientId, path: &[u8]) -> Result<(), Errno> {
        self.unlinkat(client, AT_FDCWD, path, AT_REMOVEDIR)
    }

    /// `linkat(olddirfd, old, newdirfd, new, flags)`: a new name for the
    /// inode of `old` (followed only with `AT_SYMLINK_FOLLOW`).
    pub fn linkat(
        &mut self,
        client: ClientId,
        olddirfd: i32,
        old: &[u8],
        newdirfd: i32,
        new: &[u8],
        flags: u32,
    ) -> Result<(), Errno> {
        if flags & !AT_SYMLINK_FOLLOW != 0 {
            return Err(Errno::EINVAL);
        }
        let from = self.lookup_at(client, olddirfd, old, flags & AT_SYMLINK_FOLLOW != 0)?;
        let key = self.path_key(from)?;
        let (w, p) = self.parent_at(client, newdirfd, new)?;
        let at = self.filename_create(&w, &p, false)?;
        if from.mnt != p.dir.mnt {
            return Err(Errno::EXDEV);
        }
        let dir_key = self.path_key(p.dir)?;
        permission(&self.attr(dir_key)?, &w.cred, MAY_WRITE | MAY_EXEC)?;
        if is_dir(self.attr(key)?.mode) {
            return Err(Errno::EPERM);
        }
        let Last::Name(name) = &p.last else {
            return Err(Errno::EEXIST);
        };
        self.fs(key.0)?.link(dir_key.1, name, key.1)?;
        self.iget(key)?;
        self.dcache.instantiate(at.dentry, key.1);
        self.refresh(key)?;
        self.touch_c(key)?;
        self.touch_mc(dir_key)
    }

    pub fn link(&mut self, client: ClientId, old: &[u8], new: &[u8]) -> Result<(), Errno> {
        self.linkat(client, AT_FDCWD, old, AT_FDCWD, new, 0)
    }

    pub fn rename(&mut self, client: ClientId, old: &[u8], new: &[u8]) -> Result<(), Errno> {
        self.renameat(client, AT_FDCWD, old, AT_FDCWD, new)
    }

    /// `renameat(olddirfd, old, newdirfd, new)`.
    pub fn renameat(
        &mut self,
        client: ClientId,
        olddirfd: i32,
        old: &[u8],
        newdirfd: i32,
        new: &[u8],
    ) -> Result<(), Errno> {
        let (w, op) = self.parent_at(client, olddirfd, old)?;
        let (_, np) = self.parent_at(client, newdirfd, new)?;
        if op.dir.mnt != np.dir.mnt {
            return Err(Errno::EXDEV);
        }
        let (Last::Name(oname), Last::Name(nname)) = (op.last.clone(), np.last.clone()) else {
            return Err(Errno::EBUSY);
        };
        if self.read_only(op.dir)? {
            return Err(Errno::EROFS);
        }
        let from = self.step_nofollow(&w, op.dir, &oname)?;
        let Some(from_key) = self.dcache.get(from.dentry).key() else {
            return Err(Errno::ENOENT);
        };
        let from_is_dir = is_dir(self.attr(from_key)?.mode);
        if !from_is_dir && (op.trailing_slash || np.trailing_slash) {
            return Err(Errno::ENOTDIR);
        }
        let to = self.step_nofollow(&w, np.dir, &nname)?;
        if from.mnt != op.dir.mnt {
            return Err(Errno::EBUSY);
        }
        if from_is_dir && self.dcache.is_subdir(np.dir.dentry, from.dentry) {
            return Err(Errno::EINVAL);
        }
        let to_key = self.dcache.get(to.dentry).key();
        if to_key.is_some() && self.dcache.is_subdir(op.dir.dentry, to.dentry) {
            return Err(Errno::ENOTEMPTY);
        }
        if to_key == Some(from_key) {
            return Ok(());
        }
        self.check_rename(&w, &op, &np, from, to, from_is_dir)?;
        let old_dir = self.path_key(op.dir)?;
        let new_dir = self.path_key(np.dir)?;
        if let Some(k) = to_key {
            if is_dir(self.attr(k)?.mode) && !self.fs(k.0)?.is_empty_dir(k.1)? {
                return Err(Errno::ENOTEMPTY);
            }
        }
        self.fs(old_dir.0)?
            .rename(old_dir.1, &oname, new_dir.1, &nname)?;
        let renamed = Renamed {
            from,
            from_key,
            to,
            to_key,
            old_dir,
            new_dir,
        };
        self.finish_rename(renamed, np.dir, &nname)?;
        Ok(())
    }

    /// After the file system renamed: rereads link counts, stamps times,
    /// and moves the dentry (dropping the replaced one).
    fn finish_rename(&mut self, r: Renamed, new_parent: Path, nname: &[u8]) -> Result<(), Errno> {
        let Renamed {
            from,
            from_key,
            to,
            to_key,
            old_dir,
            new_dir,
        } = r;
        // Link counts first, so that releasing a replaced inode evicts it.
        for k in [Some(from_key), to_key, Some(old_dir), Some(new_dir)]
            .into_iter()
            .flatten()
        {
            self.refresh(k)?;
        }
        self.touch_mc(old_dir)?;
        self.touch_mc(new_dir)?;
        self.touch_c(from_key)?;
        if let Some(k) = to_key {
            self.touch_c(k)?;
        }
        let released = self.dcache.drop_name(to.dentry);
        self.iput_all(released);
        let released = self.dcache.d_move(from.dentry, new_parent.dentry, nname);
        self.iput_all(released);
        Ok(())
    }

    /// The permission and type checks of `vfs_rename`.
    fn check_rename(
        &self,
        w: &Walker,
        op: &Parent,
        np: &Parent,
        from: Path,
        to: Path,
        from_is_dir: bool,
    ) -> Result<(), Errno> {
        self.may_delete(w, op.dir, from, from_is_dir)?;
        if self.dcache.get(to.dentry).inode.is_some() {
            self.may_delete(w, np.dir, to, from_is_dir)?;
        } else {
            let dir = self.attr(self.path_key(np.dir)?)?;
            permission(&dir, &w.cred, MAY_WRITE | MAY_EXEC)?;
        }
        if from_is_dir && op.dir != np.dir {
            // Its `..` changes: Linux asks write permission on it.
            permission(&self.attr(self.path_key(from)?)?, &w.cred, MAY_WRITE)?;
        }
        Ok(())
    }
}
