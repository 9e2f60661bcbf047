//! File data and attributes: `read` and `write` at a byte offset through
//! the block map (holes read as zeros; writes allocate), `truncate` both
//! ways (shrinking frees blocks, indirect ones included, and zeroes the
//! tail of the last kept block so a later extension reads zeros),
//! `setattr`. Sizes of 2 GiB and more switch the `large_file` feature on.

use crate::device::BlockDevice;
use crate::error::{Error, Result};
use crate::fs::Ext2;
use crate::inode::{Inode, S_IFMT};
use crate::superblock::RO_COMPAT_LARGE_FILE;

/// The attributes `setattr` can change; `None` leaves one alone.
#[derive(Debug, Clone, Copy, Default)]
pub struct SetAttr {
    /// New permission bits (`0o7777`); the file type is kept.
    pub mode: Option<u16>,
    /// New owner.
    pub uid: Option<u32>,
    /// New group.
    pub gid: Option<u32>,
    /// New access time.
    pub atime: Option<u32>,
    /// New modification time.
    pub mtime: Option<u32>,
}

impl<D: BlockDevice> Ext2<D> {
    /// Reads from inode `ino` at byte `offset` into `buf`; returns the
    /// bytes read (0 at or past the end). Does not update the access time.
    /// Errors: `IsDir`, `Invalid`, `Corrupted`, `Device`.
    pub fn read(&mut self, ino: u32, offset: u64, buf: &mut [u8]) -> Result<usize> {
        let inode = self.read_inode(ino)?;
        if inode.is_dir() {
            return Err(Error::IsDir);
        }
        if offset >= inode.size {
            return Ok(0);
        }
        let len = (inode.size - offset).min(buf.len() as u64) as usize;
        let bs = u64::from(self.sb.block_size);
        let mut done = 0usize;
        while done < len {
            let pos = offset + done as u64;
            let in_block = (pos % bs) as usize;
            let n = (bs as usize - in_block).min(len - done);
            let dst = &mut buf[done..done + n];
            match self.map_block(&inode, pos / bs)? {
                None => dst.fill(0),
                Some(blk) => {
                    let src = self.cache.read(&mut self.dev, blk)?;
                    dst.copy_from_slice(&src[in_block..in_block + n]);
                }
            }
            done += n;
        }
        Ok(len)
    }

    /// Writes `buf` to regular file `ino` at byte `offset`, allocating
    /// blocks. Returns the bytes written: all of them, or fewer if the
    /// volume filled up part way (then what was written is kept). Errors:
    /// `NoSpace` if nothing could be written, `FileTooBig`, `IsDir`,
    /// `Invalid` for a non-regular file, `ReadOnly`, `Corrupted`.
    pub fn write(&mut self, ino: u32, offset: u64, buf: &[u8]) -> Result<usize> {
        self.check_writable()?;
        let mut inode = self.read_inode(ino)?;
        if inode.is_dir() {
            return Err(Error::IsDir);
        }
        if !inode.is_reg() {
            return Err(Error::Invalid);
        }
        let end = offset
            .checked_add(buf.len() as u64)
            .ok_or(Error::FileTooBig)?;
        if end > self.max_file_size() {
            return Err(Error::FileTooBig);
        }
        let (done, failure) = self.write_blocks(&mut inode, offset, buf);
        if done > 0 {
            inode.size = inode.size.max(offset + done as u64);
            inode.mtime = self.now;
            inode.ctime = self.now;
            if inode.size >= 1 << 31 {
                self.sb.feature_ro_compat |= RO_COMPAT_LARGE_FILE;
            }
        }
        // Blocks may have been allocated even if nothing was copied.
        self.store_inode(&inode)?;
        match failure {
            Some(e) if done == 0 || e != Error::NoSpace => Err(e),
            _ => Ok(done),
        }
    }

    /// Copies `buf` in block by block; returns how far it got and why it
    /// stopped early, if it did.
    fn write_blocks(
        &mut self,
        inode: &mut Inode,
        offset: u64,
        buf: &[u8],
    ) -> (usize, Option<Error>) {
        let bs = u64::from(self.sb.block_size);
        let mut done = 0usize;
        while done < buf.len() {
            let pos = offset + done as u64;
            let in_block = (pos % bs) as usize;
            let n = (bs as usize - in_block).min(buf.len() - done);
            let blk = match self.map_alloc(inode, pos / bs) {
                Ok((blk, _)) => blk,
                Err(e) => return (done, Some(e)),
            };
            match self.cache.write(&mut self.dev, blk) {
                Ok(dst) => dst[in_block..in_block + n].copy_from_slice(&buf[done..done + n]),
                Err(e) => return (done, Some(e)),
            }
            done += n;
        }
        (done, None)
    }

