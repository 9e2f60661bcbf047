//! The block map: logical block → physical block through `i_block[]`'s 12
//! direct pointers and its single, double and triple indirect blocks (each
//! an array of `block_size / 4` little-endian block numbers). The walk is
//! at most four steps deep by construction, so a cyclic indirect block
//! cannot loop it; every pointer is checked against the volume before it
//! is followed. Also here: allocation along a path (all-or-nothing: the
//! free count is checked for the whole path first) and truncation, which
//! frees data and indirect blocks past a point.

use crate::device::BlockDevice;
use crate::error::{Error, Result};
use crate::fs::Ext2;
use crate::inode::{Inode, IND_BLOCK};
use crate::raw::{get32, put32};
use alloc::vec::Vec;

/// Where a logical block is: the `i_block` slot and the index in each
/// indirect level below it.
struct Path {
    slot: usize,
    indices: [u32; 3],
    depth: usize,
}

impl<D: BlockDevice> Ext2<D> {
    /// Logical blocks covered by one pointer at indirect `level` (0 = a
    /// data block).
    fn span(&self, level: u32) -> u64 {
        u64::from(self.sb.addr_per_block()).pow(level)
    }

    /// The largest file size this volume can map, in bytes, bounded also
    /// by `i_blocks` (32 bits of 512-byte sectors).
    pub fn max_file_size(&self) -> u64 {
        let p = u64::from(self.sb.addr_per_block());
        let blocks = 12 + p + p * p + p * p * p;
        let mapped = blocks * u64::from(self.sb.block_size);
        // i_blocks counts 512-byte sectors in 32 bits; a file near this
        // bound whose indirect blocks overflow it gets FileTooBig then.
        mapped.min(u64::from(u32::MAX) * 512)
    }

    fn path(&self, lblk: u64) -> Result<Path> {
        let p = u64::from(self.sb.addr_per_block());
        let mut rest = lblk;
        if rest < IND_BLOCK as u64 {
            return Ok(Path {
                slot: rest as usize,
                indices: [0; 3],
                depth: 0,
            });
        }
        rest -= IND_BLOCK as u64;
        for depth in 1..=3usize {
            let span = self.span(depth as u32);
            if rest < span {
                let mut indices = [0u32; 3];
                for (level, index) in indices.iter_mut().enumerate().take(depth) {
                    let below = self.span((depth - 1 - level) as u32);
                    *index = ((rest / below) % p) as u32;
                }
                return Ok(Path {
                    slot: IND_BLOCK + depth - 1,
                    indices,
                    depth,
                });
            }
            rest -= span;
        }
        Err(Error::FileTooBig)
    }

    /// Checks a pointer read from disk.
    pub(crate) fn check_block(&self, blk: u32) -> Result<u32> {
        if blk <= self.sb.first_data_block || blk >= self.sb.blocks_count {
            return Err(Error::Corrupted("block pointer outside the volume"));
        }
        Ok(blk)
    }

    fn read_ptr(&mut self, blk: u32, index: u32) -> Result<u32> {
        let buf = self.cache.read(&mut self.dev, blk)?;
        Ok(get32(buf, index as usize * 4))
    }

    /// The physical block of `inode`'s logical block `lblk`, or `None` for
    /// a hole. Errors: `Corrupted` for a pointer outside the volume,
    /// `FileTooBig` past the triple indirect range.
    pub(crate) fn map_block(&mut self, inode: &Inode, lblk: u64) -> Result<Option<u32>> {
        let path = self.path(lblk)?;
        let mut blk = inode.block[path.slot];
        for &index in &path.indices[..path.depth] {
            if blk == 0 {
                return Ok(None);
            }
            let table = self.check_block(blk)?;
            blk = self.read_ptr(table, index)?;
        }
        if blk == 0 {
            return Ok(None);
        }
        Ok(Some(self.check_block(blk)?))
    }

    /// `bmap`: the physical block behind logical block `lblk` of inode
    /// `ino`, or `None` for a hole — for a page cache that does its own
    /// I/O. Errors: as [`Ext2::read_inode`], plus `Corrupted`.
    pub fn bmap(&mut self, ino: u32, lblk: u64) -> Result<Option<u32>> {
        let inode = self.read_inode(ino)?;
        self.map_block(&inode, lblk)
    }

    /// Where to look for a new block of `inode` at `lblk`: after the block
    /// before it, else at the start of the inode's group.
    fn goal(&mut self, inode: &Inode, lblk: u64) -> u32 {
        if lblk > 0 {
            if let Ok(Some(prev)) = self.map_block(inode, lblk - 1) {
                return prev.saturating_add(1);
            }
        }
        self.sb
            .group_first_block(self.inode_group(inode.ino).min(self.sb.group_count() - 1))
    }

