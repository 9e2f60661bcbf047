//! The superblock (`struct ext2_super_block`), 1,024 bytes at byte 1,024 of
//! the volume: the geometry (block size, blocks and inodes per group), the
//! free counts, the mount state and the feature bits. [`Superblock::parse`]
//! checks every geometry field before the rest of the crate uses it, so the
//! derived numbers ([`Superblock::group_count`], …) are in range by
//! construction. The raw bytes are kept and written back with only the
//! fields this crate changes, so fields it does not know survive.

use crate::error::{Error, Result};
use crate::raw::{get16, get32, put16, put32};
use alloc::vec::Vec;

/// The byte offset of the superblock on the volume.
pub const SUPERBLOCK_OFFSET: u64 = 1024;
/// Its size in bytes.
pub const SUPERBLOCK_SIZE: usize = 1024;
/// `EXT2_SUPER_MAGIC`.
pub const EXT2_SUPER_MAGIC: u16 = 0xEF53;
/// `s_state`: cleanly unmounted.
pub const EXT2_VALID_FS: u16 = 1;
/// `s_state`: errors were detected.
pub const EXT2_ERROR_FS: u16 = 2;

/// `s_feature_compat` bits (unknown ones are harmless by definition).
pub const COMPAT_EXT_ATTR: u32 = 0x0008;
/// Blocks reserved after the GDT for online growth (inode 7 holds them).
pub const COMPAT_RESIZE_INODE: u32 = 0x0010;
/// Directories may carry a hash-tree index (`EXT2_INDEX_FL`).
pub const COMPAT_DIR_INDEX: u32 = 0x0020;
/// `s_feature_incompat`: directory entries record the file type.
pub const INCOMPAT_FILETYPE: u32 = 0x0002;
/// The incompatible features this crate implements.
pub const INCOMPAT_SUPPORTED: u32 = INCOMPAT_FILETYPE;
/// `s_feature_ro_compat`: superblock backups only in groups 0, 1 and powers
/// of 3, 5, 7.
pub const RO_COMPAT_SPARSE_SUPER: u32 = 0x0001;
/// Files may be 2 GiB or larger (`i_size_high`).
pub const RO_COMPAT_LARGE_FILE: u32 = 0x0002;
/// The read-only compatible features this crate can write.
pub const RO_COMPAT_SUPPORTED: u32 = RO_COMPAT_SPARSE_SUPER | RO_COMPAT_LARGE_FILE;

/// Byte offsets of `struct ext2_super_block` fields.
mod off {
    pub const INODES_COUNT: usize = 0;
    pub const BLOCKS_COUNT: usize = 4;
    pub const R_BLOCKS_COUNT: usize = 8;
    pub const FREE_BLOCKS_COUNT: usize = 12;
    pub const FREE_INODES_COUNT: usize = 16;
    pub const FIRST_DATA_BLOCK: usize = 20;
    pub const LOG_BLOCK_SIZE: usize = 24;
    pub const BLOCKS_PER_GROUP: usize = 32;
    pub const INODES_PER_GROUP: usize = 40;
    pub const MTIME: usize = 44;
    pub const WTIME: usize = 48;
    pub const MNT_COUNT: usize = 52;
    pub const MAGIC: usize = 56;
    pub const STATE: usize = 58;
    pub const REV_LEVEL: usize = 76;
    pub const FIRST_INO: usize = 84;
    pub const INODE_SIZE: usize = 88;
    pub const FEATURE_COMPAT: usize = 92;
    pub const FEATURE_INCOMPAT: usize = 96;
    pub const FEATURE_RO_COMPAT: usize = 100;
}

/// A checked superblock.
#[derive(Debug, Clone)]
pub struct Superblock {
    raw: Vec<u8>,
    /// `s_inodes_count`.
    pub inodes_count: u32,
    /// `s_blocks_count`.
    pub blocks_count: u32,
    /// `s_r_blocks_count`: blocks kept for root.
    pub r_blocks_count: u32,
    /// `s_free_blocks_count`, kept exact by the allocator.
    pub free_blocks_count: u32,
    /// `s_free_inodes_count`, kept exact by the allocator.
    pub free_inodes_count: u32,
    /// `s_first_data_block`: 1 with 1 KiB blocks, else 0.
    pub first_data_block: u32,
    /// `1024 << s_log_block_size`.
    pub block_size: u32,
    /// `s_blocks_per_group`.
    pub blocks_per_group: u32,
    /// `s_inodes_per_group`.
    pub inodes_per_group: u32,
    /// `s_first_ino`: the first inode not reserved (11).
    pub first_ino: u32,
    /// `s_inode_size`: bytes per inode-table slot.
    pub inode_size: u32,
    /// `s_feature_compat`.
    pub feature_compat: u32,
    /// `s_feature_incompat`.
    pub feature_incompat: u32,
    /// `s_feature_ro_compat`.
    pub feature_ro_compat: u32,
    /// `s_state`.
    pub state: u16,
    /// `s_mnt_count`.
    pub mnt_count: u16,
    /// `s_mtime`: last mount time.
    pub mtime: u32,
    /// `s_wtime`: last write time.
    pub wtime: u32,
}

