//! The inode (`struct ext2_inode`, 128 bytes, in slots of `s_inode_size`
//! bytes in each group's inode table): mode, owner, size (`i_size` plus
//! `i_size_high` for regular files), the three timestamps and `i_dtime`,
//! link count, `i_blocks` (in 512-byte sectors), flags, the 15 block
//! pointers `i_block[]` (12 direct, then single, double and triple
//! indirect), and the extended-attribute block `i_file_acl`. The slot's
//! raw bytes are kept so fields this crate does not interpret (the large
//! inode's extra fields, OS-dependent words) survive a write.

use crate::raw::{get16, get32, put16, put32};
use alloc::vec::Vec;

/// Number of pointers in `i_block`.
pub const N_BLOCKS: usize = 15;
/// Index of the first indirect pointer in `i_block` (`EXT2_IND_BLOCK`).
pub const IND_BLOCK: usize = 12;
/// `EXT2_INDEX_FL`: the directory has a hash-tree index.
pub const EXT2_INDEX_FL: u32 = 0x1000;
/// The root directory's inode number.
pub const ROOT_INO: u32 = 2;
/// A symlink whose target is shorter than this is kept in `i_block`.
pub const FAST_SYMLINK_MAX: usize = N_BLOCKS * 4;

/// `S_IFMT` and the file types in `i_mode`.
pub const S_IFMT: u16 = 0o170000;
/// Socket.
pub const S_IFSOCK: u16 = 0o140000;
/// Symbolic link.
pub const S_IFLNK: u16 = 0o120000;
/// Regular file.
pub const S_IFREG: u16 = 0o100000;
/// Block device.
pub const S_IFBLK: u16 = 0o060000;
/// Directory.
pub const S_IFDIR: u16 = 0o040000;
/// Character device.
pub const S_IFCHR: u16 = 0o020000;
/// FIFO.
pub const S_IFIFO: u16 = 0o010000;

/// What kind of file an inode is; also the `file_type` byte of a
/// directory entry (`EXT2_FT_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileType {
    /// `EXT2_FT_UNKNOWN` (0): not recorded.
    Unknown,
    /// `EXT2_FT_REG_FILE` (1).
    Regular,
    /// `EXT2_FT_DIR` (2).
    Directory,
    /// `EXT2_FT_CHRDEV` (3).
    CharDevice,
    /// `EXT2_FT_BLKDEV` (4).
    BlockDevice,
    /// `EXT2_FT_FIFO` (5).
    Fifo,
    /// `EXT2_FT_SOCK` (6).
    Socket,
    /// `EXT2_FT_SYMLINK` (7).
    Symlink,
}

impl FileType {
    /// The type a mode's `S_IFMT` bits name.
    pub fn from_mode(mode: u16) -> FileType {
        match mode & S_IFMT {
            S_IFREG => FileType::Regular,
            S_IFDIR => FileType::Directory,
            S_IFCHR => FileType::CharDevice,
            S_IFBLK => FileType::BlockDevice,
            S_IFIFO => FileType::Fifo,
            S_IFSOCK => FileType::Socket,
            S_IFLNK => FileType::Symlink,
            _ => FileType::Unknown,
        }
    }

    /// The type a directory entry's `file_type` byte names.
    pub fn from_dirent(b: u8) -> FileType {
        match b {
            1 => FileType::Regular,
            2 => FileType::Directory,
            3 => FileType::CharDevice,
            4 => FileType::BlockDevice,
            5 => FileType::Fifo,
            6 => FileType::Socket,
            7 => FileType::Symlink,
            _ => FileType::Unknown,
        }
    }

    /// The `file_type` byte for a directory entry.
    pub fn to_dirent(self) -> u8 {
        match self {
            FileType::Unknown => 0,
            FileType::Regular => 1,
            FileType::Directory => 2,
            FileType::CharDevice => 3,
            FileType::BlockDevice => 4,
            FileType::Fifo => 5,
            FileType::Socket => 6,
            FileType::Symlink => 7,
        }
    }
}

