//! Block and inode allocation through the per-group bitmaps (LKD ch. 13's
//! ext2 picture: one block bitmap and one inode bitmap per group). Every
//! allocation and free keeps `bg_free_*_count`, `bg_used_dirs_count` and
//! the superblock totals exact. Blocks are found near a goal (the block
//! after the file's previous one, or the start of the inode's group), new
//! files near their directory, new directories in the group with the
//! fewest directories among those with at least the average free inodes
//! (a simple Orlov). Freeing a block or inode whose bit is already clear is
//! `Corrupted`: that is how doubly-referenced blocks and indirect cycles
//! surface instead of looping.

use crate::device::BlockDevice;
use crate::error::{Error, Result};
use crate::fs::Ext2;

/// Finds a clear bit in `map[..limit]`, starting at `start` and wrapping.
fn find_clear(map: &[u8], start: u32, limit: u32) -> Option<u32> {
    let scan = |from: u32, to: u32| -> Option<u32> {
        let mut bit = from;
        while bit < to {
            let byte = *map.get((bit / 8) as usize)?;
            if byte == 0xFF && bit.is_multiple_of(8) {
                bit += 8;
                continue;
            }
            if byte & (1 << (bit % 8)) == 0 {
                return Some(bit);
            }
            bit += 1;
        }
        None
    };
    let start = start.min(limit);
    scan(start, limit).or_else(|| scan(0, start))
}

fn bit_is_set(map: &[u8], bit: u32) -> bool {
    map.get((bit / 8) as usize)
        .is_some_and(|b| b & (1 << (bit % 8)) != 0)
}

fn set_bit(map: &mut [u8], bit: u32, on: bool) {
    if let Some(b) = map.get_mut((bit / 8) as usize) {
        if on {
            *b |= 1 << (bit % 8);
        } else {
            *b &= !(1 << (bit % 8));
        }
    }
}

impl<D: BlockDevice> Ext2<D> {
    /// Whether `blk` is group metadata the bitmap must never hand out.
    fn is_group_metadata(&self, g: usize, blk: u32) -> bool {
        let Some(gd) = self.groups.get(g) else {
            return true;
        };
        let table_end = gd.inode_table.saturating_add(self.sb.inode_table_blocks());
        blk == gd.block_bitmap
            || blk == gd.inode_bitmap
            || (gd.inode_table..table_end).contains(&blk)
            || blk <= self.sb.first_data_block + self.sb.gdt_blocks()
    }

    /// Allocates one block, near `goal`. Errors: `NoSpace`; `Corrupted` if
    /// a bitmap offers group metadata.
    pub(crate) fn alloc_block(&mut self, goal: u32) -> Result<u32> {
        self.check_writable()?;
        if self.sb.free_blocks_count == 0 {
            return Err(Error::NoSpace);
        }
        let fdb = self.sb.first_data_block;
        let goal = goal.clamp(fdb, self.sb.blocks_count - 1);
        let ngroups = self.groups.len();
        let first = ((goal - fdb) / self.sb.blocks_per_group) as usize;
        for i in 0..ngroups {
            let g = (first + i) % ngroups;
            if self.groups.get(g).map_or(0, |gd| gd.free_blocks_count) == 0 {
                continue;
            }
            let start = if i == 0 {
                (goal - fdb) % self.sb.blocks_per_group
            } else {
                0
            };
            let limit = self.sb.blocks_in_group(g as u32);
            let bitmap_blk = self.groups[g].block_bitmap;
            let map = self.cache.read(&mut self.dev, bitmap_blk)?;
            let Some(bit) = find_clear(map, start, limit) else {
                continue;
            };
            let blk = self.sb.group_first_block(g as u32) + bit;
            if self.is_group_metadata(g, blk) {
                return Err(Error::Corrupted("block bitmap marks metadata free"));
            }
            set_bit(self.cache.write(&mut self.dev, bitmap_blk)?, bit, true);
            self.groups[g].free_blocks_count -= 1;
            self.sb.free_blocks_count -= 1;
            return Ok(blk);
        }
        Err(Error::NoSpace)
    }

