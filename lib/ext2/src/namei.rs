//! Name operations on directories (LKD ch. 13's `inode_operations`):
//! `create`, `mkdir`, `symlink` (fast, in `i_block`, below 60 bytes; else
//! in a block), `link`, `unlink`, `rmdir`, `rename` (across directories,
//! replacing), `readlink`, and the release of an inode whose last link
//! goes (its blocks, its extended-attribute block's reference, its bitmap
//! bit; `i_dtime` set). Each checks everything first and changes the
//! volume only once the checks pass; a new inode whose directory entry
//! cannot be added (a full volume) is released again.

use crate::device::BlockDevice;
use crate::error::{Error, Result};
use crate::fs::Ext2;
use crate::inode::{
    Inode, FAST_SYMLINK_MAX, ROOT_INO, S_IFBLK, S_IFCHR, S_IFDIR, S_IFIFO, S_IFLNK, S_IFMT,
    S_IFREG, S_IFSOCK,
};
use crate::raw::{get32, put32};
use alloc::vec::Vec;

/// `EXT2_LINK_MAX`: the most links an inode may have.
pub const LINK_MAX: u16 = 32000;
/// `EXT2_XATTR_MAGIC`, the first word of an extended-attribute block.
const XATTR_MAGIC: u32 = 0xEA02_0000;
/// How many `..` steps `rename` follows before it calls the tree cyclic.
const MAX_DEPTH: u32 = 4096;

/// Checks a name for a new entry. Errors: `Invalid` (empty, `/` or NUL),
/// `Exists` (`.` or `..`), `NameTooLong`.
pub(crate) fn check_name(name: &[u8]) -> Result<()> {
    if name.is_empty() || name.contains(&b'/') || name.contains(&0) {
        return Err(Error::Invalid);
    }
    if name == b"." || name == b".." {
        return Err(Error::Exists);
    }
    if name.len() > 255 {
        return Err(Error::NameTooLong);
    }
    Ok(())
}

impl<D: BlockDevice> Ext2<D> {
    /// Checks that `name` may be added to directory `dir`.
    fn check_new_entry(&mut self, dir: u32, name: &[u8]) -> Result<Inode> {
        self.check_writable()?;
        check_name(name)?;
        let parent = self.dir_inode(dir)?;
        if self.find_entry(&parent, name)?.is_some() {
            return Err(Error::Exists);
        }
        Ok(parent)
    }

    /// Allocates and stores a new inode, then links it into `dir`; on a
    /// failure to link, releases it again.
    fn new_child(
        &mut self,
        dir: u32,
        name: &[u8],
        mut inode: Inode,
        fill: impl FnOnce(&mut Self, &mut Inode) -> Result<()>,
    ) -> Result<Inode> {
        let is_dir = inode.is_dir();
        let ino = self.alloc_inode(dir, is_dir)?;
        inode.ino = ino;
        inode.generation = ino.wrapping_mul(0x9E37_79B9) ^ self.now;
        let result = fill(self, &mut inode)
            .and_then(|()| self.store_inode(&inode))
            .and_then(|()| self.add_entry(dir, name, ino, inode.file_type()));
        match result {
            Ok(()) => Ok(inode),
            Err(e) => {
                self.store_inode(&inode)?;
                self.release_inode(ino)?;
                Err(e)
            }
        }
    }

    /// `create`: a new empty regular file `name` in `dir` with permission
    /// bits `mode` and owner `uid`/`gid`. Errors: `Exists`, `NotDir`,
    /// `NoSpace`, `NameTooLong`, `Invalid`, `ReadOnly`, `Corrupted`.
    pub fn create(
        &mut self,
        dir: u32,
        name: &[u8],
        mode: u16,
        uid: u32,
        gid: u32,
    ) -> Result<Inode> {
        self.check_new_entry(dir, name)?;
        let mut inode = Inode::new(
            0,
            self.sb.inode_size as usize,
            S_IFREG | (mode & 0o7777),
            self.now,
        );
        (inode.uid, inode.gid, inode.links_count) = (uid, gid, 1);
        self.new_child(dir, name, inode, |_, _| Ok(()))
    }