/// Byte offsets in `struct ext2_inode` (and the large inode after it).
mod off {
    pub const MODE: usize = 0;
    pub const UID: usize = 2;
    pub const SIZE: usize = 4;
    pub const ATIME: usize = 8;
    pub const CTIME: usize = 12;
    pub const MTIME: usize = 16;
    pub const DTIME: usize = 20;
    pub const GID: usize = 24;
    pub const LINKS_COUNT: usize = 26;
    pub const BLOCKS: usize = 28;
    pub const FLAGS: usize = 32;
    pub const BLOCK: usize = 40;
    pub const GENERATION: usize = 100;
    pub const FILE_ACL: usize = 104;
    pub const SIZE_HIGH: usize = 108;
    pub const UID_HIGH: usize = 120;
    pub const GID_HIGH: usize = 122;
    pub const EXTRA_ISIZE: usize = 128;
    pub const CTIME_EXTRA: usize = 132;
    pub const MTIME_EXTRA: usize = 136;
    pub const ATIME_EXTRA: usize = 140;
}

/// An inode as read from its slot. `ino` is its number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inode {
    raw: Vec<u8>,
    /// The inode number.
    pub ino: u32,
    /// `i_mode`: file type and permission bits.
    pub mode: u16,
    /// `i_uid` with `l_i_uid_high`.
    pub uid: u32,
    /// `i_gid` with `l_i_gid_high`.
    pub gid: u32,
    /// The size in bytes (`i_size`, and `i_size_high` for regular files).
    pub size: u64,
    /// `i_atime`, seconds since 1970.
    pub atime: u32,
    /// `i_ctime`.
    pub ctime: u32,
    /// `i_mtime`.
    pub mtime: u32,
    /// `i_dtime`: when it was deleted (0 while in use).
    pub dtime: u32,
    /// `i_links_count`.
    pub links_count: u16,
    /// `i_blocks`: 512-byte sectors allocated, indirect and EA blocks
    /// included.
    pub blocks: u32,
    /// `i_flags` (`EXT2_INDEX_FL`, …).
    pub flags: u32,
    /// `i_block[]`.
    pub block: [u32; N_BLOCKS],
    /// `i_generation`.
    pub generation: u32,
    /// `i_file_acl`: the extended-attribute block, or 0.
    pub file_acl: u32,
}

impl Inode {
    /// Parses an inode slot (`raw` is `s_inode_size` bytes).
    pub fn parse(ino: u32, raw: &[u8]) -> Inode {
        let mode = get16(raw, off::MODE);
        let mut block = [0u32; N_BLOCKS];
        for (i, b) in block.iter_mut().enumerate() {
            *b = get32(raw, off::BLOCK + 4 * i);
        }
        let high = if mode & S_IFMT == S_IFREG {
            get32(raw, off::SIZE_HIGH)
        } else {
            0
        };
        Inode {
            raw: raw.to_vec(),
            ino,
            mode,
            uid: u32::from(get16(raw, off::UID)) | u32::from(get16(raw, off::UID_HIGH)) << 16,
            gid: u32::from(get16(raw, off::GID)) | u32::from(get16(raw, off::GID_HIGH)) << 16,
            size: u64::from(get32(raw, off::SIZE)) | u64::from(high) << 32,
            atime: get32(raw, off::ATIME),
            ctime: get32(raw, off::CTIME),
            mtime: get32(raw, off::MTIME),
            dtime: get32(raw, off::DTIME),
            links_count: get16(raw, off::LINKS_COUNT),
            blocks: get32(raw, off::BLOCKS),
            flags: get32(raw, off::FLAGS),
            block,
            generation: get32(raw, off::GENERATION),
            file_acl: get32(raw, off::FILE_ACL),
        }
    }