    /// Frees block `blk`. Errors: `Corrupted` for a block outside the data
    /// area or one already free.
    pub(crate) fn free_block(&mut self, blk: u32) -> Result<()> {
        self.check_writable()?;
        let fdb = self.sb.first_data_block;
        if blk <= fdb || blk >= self.sb.blocks_count {
            return Err(Error::Corrupted("freeing a block outside the volume"));
        }
        let g = ((blk - fdb) / self.sb.blocks_per_group) as usize;
        let bit = (blk - fdb) % self.sb.blocks_per_group;
        if self.is_group_metadata(g, blk) {
            return Err(Error::Corrupted("freeing group metadata"));
        }
        let bitmap_blk = self.groups[g].block_bitmap;
        let map = self.cache.write(&mut self.dev, bitmap_blk)?;
        if !bit_is_set(map, bit) {
            return Err(Error::Corrupted(
                "freeing a free block (doubly used or cyclic)",
            ));
        }
        set_bit(map, bit, false);
        let gd = &mut self.groups[g];
        gd.free_blocks_count = gd.free_blocks_count.saturating_add(1);
        self.sb.free_blocks_count = self.sb.free_blocks_count.saturating_add(1);
        self.cache.forget(blk);
        Ok(())
    }

    /// The group for a new inode under directory `parent`.
    fn pick_inode_group(&self, parent: u32, is_dir: bool) -> usize {
        let n = self.groups.len();
        if is_dir {
            let avg = self.sb.free_inodes_count / n as u32;
            let best = (0..n)
                .filter(|&g| {
                    let gd = &self.groups[g];
                    gd.free_inodes_count > 0 && u32::from(gd.free_inodes_count) >= avg
                })
                .min_by_key(|&g| {
                    (
                        self.groups[g].used_dirs_count,
                        u16::MAX - self.groups[g].free_blocks_count,
                    )
                });
            if let Some(g) = best {
                return g;
            }
        }
        (self.inode_group(parent) as usize).min(n - 1)
    }

    /// Allocates an inode for a child of `parent`. Errors: `NoSpace`.
    pub(crate) fn alloc_inode(&mut self, parent: u32, is_dir: bool) -> Result<u32> {
        self.check_writable()?;
        if self.sb.free_inodes_count == 0 {
            return Err(Error::NoSpace);
        }
        let n = self.groups.len();
        let first = self.pick_inode_group(parent, is_dir);
        let ipg = self.sb.inodes_per_group;
        for i in 0..n {
            let g = (first + i) % n;
            if self.groups[g].free_inodes_count == 0 {
                continue;
            }
            let bitmap_blk = self.groups[g].inode_bitmap;
            // Reserved inodes (below s_first_ino) are never handed out.
            let start = if g == 0 { self.sb.first_ino - 1 } else { 0 };
            let map = self.cache.read(&mut self.dev, bitmap_blk)?;
            let Some(bit) = find_clear(map, start, ipg) else {
                continue;
            };
            let ino = g as u32 * ipg + bit + 1;
            if ino < self.sb.first_ino {
                continue;
            }
            let slot = self.load_inode(ino)?;
            if slot.links_count != 0 && slot.mode != 0 && slot.dtime == 0 {
                return Err(Error::Corrupted("inode bitmap marks an inode in use free"));
            }
            set_bit(self.cache.write(&mut self.dev, bitmap_blk)?, bit, true);
            let gd = &mut self.groups[g];
            gd.free_inodes_count -= 1;
            if is_dir {
                gd.used_dirs_count = gd.used_dirs_count.saturating_add(1);
            }
            self.sb.free_inodes_count -= 1;
            return Ok(ino);
        }
        Err(Error::NoSpace)
    }

    /// Frees inode `ino` in the bitmap. Errors: `Corrupted` if already free.
    pub(crate) fn free_inode_bit(&mut self, ino: u32, was_dir: bool) -> Result<()> {
        self.check_writable()?;
        if ino < self.sb.first_ino || ino > self.sb.inodes_count {
            return Err(Error::Corrupted("freeing a reserved or out-of-range inode"));
        }
        let g = ((ino - 1) / self.sb.inodes_per_group) as usize;
        let bit = (ino - 1) % self.sb.inodes_per_group;
        let bitmap_blk = self.groups[g].inode_bitmap;
        let map = self.cache.write(&mut self.dev, bitmap_blk)?;
        if !bit_is_set(map, bit) {
            return Err(Error::Corrupted("freeing a free inode"));
        }
        set_bit(map, bit, false);
        let gd = &mut self.groups[g];
        gd.free_inodes_count = gd.free_inodes_count.saturating_add(1);
        if was_dir {
            gd.used_dirs_count = gd.used_dirs_count.saturating_sub(1);
        }
        self.sb.free_inodes_count = self.sb.free_inodes_count.saturating_add(1);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn find_clear_wraps_and_respects_limit() {
        let map = [0xFFu8, 0b1110_1111, 0x00];
        assert_eq!(find_clear(&map, 0, 24), Some(12));
        assert_eq!(find_clear(&map, 13, 24), Some(16));
        assert_eq!(find_clear(&map, 0, 12), None);
        assert_eq!(find_clear(&[0xFF, 0x01], 5, 16), Some(9));
    }
}