    fn add_sectors(&self, inode: &mut Inode, blocks: u32) -> Result<()> {
        let add = blocks * (self.sb.block_size / 512);
        inode.blocks = inode.blocks.checked_add(add).ok_or(Error::FileTooBig)?;
        Ok(())
    }

    /// The physical block of `lblk`, allocating it (zeroed) and any missing
    /// indirect blocks. Returns the block and whether it is new. Changes
    /// `inode` in memory only. Errors: `NoSpace` before anything is
    /// allocated if the path does not fit, `FileTooBig`, `Corrupted`.
    pub(crate) fn map_alloc(&mut self, inode: &mut Inode, lblk: u64) -> Result<(u32, bool)> {
        let path = self.path(lblk)?;
        // Count the blocks missing along the path first.
        let mut missing = 0u32;
        let mut blk = inode.block[path.slot];
        for level in 0..=path.depth {
            if blk == 0 {
                missing = (path.depth - level + 1) as u32;
                break;
            }
            let here = self.check_block(blk)?;
            if level < path.depth {
                blk = self.read_ptr(here, path.indices[level])?;
            }
        }
        if missing == 0 {
            return Ok((self.check_block(blk)?, false));
        }
        if self.sb.free_blocks_count < missing {
            return Err(Error::NoSpace);
        }
        let mut goal = self.goal(inode, lblk);
        let mut parent: Option<(u32, u32)> = None; // (indirect block, index)
        let mut blk = inode.block[path.slot];
        for level in 0..=path.depth {
            if blk == 0 {
                blk = self.alloc_block(goal)?;
                self.cache.zeroed(&mut self.dev, blk)?;
                self.add_sectors(inode, 1)?;
                match parent {
                    None => inode.block[path.slot] = blk,
                    Some((table, index)) => put32(
                        self.cache.write(&mut self.dev, table)?,
                        index as usize * 4,
                        blk,
                    ),
                }
                goal = blk.saturating_add(1);
            }
            if level < path.depth {
                let index = path.indices[level];
                parent = Some((blk, index));
                blk = self.read_ptr(blk, index)?;
            }
        }
        Ok((blk, true))
    }

    /// Frees every block of `inode` at logical block `first` and beyond,
    /// indirect blocks that become empty included, and lowers `i_blocks`.
    /// Changes `inode` in memory only. Errors: `Corrupted` for a bad
    /// pointer or a block freed twice (a cycle).
    pub(crate) fn free_blocks_from(&mut self, inode: &mut Inode, first: u64) -> Result<()> {
        let mut freed = 0u32;
        for slot in 0..IND_BLOCK {
            if slot as u64 >= first && inode.block[slot] != 0 {
                self.free_block(self.check_block(inode.block[slot])?)?;
                inode.block[slot] = 0;
                freed += 1;
            }
        }
        let mut base = IND_BLOCK as u64;
        for depth in 1..=3u32 {
            let slot = IND_BLOCK + depth as usize - 1;
            let span = self.span(depth);
            let root = inode.block[slot];
            if root != 0 && first < base + span {
                let root = self.check_block(root)?;
                let empty = self.trim(root, depth, base, first, &mut freed)?;
                if empty {
                    self.free_block(root)?;
                    freed += 1;
                    inode.block[slot] = 0;
                }
            }
            base += span;
        }
        let sectors = freed.saturating_mul(self.sb.block_size / 512);
        inode.blocks = inode.blocks.saturating_sub(sectors);
        Ok(())
    }

    /// Frees what indirect block `table` (at `level`, mapping from logical
    /// block `base`) maps at `first` and beyond. Returns whether the table
    /// is then empty (the caller frees it).
    fn trim(
        &mut self,
        table: u32,
        level: u32,
        base: u64,
        first: u64,
        freed: &mut u32,
    ) -> Result<bool> {
        let entries: Vec<u32> = {
            let buf = self.cache.read(&mut self.dev, table)?;
            (0..self.sb.addr_per_block())
                .map(|i| get32(buf, i as usize * 4))
                .collect()
        };
        let below = self.span(level - 1);
        let mut kept = false;
        for (i, &child) in entries.iter().enumerate() {
            if child == 0 {
                continue;
            }
            let start = base + i as u64 * below;
            let child = self.check_block(child)?;
            let gone = if start >= first {
                if level > 1 {
                    self.trim(child, level - 1, start, 0, freed)?;
                }
                true
            } else if level > 1 && start + below > first {
                self.trim(child, level - 1, start, first, freed)?
            } else {
                false
            };
            if gone {
                self.free_block(child)?;
                *freed += 1;
                put32(self.cache.write(&mut self.dev, table)?, i * 4, 0);
            } else {
                kept = true;
            }
        }
        Ok(!kept)
    }
}