    /// `mknod`: a device node, FIFO or socket `name` in `dir`; `mode`
    /// holds the type (`S_IFCHR`, `S_IFBLK`, `S_IFIFO`, `S_IFSOCK`) and
    /// the permission bits, `rdev` the device number (Linux's `dev_t`:
    /// major in bits 8–19, minor in 0–7 and 20–31). Errors: `Invalid` for
    /// another type, else as [`Ext2::create`].
    pub fn mknod(
        &mut self,
        dir: u32,
        name: &[u8],
        mode: u16,
        rdev: u32,
        uid: u32,
        gid: u32,
    ) -> Result<Inode> {
        if !matches!(mode & S_IFMT, S_IFCHR | S_IFBLK | S_IFIFO | S_IFSOCK) {
            return Err(Error::Invalid);
        }
        self.check_new_entry(dir, name)?;
        let mut inode = Inode::new(
            0,
            self.sb.inode_size as usize,
            mode & (S_IFMT | 0o7777),
            self.now,
        );
        (inode.uid, inode.gid, inode.links_count) = (uid, gid, 1);
        inode.set_rdev(rdev);
        self.new_child(dir, name, inode, |_, _| Ok(()))
    }

    /// `mkdir`: a new directory holding `.` and `..`. Errors: as
    /// [`Ext2::create`], plus `TooManyLinks` for a parent at 32,000.
    pub fn mkdir(&mut self, dir: u32, name: &[u8], mode: u16, uid: u32, gid: u32) -> Result<Inode> {
        let parent = self.check_new_entry(dir, name)?;
        if parent.links_count >= LINK_MAX {
            return Err(Error::TooManyLinks);
        }
        if self.sb.free_blocks_count == 0 {
            return Err(Error::NoSpace);
        }
        let mut inode = Inode::new(
            0,
            self.sb.inode_size as usize,
            S_IFDIR | (mode & 0o7777),
            self.now,
        );
        (inode.uid, inode.gid, inode.links_count) = (uid, gid, 2);
        let inode = self.new_child(dir, name, inode, |fs, inode| {
            let (blk, _) = fs.map_alloc(inode, 0)?;
            fs.init_dir_block(blk, inode.ino, dir)?;
            inode.size = u64::from(fs.sb.block_size);
            Ok(())
        })?;
        self.update_inode(dir, |p| {
            p.links_count += 1;
            Ok(())
        })?;
        Ok(inode)
    }

    /// `symlink`: a link `name` in `dir` to `target`. Errors: `Invalid` for
    /// an empty target, `NameTooLong` for one of a block or more, else as
    /// [`Ext2::create`].
    pub fn symlink(
        &mut self,
        dir: u32,
        name: &[u8],
        target: &[u8],
        uid: u32,
        gid: u32,
    ) -> Result<Inode> {
        if target.is_empty() {
            return Err(Error::Invalid);
        }
        if target.len() >= self.sb.block_size as usize {
            return Err(Error::NameTooLong);
        }
        self.check_new_entry(dir, name)?;
        let mut inode = Inode::new(0, self.sb.inode_size as usize, S_IFLNK | 0o777, self.now);
        (inode.uid, inode.gid, inode.links_count) = (uid, gid, 1);
        inode.size = target.len() as u64;
        self.new_child(dir, name, inode, |fs, inode| {
            if target.len() < FAST_SYMLINK_MAX {
                let mut bytes = [0u8; FAST_SYMLINK_MAX];
                bytes[..target.len()].copy_from_slice(target);
                for (i, word) in inode.block.iter_mut().enumerate() {
                    *word = get32(&bytes, i * 4);
                }
                return Ok(());
            }
            let (blk, _) = fs.map_alloc(inode, 0)?;
            fs.cache.write(&mut fs.dev, blk)?[..target.len()].copy_from_slice(target);
            Ok(())
        })
    }

    /// Whether a symlink keeps its target in `i_block` (no data block
    /// beyond an extended-attribute block).
    fn is_fast_symlink(&self, inode: &Inode) -> bool {
        let ea = if inode.file_acl != 0 {
            self.sb.block_size / 512
        } else {
            0
        };
        inode.is_symlink() && inode.blocks == ea && inode.size < FAST_SYMLINK_MAX as u64
    }

