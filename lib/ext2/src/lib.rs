//! `ext2`: the second extended file system, revision 1, read and write.
//! PLACEHOLDER
#![cfg_attr(not(test), no_std)]

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
