//! Block-group descriptors (`struct ext2_group_desc`, 32 bytes each), read
//! from the group descriptor table (GDT) in the block after the superblock.
//! [`GroupDesc::parse`] checks that the group's bitmaps and inode table lie
//! inside the volume, so later reads through them cannot leave it. The raw
//! bytes are kept so ext4 fields this crate does not use survive a write.

use crate::error::{Error, Result};
use crate::raw::{get16, get32, put16};
use crate::superblock::Superblock;

/// Size of one descriptor in the GDT.
pub const DESC_SIZE: usize = 32;

/// One group's descriptor.
#[derive(Debug, Clone)]
pub struct GroupDesc {
    raw: [u8; DESC_SIZE],
    /// `bg_block_bitmap`: block of the block bitmap.
    pub block_bitmap: u32,
    /// `bg_inode_bitmap`: block of the inode bitmap.
    pub inode_bitmap: u32,
    /// `bg_inode_table`: first block of the inode table.
    pub inode_table: u32,
    /// `bg_free_blocks_count`.
    pub free_blocks_count: u16,
    /// `bg_free_inodes_count`.
    pub free_inodes_count: u16,
    /// `bg_used_dirs_count`.
    pub used_dirs_count: u16,
}

impl GroupDesc {
    /// Parses descriptor bytes and checks the locations against `sb`.
    /// Errors: `Corrupted` if a bitmap or the inode table is outside the
    /// volume.
    pub fn parse(b: &[u8], sb: &Superblock) -> Result<Self> {
        let mut raw = [0u8; DESC_SIZE];
        let src = b
            .get(..DESC_SIZE)
            .ok_or(Error::Corrupted("GDT truncated"))?;
        raw.copy_from_slice(src);
        let gd = GroupDesc {
            raw,
            block_bitmap: get32(&raw, 0),
            inode_bitmap: get32(&raw, 4),
            inode_table: get32(&raw, 8),
            free_blocks_count: get16(&raw, 12),
            free_inodes_count: get16(&raw, 14),
            used_dirs_count: get16(&raw, 16),
        };
        let inside = |blk: u32, len: u32| {
            blk > sb.first_data_block
                && u64::from(blk) + u64::from(len) <= u64::from(sb.blocks_count)
        };
        if !inside(gd.block_bitmap, 1) || !inside(gd.inode_bitmap, 1) {
            return Err(Error::Corrupted("group bitmap outside the volume"));
        }
        if !inside(gd.inode_table, sb.inode_table_blocks()) {
            return Err(Error::Corrupted("inode table outside the volume"));
        }
        Ok(gd)
    }

    /// The descriptor's bytes with the counts brought up to date.
    pub fn to_bytes(&self) -> [u8; DESC_SIZE] {
        let mut raw = self.raw;
        put16(&mut raw, 12, self.free_blocks_count);
        put16(&mut raw, 14, self.free_inodes_count);
        put16(&mut raw, 16, self.used_dirs_count);
        raw
    }
}
