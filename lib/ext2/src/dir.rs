//! Directories: a directory's data blocks hold variable-length records
//! (`struct ext2_dir_entry_2`: `inode`, `rec_len`, `name_len`,
//! `file_type`, the name, padded to 4 bytes) that chain through each block
//! by `rec_len`, the last one reaching the block's end. A record with inode
//! 0 is free space. Every record is checked before use (`rec_len` ≥ 8, a
//! multiple of 4, inside the block, long enough for its name; the inode in
//! range) and a bad one is `Corrupted`. An `EXT2_INDEX_FL` directory's hash
//! tree hides in records that look empty to this linear reader, so reading
//! needs nothing more; any change clears the flag (as Linux's ext2 before
//! it knew the index did), leaving a valid linear directory.

use crate::device::BlockDevice;
use crate::error::{Error, Result};
use crate::fs::Ext2;
use crate::inode::{FileType, Inode, EXT2_INDEX_FL};
use crate::raw::{get16, get32, get8, put16, put32, put8};
use crate::superblock::INCOMPAT_FILETYPE;
use core::ops::ControlFlow;

/// Bytes a record with a name of `len` bytes needs (`EXT2_DIR_REC_LEN`).
pub(crate) fn rec_size(len: usize) -> usize {
    (8 + len + 3) & !3
}

/// Writes a record at `off` of a directory block.
fn put_record(block: &mut [u8], off: usize, ino: u32, rec_len: usize, name: &[u8], ft: u8) {
    put32(block, off, ino);
    put16(block, off + 4, rec_len as u16);
    put8(block, off + 6, name.len() as u8);
    put8(block, off + 7, ft);
    if let Some(dst) = block.get_mut(off + 8..off + 8 + name.len()) {
        dst.copy_from_slice(name);
    }
}

/// One checked record.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Record {
    pub ino: u32,
    pub rec_len: usize,
    pub name_len: usize,
    pub file_type: u8,
}

/// What record checks need to know of the volume.
#[derive(Clone, Copy)]
struct RecordCheck {
    filetype: bool,
    inodes_count: u32,
}

impl RecordCheck {
    /// Parses and checks the record at `off` of a directory block.
    fn parse(self, block: &[u8], off: usize) -> Result<Record> {
        let bad = |why| Err(Error::Corrupted(why));
        if off + 8 > block.len() {
            return bad("directory record header past the block");
        }
        let ino = get32(block, off);
        let rec_len = usize::from(get16(block, off + 4));
        let name_len = if self.filetype {
            usize::from(get8(block, off + 6))
        } else {
            usize::from(get16(block, off + 6))
        };
        if rec_len < 8 || rec_len % 4 != 0 || off + rec_len > block.len() {
            return bad("directory record length 0, unaligned or past the block");
        }
        if ino != 0 && (rec_size(name_len) > rec_len || name_len == 0) {
            return bad("directory record name longer than the record");
        }
        if ino > self.inodes_count {
            return bad("directory entry inode out of range");
        }
        let file_type = if self.filetype {
            get8(block, off + 7)
        } else {
            0
        };
        Ok(Record {
            ino,
            rec_len,
            name_len,
            file_type,
        })
    }
}

/// A directory entry as `readdir` hands it out.
#[derive(Debug, Clone, Copy)]
pub struct DirEntry<'a> {
    /// The inode it names.
    pub ino: u32,
    /// The type recorded in the entry (`Unknown` without `filetype`).
    pub file_type: FileType,
    /// The name (no NUL).
    pub name: &'a [u8],
    /// The cookie to pass to `readdir` to continue after this entry.
    pub next: u64,
}

/// Where a name was found.
pub(crate) struct Found {
    pub ino: u32,
    pub blk: u32,
    pub offset: usize,
    pub rec_len: usize,
    pub prev: Option<usize>,
}

impl<D: BlockDevice> Ext2<D> {
    fn has_filetype(&self) -> bool {
        self.sb.feature_incompat & INCOMPAT_FILETYPE != 0
    }

    /// Number of blocks of directory `dir`. Errors: `Corrupted` if its size
    /// is not whole blocks.
    pub(crate) fn dir_blocks(&self, dir: &Inode) -> Result<u64> {
        let bs = u64::from(self.sb.block_size);
        if !dir.size.is_multiple_of(bs) {
            return Err(Error::Corrupted("directory size not whole blocks"));
        }
        Ok(dir.size / bs)
    }

    /// The physical block of directory block `lblk`. Errors: `Corrupted`
    /// for a hole.
    fn dir_block(&mut self, dir: &Inode, lblk: u64) -> Result<u32> {
        self.map_block(dir, lblk)?
            .ok_or(Error::Corrupted("hole in a directory"))
    }

