//! Mounting and writeback: the root mount, `mount` and `umount` by type
//! name (`EPERM` for non-root, `ENODEV` for an unknown type, `ENOTDIR`
//! for a target that is not a directory, `EINVAL` for an unmount of
//! something that is not a mount's root, `EBUSY` for a mount with open
//! files, working directories or mounts on it, and for `/`), and the
//! flusher's entry points: `sync`, `fsync`, the periodic flush after
//! `dirty_expire` and the writeback above the dirty thresholds.

use alloc::vec::Vec;
use libsys::errno::Errno;

use crate::file::FileKind;
use crate::mount::{Mount, Path};
use crate::pagecache::{DirtyState, WbReason, WritebackBatch};
use crate::types::*;
use crate::vfs::Vfs;

impl Vfs {
    /// Mounts a file system of type `fs_type` as `/` (once: `EBUSY` after).
    pub fn mount_root(&mut self, fs_type: &str, data: &[u8]) -> Result<(), Errno> {
        if self.root.is_some() {
            return Err(Errno::EBUSY);
        }
        let sb = self.make_super(fs_type, b"rootfs", 0, data)?;
        let root = self.sb(sb)?.root;
        let mnt = self.mounts.mounts.insert(Mount {
            sb,
            root,
            mountpoint: None,
            flags: 0,
            refs: 0,
            children: 0,
            source: b"rootfs".to_vec(),
        });
        self.sb_mut(sb)?.mounts += 1;
        self.root = Some(Path { mnt, dentry: root });
        Ok(())
    }

    /// `mount(source, target, fs_type, flags, data)`.
    pub fn mount(
        &mut self,
        client: ClientId,
        source: &[u8],
        target: &[u8],
        fs_type: &str,
        flags: u32,
        data: &[u8],
    ) -> Result<(), Errno> {
        if !self.client(client)?.cred.is_root() {
            return Err(Errno::EPERM);
        }
        let at = self.lookup_at(client, AT_FDCWD, target, true)?;
        if !is_dir(self.attr(self.path_key(at)?)?.mode) {
            return Err(Errno::ENOTDIR);
        }
        let sb = self.make_super(fs_type, source, flags, data)?;
        let root = self.sb(sb)?.root;
        self.mounts.mounts.insert(Mount {
            sb,
            root,
            mountpoint: Some(at),
            flags,
            refs: 0,
            children: 0,
            source: source.to_vec(),
        });
        self.sb_mut(sb)?.mounts += 1;
        self.dcache.dget(at.dentry);
        self.dcache.set_mounted(at.dentry, true);
        if let Some(parent) = self.mounts.get_mut(at.mnt) {
            parent.children += 1;
        }
        Ok(())
    }

    /// `umount2(target, flags)`: writes the file system's dirty pages back
    /// and lets the superblock go with its last mount.
    pub fn umount(&mut self, client: ClientId, target: &[u8], flags: u32) -> Result<(), Errno> {
        // MNT_FORCE, MNT_DETACH, MNT_EXPIRE, UMOUNT_NOFOLLOW; accepted, but
        // a busy mount stays busy (no lazy unmount).
        if flags & !0xf != 0 {
            return Err(Errno::EINVAL);
        }
        if !self.client(client)?.cred.is_root() {
            return Err(Errno::EPERM);
        }
        let p = self.lookup_at(client, AT_FDCWD, target, flags & 8 == 0)?;
        let m = self.mounts.get(p.mnt).ok_or(Errno::EINVAL)?.clone();
        if p.dentry != m.root {
            return Err(Errno::EINVAL);
        }
        let Some(at) = m.mountpoint else {
            return Err(Errno::EBUSY);
        };
        if m.refs > 0 || m.children > 0 {
            return Err(Errno::EBUSY);
        }
        self.sync_sb(m.sb)?;
        self.mounts.mounts.remove(p.mnt);
        self.dcache.set_mounted(at.dentry, false);
        self.path_put_dentry(at.dentry);
        if let Some(parent) = self.mounts.get_mut(at.mnt) {
            parent.children -= 1;
        }
        let sb = self.sb_mut(m.sb)?;
        sb.mounts -= 1;
        if sb.mounts == 0 {
            self.kill_sb(m.sb);
        }
        Ok(())
    }

    fn path_put_dentry(&mut self, d: crate::dcache::DentryId) {
        let released = self.dcache.dput(d);
        self.iput_all(released);
    }

    /// Frees a superblock with no mount left: its dentries, in-core
    /// inodes and cached pages.
    fn kill_sb(&mut self, sb: SbId) {
        // The inodes these dentries held are dropped with the rest below.
        let _released = self.dcache.shrink_sb(sb);
        if let Ok(root) = self.sb(sb).map(|s| s.root) {
            let _ = self.dcache.dput(root);
        }
        let keys: Vec<InodeKey> = self.inodes.keys().filter(|k| k.0 == sb).copied().collect();
        for key in keys {
            self.pcache.remove_space(key);
            self.inodes.remove(&key);
        }
        if let Some(mut s) = self.supers.remove(sb) {
            s.fs.put_super();
        }
    }