    /// A zeroed inode for a new file, sized for a slot of `slot` bytes.
    /// A large slot gets `i_extra_isize` = 32, as mke2fs writes.
    pub fn new(ino: u32, slot: usize, mode: u16, now: u32) -> Inode {
        let mut raw = alloc::vec![0u8; slot];
        if slot >= 160 {
            put16(&mut raw, off::EXTRA_ISIZE, 32);
        }
        let mut inode = Inode::parse(ino, &raw);
        inode.mode = mode;
        inode.atime = now;
        inode.ctime = now;
        inode.mtime = now;
        inode
    }

    /// The slot bytes with every field written in.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut raw = self.raw.clone();
        put16(&mut raw, off::MODE, self.mode);
        put16(&mut raw, off::UID, self.uid as u16);
        put16(&mut raw, off::UID_HIGH, (self.uid >> 16) as u16);
        put16(&mut raw, off::GID, self.gid as u16);
        put16(&mut raw, off::GID_HIGH, (self.gid >> 16) as u16);
        put32(&mut raw, off::SIZE, self.size as u32);
        if self.is_reg() {
            put32(&mut raw, off::SIZE_HIGH, (self.size >> 32) as u32);
        }
        put32(&mut raw, off::ATIME, self.atime);
        put32(&mut raw, off::CTIME, self.ctime);
        put32(&mut raw, off::MTIME, self.mtime);
        put32(&mut raw, off::DTIME, self.dtime);
        put16(&mut raw, off::LINKS_COUNT, self.links_count);
        put32(&mut raw, off::BLOCKS, self.blocks);
        put32(&mut raw, off::FLAGS, self.flags);
        for (i, b) in self.block.iter().enumerate() {
            put32(&mut raw, off::BLOCK + 4 * i, *b);
        }
        put32(&mut raw, off::GENERATION, self.generation);
        put32(&mut raw, off::FILE_ACL, self.file_acl);
        // The timestamps were set in whole seconds: drop stale nanoseconds
        // and epoch bits of the large inode where it has them.
        let extra = usize::from(get16(&raw, off::EXTRA_ISIZE));
        if raw.len() > 128 {
            for field in [off::CTIME_EXTRA, off::MTIME_EXTRA, off::ATIME_EXTRA] {
                if field + 4 <= 128 + extra {
                    put32(&mut raw, field, 0);
                }
            }
        }
        raw
    }

    /// The file type from the mode.
    pub fn file_type(&self) -> FileType {
        FileType::from_mode(self.mode)
    }

    /// Whether this is a directory.
    pub fn is_dir(&self) -> bool {
        self.mode & S_IFMT == S_IFDIR
    }

    /// Whether this is a regular file.
    pub fn is_reg(&self) -> bool {
        self.mode & S_IFMT == S_IFREG
    }

    /// Whether this is a symbolic link.
    pub fn is_symlink(&self) -> bool {
        self.mode & S_IFMT == S_IFLNK
    }

    /// Whether `i_block` holds a device number rather than block numbers.
    pub fn is_device(&self) -> bool {
        matches!(self.mode & S_IFMT, S_IFCHR | S_IFBLK)
    }

    /// The device number of a device node, as Linux's ext2 keeps it: the
    /// old 16-bit form in `i_block[0]`, or 0 there and the new 32-bit form
    /// in `i_block[1]`. Returns Linux's `dev_t` (major in bits 8–19, minor
    /// in 0–7 and 20–31); 0 for other inodes.
    pub fn rdev(&self) -> u32 {
        if !self.is_device() {
            return 0;
        }
        if self.block[0] != 0 {
            self.block[0] & 0xFFFF
        } else {
            self.block[1]
        }
    }

    /// Stores device number `rdev` (a `dev_t` as in [`Inode::rdev`]).
    pub fn set_rdev(&mut self, rdev: u32) {
        let (major, minor) = (
            (rdev >> 8) & 0xFFF,
            (rdev & 0xFF) | ((rdev >> 12) & 0xFFF00),
        );
        if major < 256 && minor < 256 {
            self.block[0] = (major << 8) | minor;
            self.block[1] = 0;
        } else {
            self.block[0] = 0;
            self.block[1] = rdev;
            self.block[2] = 0;
        }
    }
}