    /// Walks the records of directory block `blk` in place, handing each
    /// (offset, record, name — empty for a free record) to `visit` until
    /// it breaks; returns what it broke with. Errors: `Corrupted` for a
    /// bad record, which stops the walk.
    fn scan_block<T>(
        &mut self,
        blk: u32,
        mut visit: impl FnMut(usize, Record, &[u8]) -> ControlFlow<T>,
    ) -> Result<Option<T>> {
        let check = RecordCheck {
            filetype: self.has_filetype(),
            inodes_count: self.sb.inodes_count,
        };
        let block = self.cache.read(&mut self.dev, blk)?;
        let mut off = 0usize;
        while off < block.len() {
            let rec = check.parse(block, off)?;
            let name = match rec.ino {
                0 => &[][..],
                _ => block.get(off + 8..off + 8 + rec.name_len).unwrap_or(&[]),
            };
            if let ControlFlow::Break(out) = visit(off, rec, name) {
                return Ok(Some(out));
            }
            off += rec.rec_len;
        }
        Ok(None)
    }

    /// Directory inode `ino`. Errors: `NotDir`, or as `read_inode`.
    pub(crate) fn dir_inode(&mut self, ino: u32) -> Result<Inode> {
        let dir = self.read_inode(ino)?;
        if !dir.is_dir() {
            return Err(Error::NotDir);
        }
        Ok(dir)
    }

    /// Finds `name` in `dir`.
    pub(crate) fn find_entry(&mut self, dir: &Inode, name: &[u8]) -> Result<Option<Found>> {
        for lblk in 0..self.dir_blocks(dir)? {
            let blk = self.dir_block(dir, lblk)?;
            let mut prev = None;
            let hit = self.scan_block(blk, |off, rec, here| {
                if rec.ino != 0 && here == name {
                    return ControlFlow::Break((rec, off, prev));
                }
                prev = Some(off);
                ControlFlow::Continue(())
            })?;
            if let Some((rec, offset, prev)) = hit {
                return Ok(Some(Found {
                    ino: rec.ino,
                    blk,
                    offset,
                    rec_len: rec.rec_len,
                    prev,
                }));
            }
        }
        Ok(None)
    }

    /// `lookup`: the inode number `name` names in directory `dir`.
    /// Errors: `NotFound`, `NotDir`, `NameTooLong`, `Corrupted`.
    pub fn lookup(&mut self, dir: u32, name: &[u8]) -> Result<u32> {
        if name.len() > 255 {
            return Err(Error::NameTooLong);
        }
        let dir = self.dir_inode(dir)?;
        match self.find_entry(&dir, name)? {
            Some(found) => Ok(found.ino),
            None => Err(Error::NotFound),
        }
    }