    /// `/proc/mounts` lines: source, mount point, type, `rw`/`ro`.
    pub fn mounts_text(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let root = self.root;
        for (id, m) in self.mounts.iter() {
            let Some(root) = root else { break };
            let point = self
                .d_path(
                    root,
                    Path {
                        mnt: id,
                        dentry: m.root,
                    },
                )
                .unwrap_or_default();
            let ty = self.sb(m.sb).map(|s| s.fs_type).unwrap_or("?");
            let ro = if m.flags & MS_RDONLY != 0 { "ro" } else { "rw" };
            out.extend_from_slice(&m.source);
            out.push(b' ');
            out.extend_from_slice(&point);
            out.extend_from_slice(alloc::format!(" {ty} {ro} 0 0\n").as_bytes());
        }
        out
    }

    /// Writes one batch out through the file system's `writepage`.
    pub(crate) fn write_batch(&mut self, batch: WritebackBatch<InodeKey>) -> Result<(), Errno> {
        let (sb, ino) = batch.key;
        let ticks = self.ticks();
        let mut result = Ok(());
        for index in batch.indices {
            let r = match (
                self.supers.get_mut(sb),
                self.pcache.writeback_page(batch.key, index),
            ) {
                (Some(s), Some(page)) => s.fs.writepage(ino, index, page),
                _ => Ok(()),
            };
            if r.is_err() {
                result = r;
            }
            self.pcache.end_writeback(batch.key, index, r, ticks);
        }
        result
    }

    /// `fsync(fd)`/`fdatasync(fd)`: the file's dirty pages written back
    /// (`EIO` if a write failed; `EINVAL` for a pipe).
    pub fn fsync(&mut self, client: ClientId, fd: i32) -> Result<(), Errno> {
        let entry = self.client(client)?.fds.get(fd)?;
        let FileKind::Inode { key, .. } = self.file(entry.file)?.kind else {
            return Err(Errno::EINVAL);
        };
        if let Some(batch) = self.pcache.writeback_inode(key) {
            self.write_batch(batch)?;
        }
        let attr = self.attr(key)?;
        let fs = self.fs(key.0)?;
        fs.write_inode(key.1, &attr)?;
        // A file system that buffers what writepage gave it (ext2's
        // buffer cache) writes it out and flushes the device, as ext2's
        // fsync does with the inode's buffers.
        fs.sync_fs()
    }

    /// `fdatasync(fd)`: here the same as [`Self::fsync`] (the inode is
    /// written through on every change, so there is no metadata to skip).
    pub fn fdatasync(&mut self, client: ClientId, fd: i32) -> Result<(), Errno> {
        self.fsync(client, fd)
    }

    fn sync_sb(&mut self, sb: SbId) -> Result<(), Errno> {
        let keys: Vec<InodeKey> = self.inodes.keys().filter(|k| k.0 == sb).copied().collect();
        let mut result = Ok(());
        for key in keys {
            if let Some(batch) = self.pcache.writeback_inode(key) {
                if let Err(e) = self.write_batch(batch) {
                    result = Err(e);
                }
            }
        }
        self.fs(sb)?.sync_fs()?;
        result
    }

    /// `sync()`: every file system's dirty data and metadata written.
    pub fn sync(&mut self) -> Result<(), Errno> {
        let sbs: Vec<SbId> = self.supers.iter().map(|(id, _)| id).collect();
        let mut result = Ok(());
        for sb in sbs {
            if let Err(e) = self.sync_sb(sb) {
                result = Err(e);
            }
        }
        result
    }

    /// The flusher's metadata pass: every file system's `sync_fs` (ext2
    /// writes its buffer cache and superblock out, if anything changed).
    /// Returns the first failure, after trying them all.
    pub fn sync_filesystems(&mut self) -> Result<(), Errno> {
        let sbs: Vec<SbId> = self.supers.iter().map(|(id, _)| id).collect();
        let mut result = Ok(());
        for sb in sbs {
            if let Err(e) = self.fs(sb).and_then(|fs| fs.sync_fs()) {
                result = Err(e);
            }
        }
        result
    }

    /// The periodic flush (the flusher's timer work): writes back inodes
    /// dirty for longer than `dirty_expire`, oldest first, then keeps
    /// writing while the cache is above the background threshold. Returns
    /// the inodes written.
    pub fn flush(&mut self) -> usize {
        let now = self.ticks();
        let mut written = 0;
        // A failed write leaves its pages dirty (dirtied now): stop there
        // rather than retry in a loop; the next flush tries again.
        while let Some(batch) = self.pcache.start_writeback(now, WbReason::Periodic) {
            written += 1;
            if self.write_batch(batch).is_err() {
                return written;
            }
        }
        written + self.writeback_while(DirtyState::Background)
    }

    /// Writes back oldest-first while the cache is at or above `level`
    /// (stopping at the first failed write); returns the inodes written.
    fn writeback_while(&mut self, level: DirtyState) -> usize {
        let now = self.ticks();
        let mut written = 0;
        while self.pcache.dirty_state() >= level {
            let Some(batch) = self.pcache.start_writeback(now, WbReason::All) else {
                break;
            };
            written += 1;
            if self.write_batch(batch).is_err() {
                break;
            }
        }
        written
    }

    /// Linux's `balance_dirty_pages`: a writer that took the cache above
    /// `dirty_ratio` writes back itself until it is below again.
    pub(crate) fn balance_dirty_pages(&mut self) {
        if self.pcache.dirty_state() == DirtyState::Throttle {
            self.writeback_while(DirtyState::Background);
        }
    }
}