impl Superblock {
    /// Parses and checks the 1,024 superblock bytes. Errors: `Corrupted`
    /// for a bad magic or an impossible geometry, `Unsupported` for a
    /// revision above 1 or unknown incompatible features, `Invalid` for
    /// 64 KiB blocks.
    pub fn parse(raw: &[u8]) -> Result<Self> {
        if raw.len() < SUPERBLOCK_SIZE {
            return Err(Error::Corrupted("superblock truncated"));
        }
        if get16(raw, off::MAGIC) != EXT2_SUPER_MAGIC {
            return Err(Error::Corrupted("bad superblock magic"));
        }
        let rev = get32(raw, off::REV_LEVEL);
        let (first_ino, inode_size) = match rev {
            0 => (11, 128),
            1 => (
                get32(raw, off::FIRST_INO),
                u32::from(get16(raw, off::INODE_SIZE)),
            ),
            _ => return Err(Error::Unsupported(0)),
        };
        let log = get32(raw, off::LOG_BLOCK_SIZE);
        if log > 6 {
            return Err(Error::Corrupted("block size too large"));
        }
        if log > 5 {
            // 64 KiB blocks need rec_len's special encoding: not supported.
            return Err(Error::Invalid);
        }
        let sb = Superblock {
            raw: raw[..SUPERBLOCK_SIZE].to_vec(),
            inodes_count: get32(raw, off::INODES_COUNT),
            blocks_count: get32(raw, off::BLOCKS_COUNT),
            r_blocks_count: get32(raw, off::R_BLOCKS_COUNT),
            free_blocks_count: get32(raw, off::FREE_BLOCKS_COUNT),
            free_inodes_count: get32(raw, off::FREE_INODES_COUNT),
            first_data_block: get32(raw, off::FIRST_DATA_BLOCK),
            block_size: 1024 << log,
            blocks_per_group: get32(raw, off::BLOCKS_PER_GROUP),
            inodes_per_group: get32(raw, off::INODES_PER_GROUP),
            first_ino,
            inode_size,
            feature_compat: get32(raw, off::FEATURE_COMPAT),
            feature_incompat: if rev == 0 {
                0
            } else {
                get32(raw, off::FEATURE_INCOMPAT)
            },
            feature_ro_compat: if rev == 0 {
                0
            } else {
                get32(raw, off::FEATURE_RO_COMPAT)
            },
            state: get16(raw, off::STATE),
            mnt_count: get16(raw, off::MNT_COUNT),
            mtime: get32(raw, off::MTIME),
            wtime: get32(raw, off::WTIME),
        };
        sb.check()?;
        Ok(sb)
    }

    /// The geometry checks: everything later code divides by or indexes
    /// with is in range.
    fn check(&self) -> Result<()> {
        let unknown = self.feature_incompat & !INCOMPAT_SUPPORTED;
        if unknown != 0 {
            return Err(Error::Unsupported(unknown));
        }
        let bits_per_block = self.block_size * 8;
        let bad = |why| Err(Error::Corrupted(why));
        if self.blocks_per_group == 0 || self.blocks_per_group > bits_per_block {
            return bad("bad blocks per group");
        }
        if self.inodes_per_group == 0 || self.inodes_per_group > bits_per_block {
            return bad("bad inodes per group");
        }
        if self.inode_size < 128
            || !self.inode_size.is_power_of_two()
            || self.inode_size > self.block_size
        {
            return bad("bad inode size");
        }
        let expect_first = u32::from(self.block_size == 1024);
        if self.first_data_block != expect_first {
            return bad("bad first data block");
        }
        if self.blocks_count <= self.first_data_block {
            return bad("bad block count");
        }
        let groups = u64::from(self.group_count());
        if groups > 1 << 24 {
            return bad("too many groups");
        }
        if groups * u64::from(self.inodes_per_group) != u64::from(self.inodes_count) {
            return bad("inode count does not match groups");
        }
        if self.first_ino < 11 || self.first_ino >= self.inodes_count {
            return bad("bad first inode");
        }
        if u64::from(self.first_data_block) + 1 + u64::from(self.gdt_blocks())
            >= u64::from(self.blocks_count)
        {
            return bad("group descriptors past the volume");
        }
        if self.inode_table_blocks() >= self.blocks_per_group {
            return bad("inode table larger than a group");
        }
        Ok(())
    }

    /// Number of block groups.
    pub fn group_count(&self) -> u32 {
        (self.blocks_count - self.first_data_block).div_ceil(self.blocks_per_group)
    }

    /// Blocks one group's descriptors take in the GDT (32 bytes each).
    pub fn gdt_blocks(&self) -> u32 {
        (self.group_count() * 32).div_ceil(self.block_size)
    }

    /// Inode-table slots per block.
    pub fn inodes_per_block(&self) -> u32 {
        self.block_size / self.inode_size
    }

    /// Blocks one group's inode table takes.
    pub fn inode_table_blocks(&self) -> u32 {
        self.inodes_per_group.div_ceil(self.inodes_per_block())
    }

    /// Block pointers per indirect block.
    pub fn addr_per_block(&self) -> u32 {
        self.block_size / 4
    }

    /// Number of blocks in group `g` (the last may be short).
    pub fn blocks_in_group(&self, g: u32) -> u32 {
        let start = self.group_first_block(g);
        (self.blocks_count - start).min(self.blocks_per_group)
    }

    /// The first block of group `g`.
    pub fn group_first_block(&self, g: u32) -> u32 {
        self.first_data_block + g * self.blocks_per_group
    }

    /// Whether `feature` of `s_feature_compat` is on.
    pub fn has_compat(&self, feature: u32) -> bool {
        self.feature_compat & feature != 0
    }

    /// The bytes to write back: the kept raw image with the fields this
    /// crate changes brought up to date.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut raw = self.raw.clone();
        put32(&mut raw, off::FREE_BLOCKS_COUNT, self.free_blocks_count);
        put32(&mut raw, off::FREE_INODES_COUNT, self.free_inodes_count);
        put32(&mut raw, off::FEATURE_RO_COMPAT, self.feature_ro_compat);
        put16(&mut raw, off::STATE, self.state);
        put16(&mut raw, off::MNT_COUNT, self.mnt_count);
        put32(&mut raw, off::MTIME, self.mtime);
        put32(&mut raw, off::WTIME, self.wtime);
        raw
    }
}