    /// `readlink`: the target of symlink `ino`. Errors: `Invalid` if not a
    /// symlink, `Corrupted` for an impossible size or a missing block.
    pub fn readlink(&mut self, ino: u32) -> Result<Vec<u8>> {
        let inode = self.read_inode(ino)?;
        if !inode.is_symlink() {
            return Err(Error::Invalid);
        }
        let len = inode.size as usize;
        if inode.size >= u64::from(self.sb.block_size) {
            return Err(Error::Corrupted("symlink longer than a block"));
        }
        if self.is_fast_symlink(&inode) {
            let mut bytes = [0u8; FAST_SYMLINK_MAX];
            for (i, word) in inode.block.iter().enumerate() {
                put32(&mut bytes, i * 4, *word);
            }
            return Ok(bytes[..len].to_vec());
        }
        let blk = self
            .map_block(&inode, 0)?
            .ok_or(Error::Corrupted("symlink without a block"))?;
        Ok(self.cache.read(&mut self.dev, blk)?[..len].to_vec())
    }

    /// `link`: a new name `name` in `dir` for inode `ino`. Errors:
    /// `IsDir` for a directory (Linux says `EPERM`), `TooManyLinks`, else
    /// as [`Ext2::create`].
    pub fn link(&mut self, ino: u32, dir: u32, name: &[u8]) -> Result<()> {
        self.check_new_entry(dir, name)?;
        let inode = self.read_inode(ino)?;
        if inode.is_dir() {
            return Err(Error::IsDir);
        }
        if inode.links_count >= LINK_MAX {
            return Err(Error::TooManyLinks);
        }
        self.add_entry(dir, name, ino, inode.file_type())?;
        self.update_inode(ino, |i| {
            i.links_count += 1;
            Ok(())
        })
    }

    /// `unlink`: removes the name of a non-directory; the inode is
    /// released when its last link goes (this crate keeps no open-file
    /// count: a VFS that keeps unlinked files open defers the call).
    /// Errors: `NotFound`, `IsDir`, `NotDir`, `ReadOnly`, `Corrupted`.
    pub fn unlink(&mut self, dir: u32, name: &[u8]) -> Result<()> {
        self.check_writable()?;
        let ino = self.lookup(dir, name)?;
        let inode = self.live_child(ino)?;
        if inode.is_dir() {
            return Err(Error::IsDir);
        }
        self.remove_entry(dir, name)?;
        self.drop_link(ino)
    }

    /// `rmdir`: removes an empty directory. Errors: `NotEmpty`, `NotDir`,
    /// `NotFound`, `Invalid` for `.`, `NotEmpty` for `..`, `ReadOnly`.
    pub fn rmdir(&mut self, dir: u32, name: &[u8]) -> Result<()> {
        self.check_writable()?;
        if name == b"." {
            return Err(Error::Invalid);
        }
        if name == b".." {
            return Err(Error::NotEmpty);
        }
        let ino = self.lookup(dir, name)?;
        let target = self.live_child(ino)?;
        if !target.is_dir() {
            return Err(Error::NotDir);
        }
        if !self.dir_is_empty(&target)? {
            return Err(Error::NotEmpty);
        }
        self.remove_entry(dir, name)?;
        self.release_or_defer(ino)?;
        self.update_inode(dir, |p| {
            p.links_count = p.links_count.saturating_sub(1);
            Ok(())
        })
    }

    /// An inode a directory entry names; a free one there is corruption.
    pub(crate) fn live_child(&mut self, ino: u32) -> Result<Inode> {
        self.read_inode(ino).map_err(|e| match e {
            Error::Invalid => Error::Corrupted("directory entry names a free inode"),
            other => other,
        })
    }

    /// Drops one link of a non-directory, releasing it at zero.
    pub(crate) fn drop_link(&mut self, ino: u32) -> Result<()> {
        let left = self.update_inode(ino, |i| {
            i.links_count = i.links_count.saturating_sub(1);
            Ok(i.links_count)
        })?;
        if left == 0 {
            self.release_or_defer(ino)?;
        }
        Ok(())
    }