    /// `readdir`: hands the entries of `dir` from cookie `pos` (0 = the
    /// start) to `emit` until it returns `false` or the directory ends.
    /// Returns the cookie to continue from (the directory's size at the
    /// end). A cookie inside a record (the directory changed) resumes at
    /// the next record. Errors: `NotDir`, `Corrupted`.
    pub fn readdir(
        &mut self,
        dir: u32,
        pos: u64,
        mut emit: impl FnMut(DirEntry<'_>) -> bool,
    ) -> Result<u64> {
        let dir = self.dir_inode(dir)?;
        let bs = u64::from(self.sb.block_size);
        for lblk in pos / bs..self.dir_blocks(&dir)? {
            let blk = self.dir_block(&dir, lblk)?;
            let stopped = self.scan_block(blk, |off, rec, name| {
                let here = lblk * bs + off as u64;
                if rec.ino != 0 && here >= pos {
                    let next = here + rec.rec_len as u64;
                    let file_type = FileType::from_dirent(rec.file_type);
                    if !emit(DirEntry {
                        ino: rec.ino,
                        file_type,
                        name,
                        next,
                    }) {
                        return ControlFlow::Break(here);
                    }
                }
                ControlFlow::Continue(())
            })?;
            if let Some(here) = stopped {
                return Ok(here);
            }
        }
        Ok(dir.size)
    }

    /// The `file_type` byte to record for `ft` on this volume.
    fn ft_byte(&self, ft: FileType) -> u8 {
        if self.has_filetype() {
            ft.to_dirent()
        } else {
            0
        }
    }

    /// Marks directory `dir` changed: the index flag goes, times move.
    fn touch_dir(&mut self, dir: u32) -> Result<()> {
        let now = self.now;
        self.update_inode(dir, |d| {
            d.flags &= !EXT2_INDEX_FL;
            d.mtime = now;
            Ok(())
        })
    }

    /// Adds entry `name` → `ino` to directory `dir` (which must not hold
    /// `name`), growing it by a block if no record has room. Errors:
    /// `NoSpace`, `FileTooBig`, `Corrupted`.
    pub(crate) fn add_entry(
        &mut self,
        dir: u32,
        name: &[u8],
        ino: u32,
        ft: FileType,
    ) -> Result<()> {
        let need = rec_size(name.len());
        let ftb = self.ft_byte(ft);
        let mut inode = self.dir_inode(dir)?;
        let nblocks = self.dir_blocks(&inode)?;
        for lblk in 0..nblocks {
            let blk = self.dir_block(&inode, lblk)?;
            let room = self.scan_block(blk, |off, rec, _| {
                let used = if rec.ino == 0 {
                    0
                } else {
                    rec_size(rec.name_len)
                };
                if rec.rec_len - used >= need {
                    return ControlFlow::Break((off, rec.rec_len, used));
                }
                ControlFlow::Continue(())
            })?;
            if let Some((off, rec_len, used)) = room {
                let buf = self.cache.write(&mut self.dev, blk)?;
                if used == 0 {
                    put_record(buf, off, ino, rec_len, name, ftb);
                } else {
                    put16(buf, off + 4, used as u16);
                    put_record(buf, off + used, ino, rec_len - used, name, ftb);
                }
                return self.touch_dir(dir);
            }
        }
        if inode.size + u64::from(self.sb.block_size) > u64::from(u32::MAX) {
            // A directory's size is i_size alone (32 bits).
            return Err(Error::FileTooBig);
        }
        let (blk, _) = self.map_alloc(&mut inode, nblocks)?;
        inode.size += u64::from(self.sb.block_size);
        self.store_inode(&inode)?;
        let bs = self.sb.block_size as usize;
        let buf = self.cache.write(&mut self.dev, blk)?;
        put_record(buf, 0, ino, bs, name, ftb);
        self.touch_dir(dir)
    }

    /// Removes entry `name` from `dir` (merging its space into the record
    /// before it), returning where it was. Errors: `NotFound`, `Corrupted`.
    pub(crate) fn remove_entry(&mut self, dir: u32, name: &[u8]) -> Result<Found> {
        let inode = self.dir_inode(dir)?;
        let found = self.find_entry(&inode, name)?.ok_or(Error::NotFound)?;
        let buf = self.cache.write(&mut self.dev, found.blk)?;
        match found.prev {
            Some(prev) => {
                let merged = usize::from(get16(buf, prev + 4)) + found.rec_len;
                put16(buf, prev + 4, merged as u16);
            }
            None => put32(buf, found.offset, 0),
        }
        self.touch_dir(dir)?;
        Ok(found)
    }

    /// Points the existing entry `name` of `dir` at `ino` (rename over an
    /// existing name, or `..` of a moved directory).
    pub(crate) fn retarget_entry(
        &mut self,
        dir: u32,
        name: &[u8],
        ino: u32,
        ft: FileType,
    ) -> Result<()> {
        let inode = self.dir_inode(dir)?;
        let found = self.find_entry(&inode, name)?.ok_or(Error::NotFound)?;
        let ftb = self.ft_byte(ft);
        let buf = self.cache.write(&mut self.dev, found.blk)?;
        put32(buf, found.offset, ino);
        put8(buf, found.offset + 7, ftb);
        self.touch_dir(dir)
    }

    /// Whether `dir` holds nothing but `.` and `..`.
    pub(crate) fn dir_is_empty(&mut self, dir: &Inode) -> Result<bool> {
        for lblk in 0..self.dir_blocks(dir)? {
            let blk = self.dir_block(dir, lblk)?;
            let other = self.scan_block(blk, |_, rec, name| {
                if rec.ino != 0 && name != b"." && name != b".." {
                    return ControlFlow::Break(());
                }
                ControlFlow::Continue(())
            })?;
            if other.is_some() {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Writes the first block of a new directory: `.` and `..`.
    pub(crate) fn init_dir_block(&mut self, blk: u32, ino: u32, parent: u32) -> Result<()> {
        let bs = self.sb.block_size as usize;
        let ftb = self.ft_byte(FileType::Directory);
        let buf = self.cache.zeroed(&mut self.dev, blk)?;
        put_record(buf, 0, ino, 12, b".", ftb);
        put_record(buf, 12, parent, bs - 12, b"..", ftb);
        Ok(())
    }
}