    /// Allocates (zeroed) the blocks behind bytes `offset..offset + len`
    /// of regular file `ino` that are holes, without writing data or
    /// changing the size: a page cache calls it when a page is dirtied
    /// (Linux's `write_begin`), so that a full volume is `ENOSPC` at
    /// `write` time rather than data lost at writeback. On `NoSpace` the
    /// blocks it took past both the file's end and `offset` are freed
    /// again. Errors: `NoSpace`, `FileTooBig`, `IsDir`, `Invalid`,
    /// `ReadOnly`, `Corrupted`.
    pub fn reserve(&mut self, ino: u32, offset: u64, len: u64) -> Result<()> {
        self.check_writable()?;
        let mut inode = self.read_inode(ino)?;
        if inode.is_dir() {
            return Err(Error::IsDir);
        }
        if !inode.is_reg() {
            return Err(Error::Invalid);
        }
        if len == 0 {
            return Ok(());
        }
        let end = offset.checked_add(len).ok_or(Error::FileTooBig)?;
        if end > self.max_file_size() {
            return Err(Error::FileTooBig);
        }
        let bs = u64::from(self.sb.block_size);
        let mut changed = false;
        for lblk in offset / bs..end.div_ceil(bs) {
            match self.map_alloc(&mut inode, lblk) {
                Ok((_, new)) => changed |= new,
                Err(e) => {
                    let keep = inode.size.div_ceil(bs).max(offset / bs);
                    self.free_blocks_from(&mut inode, keep)?;
                    self.store_inode(&inode)?;
                    return Err(e);
                }
            }
        }
        if changed {
            self.store_inode(&inode)?;
        }
        Ok(())
    }

    /// Sets regular file `ino`'s size: shrinking frees the blocks past it,
    /// growing leaves a hole. Errors: `IsDir`, `Invalid` for a
    /// non-regular file, `FileTooBig`, `ReadOnly`, `Corrupted`.
    pub fn truncate(&mut self, ino: u32, size: u64) -> Result<()> {
        self.check_writable()?;
        let mut inode = self.read_inode(ino)?;
        if inode.is_dir() {
            return Err(Error::IsDir);
        }
        if !inode.is_reg() {
            return Err(Error::Invalid);
        }
        if size > self.max_file_size() {
            return Err(Error::FileTooBig);
        }
        let bs = u64::from(self.sb.block_size);
        if size < inode.size {
            self.free_blocks_from(&mut inode, size.div_ceil(bs))?;
            let tail = (size % bs) as usize;
            if tail != 0 {
                if let Some(blk) = self.map_block(&inode, size / bs)? {
                    self.cache.write(&mut self.dev, blk)?[tail..].fill(0);
                }
            }
        }
        inode.size = size;
        inode.mtime = self.now;
        inode.ctime = self.now;
        if size >= 1 << 31 {
            self.sb.feature_ro_compat |= RO_COMPAT_LARGE_FILE;
        }
        self.store_inode(&inode)
    }

    /// Changes mode bits, owner or times of `ino`; the ctime becomes now.
    /// Returns the inode as stored. Errors: `Invalid`, `ReadOnly`.
    pub fn setattr(&mut self, ino: u32, attr: SetAttr) -> Result<Inode> {
        self.check_writable()?;
        self.update_inode(ino, |inode| {
            if let Some(mode) = attr.mode {
                inode.mode = (inode.mode & S_IFMT) | (mode & 0o7777);
            }
            if let Some(uid) = attr.uid {
                inode.uid = uid;
            }
            if let Some(gid) = attr.gid {
                inode.gid = gid;
            }
            if let Some(t) = attr.atime {
                inode.atime = t;
            }
            if let Some(t) = attr.mtime {
                inode.mtime = t;
            }
            Ok(inode.clone())
        })
        .map(|mut inode| {
            inode.ctime = self.now;
            inode
        })
    }
}