    /// An inode whose last link went: freed now, or kept as an orphan
    /// (links 0, blocks kept) when releases are deferred.
    pub(crate) fn release_or_defer(&mut self, ino: u32) -> Result<()> {
        if !self.defer_release {
            return self.release_inode(ino);
        }
        let mut inode = self.load_inode(ino)?;
        inode.links_count = 0;
        inode.ctime = self.now;
        self.store_inode(&inode)?;
        self.orphans.insert(ino);
        Ok(())
    }

    /// Keeps inodes that lose their last link until
    /// [`Ext2::release_orphan`] (`true`), as a VFS must while files of
    /// them are open; `false` (the default) frees them at once.
    pub fn set_defer_release(&mut self, defer: bool) {
        self.defer_release = defer;
    }

    /// Frees orphan `ino` (its last user went). Whether it was one: an
    /// inode that is not an orphan is left alone.
    pub fn release_orphan(&mut self, ino: u32) -> Result<bool> {
        if !self.orphans.contains(&ino) {
            return Ok(false);
        }
        self.check_writable()?;
        self.release_inode(ino)?;
        self.orphans.remove(&ino);
        Ok(true)
    }

    /// Frees every orphan (at unmount: no user is left).
    pub(crate) fn release_orphans(&mut self) -> Result<()> {
        while let Some(&ino) = self.orphans.first() {
            if self.read_only {
                self.orphans.clear();
                break;
            }
            self.release_orphan(ino)?;
        }
        Ok(())
    }

    /// The orphans: inodes without links kept for their users.
    pub fn orphan_count(&self) -> usize {
        self.orphans.len()
    }

    /// Frees inode `ino` and everything it holds: data and indirect blocks
    /// (not for fast symlinks and device nodes, whose `i_block` is not
    /// block numbers), its reference to an extended-attribute block, its
    /// bitmap bit. Sets `i_dtime`, as e2fsck expects of a deleted inode.
    pub(crate) fn release_inode(&mut self, ino: u32) -> Result<()> {
        let mut inode = self.load_inode(ino)?;
        let kind = inode.mode & S_IFMT;
        let has_blocks =
            matches!(kind, S_IFREG | S_IFDIR) || (kind == S_IFLNK && !self.is_fast_symlink(&inode));
        if has_blocks {
            self.free_blocks_from(&mut inode, 0)?;
        }
        if inode.file_acl != 0 {
            self.put_xattr_block(inode.file_acl)?;
            inode.file_acl = 0;
        }
        inode.block = [0; crate::inode::N_BLOCKS];
        (inode.links_count, inode.size, inode.blocks, inode.dtime) = (0, 0, 0, self.now);
        self.store_inode(&inode)?;
        self.free_inode_bit(ino, kind == S_IFDIR)
    }

    /// Drops one reference to a shared extended-attribute block, freeing
    /// it with the last (`h_refcount` is the second word of its header).
    fn put_xattr_block(&mut self, blk: u32) -> Result<()> {
        let blk = self.check_block(blk)?;
        let buf = self.cache.read(&mut self.dev, blk)?;
        if get32(buf, 0) != XATTR_MAGIC {
            return Err(Error::Corrupted("bad extended-attribute block magic"));
        }
        let refs = get32(buf, 4);
        if refs > 1 {
            put32(self.cache.write(&mut self.dev, blk)?, 4, refs - 1);
            Ok(())
        } else {
            self.free_block(blk)
        }
    }

    /// Whether directory `ancestor` is `dir` or above it (following `..`).
    pub(crate) fn is_ancestor(&mut self, ancestor: u32, mut dir: u32) -> Result<bool> {
        for _ in 0..MAX_DEPTH {
            if dir == ancestor {
                return Ok(true);
            }
            if dir == ROOT_INO {
                return Ok(false);
            }
            dir = self.lookup(dir, b"..")?;
        }
        Err(Error::Corrupted(
            "directory tree deeper than 4096 or cyclic",
        ))
    }
}
