//! `ext2`: the second extended file system, revision 1, read and write —
//! the pure library (`no_std` + `alloc`) that the VFS server adapts as one
//! file-system type (LKD chapter 13's `file_system_type` and
//! `super_operations`/`inode_operations`, chapter 14's block layer, chapter
//! 16's buffer cache). It does no I/O of its own: it reads and writes whole
//! blocks through a [`BlockDevice`] handed to it. Host tests run it against
//! images made by `mke2fs -t ext2 -d`, judge every written image with
//! `e2fsck -fn` and read it back with the independent `ext4-view` crate.
//!
//! # The on-disk layout (names as in Linux's `ext2_fs.h` and e2fsprogs)
//!
//! The volume is an array of *blocks* of 1, 2, 4 … 32 KiB
//! (`1024 << s_log_block_size`). The first 1,024 bytes are left for a boot
//! loader; the **superblock** (`struct ext2_super_block`,
//! [`superblock::Superblock`]) is the next 1,024 bytes: magic `0xEF53`,
//! `s_blocks_count`, `s_inodes_count`, the free counts, `s_first_data_block`
//! (1 with 1 KiB blocks, else 0), `s_blocks_per_group`,
//! `s_inodes_per_group`, `s_inode_size` and `s_first_ino` (revision 1),
//! the mount state `s_state` (`EXT2_VALID_FS` when cleanly unmounted), and
//! three feature words:
//! - `s_feature_compat` (safe to ignore): `ext_attr`, `resize_inode`,
//!   `dir_index`, …
//! - `s_feature_incompat` (must be understood to mount): `filetype` is the
//!   only one this crate knows; any other bit refuses the mount.
//! - `s_feature_ro_compat` (must be understood to write): `sparse_super`
//!   and `large_file`; any other bit mounts read-only.
//!
//! After `s_first_data_block` the volume is cut into **block groups** of
//! `s_blocks_per_group` blocks. Each group may start with a backup of the
//! superblock and of the **group descriptor table** (GDT; with
//! `sparse_super` only groups 0, 1 and powers of 3, 5 and 7 have them),
//! followed by `s_reserved_gdt_blocks` blocks kept for growing the GDT
//! (`resize_inode`: inode 7 owns them; this crate never touches them, the
//! bitmaps already mark them used). The GDT holds one 32-byte
//! `struct ext2_group_desc` ([`group::GroupDesc`]) per group: the block
//! numbers of the group's **block bitmap** and **inode bitmap** (one bit
//! per block / inode of the group, 1 = in use) and of its **inode table**,
//! plus `bg_free_blocks_count`, `bg_free_inodes_count` and
//! `bg_used_dirs_count`.
//!
//! The inode table holds `s_inodes_per_group` slots of `s_inode_size`
//! bytes; inode *n* (counting from 1) lives in group `(n-1) /
//! s_inodes_per_group`. Inodes 1–10 are reserved (2 is the root directory,
//! 7 the resize inode, 11 usually `lost+found`). An **inode**
//! (`struct ext2_inode`, [`Inode`]) holds `i_mode`, `i_uid`/`i_gid` (with
//! their high halves), `i_size` (and `i_size_high` for regular files,
//! needing `large_file` past 2 GiB), `i_atime`/`i_ctime`/`i_mtime` and
//! `i_dtime` (set when deleted), `i_links_count`, `i_blocks` (512-byte
//! sectors allocated, metadata included), `i_flags` (`EXT2_INDEX_FL`),
//! `i_file_acl` (a shared extended-attribute block) and `i_block[15]`:
//! pointers 0–11 name data blocks directly, 12 a *single indirect* block
//! (an array of `block_size / 4` block numbers), 13 a *double* and 14 a
//! *triple* indirect block. A zero pointer is a hole: sparse files read
//! zeros there. A **fast symlink** keeps a target shorter than 60 bytes in
//! `i_block` itself; a slow one uses a data block.
//!
//! A **directory** is a file of `struct ext2_dir_entry_2` records: `inode`,
//! `rec_len` (to the next record; the last reaches the block's end),
//! `name_len`, `file_type` (`filetype` feature) and the name, padded to 4
//! bytes. Inode 0 marks free space. With `dir_index`, a large directory
//! may carry a hash tree (`EXT2_INDEX_FL`) whose index blocks look like
//! empty records to a linear reader: this crate reads such directories
//! linearly and, on any change, clears the flag as Linux's ext2 did before
//! it knew the index, which leaves a valid plain directory.
//!
//! # The API
//!
//! - [`Ext2::mount`]`(device, `[`MountOptions`]`)` checks the superblock
//!   and every group descriptor and marks the volume in use;
//!   [`Ext2::sync`] writes the GDT, the superblock and the dirty blocks
//!   and flushes the device; [`Ext2::unmount`] restores the state found at
//!   mount (clean, if it was) and gives the device back;
//!   [`Ext2::set_time`] sets the clock for timestamps; [`Ext2::statfs`].
//! - Inodes: [`Ext2::read_inode`], [`Ext2::setattr`] ([`SetAttr`]: mode,
//!   owner, times), [`Ext2::inode_location`].
//! - Data: [`Ext2::read`], [`Ext2::write`] (allocating near the previous
//!   block or the inode's group; a full volume gives a short count or
//!   `ENOSPC` and keeps what was written), [`Ext2::truncate`] (either
//!   way; frees data and indirect blocks), [`Ext2::bmap`] (logical →
//!   physical block, for a page cache doing its own I/O).
//! - Names: [`Ext2::lookup`], [`Ext2::readdir`] (resumable from an offset
//!   cookie), [`Ext2::create`], [`Ext2::mkdir`], [`Ext2::rmdir`],
//!   [`Ext2::unlink`], [`Ext2::link`], [`Ext2::symlink`], [`Ext2::mknod`]
//!   (device nodes, FIFOs, sockets; [`Inode::rdev`]),
//!   [`Ext2::readlink`], [`Ext2::rename`] (across directories, replacing).
//!
//! Every operation returns [`Result`]; [`Error::errno`] gives the Linux
//! errno (`ENOENT`, `ENOTDIR`, `EISDIR`, `EEXIST`, `ENOTEMPTY`, `ENOSPC`,
//! `EFBIG`, `ENAMETOOLONG`, `EMLINK`, `EROFS`, `EINVAL`, `EIO` for device
//! errors, `EUCLEAN` for [`Error::Corrupted`]).
//!
//! # Invariants
//!
//! - **A corrupt image never panics.** Every number read from disk is
//!   checked before use: the superblock's geometry at mount, group
//!   locations at mount, block pointers before they are followed (inside
//!   the volume, not in the boot block or superblock), directory records
//!   before they are parsed (`rec_len` ≥ 8, aligned, inside the block,
//!   long enough for the name; the inode in range). Indirect walks are at
//!   most three levels deep, so cycles cannot loop; freeing a block twice
//!   (a cycle or a block shared by two files) is `Corrupted`. Field access
//!   on raw bytes is bounds-checked (`raw.rs`), arithmetic on disk values
//!   checked or saturating.
//! - **Counts are exact.** Every allocation and free updates the bitmap,
//!   the group's counts and the superblock's totals together.
//! - **Coherent metadata.** All block access goes through one write-back
//!   [`cache::BlockCache`]; an inode is loaded, changed and stored within
//!   one operation, never cached across operations.
//! - **Check, then act.** Operations check names, types, emptiness and
//!   space before changing anything; a new inode that cannot be linked
//!   (a full volume) is released again.
//!
//! Not done: online resize, extended attributes beyond dropping a deleted
//! inode's reference, the hash index beyond reading through it, an
//! orphan list (unlink frees at once: a VFS that keeps unlinked files
//! open defers the call), atime updates, 64 KiB
//! blocks, ext3 journals (a `has_journal` volume is written without
//! journalling).
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

mod balloc;
mod bmap;
pub mod cache;
pub mod device;
mod dir;
pub mod error;
mod file;
mod fs;
pub mod group;
pub mod inode;
mod namei;
mod raw;
mod rename;
pub mod superblock;

pub use device::{BlockDevice, DeviceError, MemDisk};
pub use dir::DirEntry;
pub use error::{Error, Result};
pub use file::SetAttr;
pub use fs::{Ext2, MountOptions, StatFs};
pub use inode::{FileType, Inode, ROOT_INO};
pub use namei::LINK_MAX;
