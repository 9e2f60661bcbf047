//! The mounted file system, [`Ext2`]: mount (superblock and GDT checks),
//! inode slots in and out of the inode tables, `statfs`, `sync` and a clean
//! unmount. The operations themselves live beside it: allocation in
//! `balloc`, block mapping in `bmap`, directories in `dir`, file data in
//! `file`, names in `namei`.

use crate::cache::{BlockCache, DEFAULT_CAPACITY};
use crate::device::BlockDevice;
use crate::error::{Error, Result};
use crate::group::{GroupDesc, DESC_SIZE};
use crate::inode::Inode;
use crate::superblock::{
    Superblock, EXT2_VALID_FS, RO_COMPAT_SUPPORTED, SUPERBLOCK_OFFSET, SUPERBLOCK_SIZE,
};
use alloc::collections::BTreeSet;
use alloc::vec;
use alloc::vec::Vec;

/// How to mount.
#[derive(Debug, Clone, Copy, Default)]
pub struct MountOptions {
    /// Refuse every change (`EROFS`).
    pub read_only: bool,
    /// Blocks the buffer cache keeps; 0 means the default (256).
    pub cache_blocks: usize,
}

/// What `statfs` reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatFs {
    /// Bytes per block (`f_bsize`).
    pub block_size: u32,
    /// Blocks on the volume (`f_blocks`).
    pub blocks: u64,
    /// Free blocks (`f_bfree`).
    pub free_blocks: u64,
    /// Free blocks for non-root users (`f_bavail`).
    pub available_blocks: u64,
    /// Inodes (`f_files`).
    pub inodes: u64,
    /// Free inodes (`f_ffree`).
    pub free_inodes: u64,
    /// Longest name (`f_namelen`), 255.
    pub name_max: u32,
}

/// A mounted ext2 volume on the device `D`.
pub struct Ext2<D: BlockDevice> {
    pub(crate) dev: D,
    pub(crate) sb: Superblock,
    pub(crate) groups: Vec<GroupDesc>,
    pub(crate) cache: BlockCache,
    pub(crate) read_only: bool,
    pub(crate) now: u32,
    /// `s_state` as found at mount, restored at unmount (so a volume that
    /// was not clean stays marked so).
    mount_state: u16,
    /// Whether an inode whose last link goes is kept until
    /// [`Ext2::release_orphan`] (a VFS with open files of it), rather than
    /// freed at once.
    pub(crate) defer_release: bool,
    /// Inodes without links kept for their open files (Linux's orphan
    /// list, in memory only): released by [`Ext2::release_orphan`] or at
    /// [`Ext2::unmount`].
    pub(crate) orphans: BTreeSet<u32>,
}

impl<D: BlockDevice> Ext2<D> {
    /// Mounts the volume on `dev`. Errors: `Corrupted` for a bad magic,
    /// geometry or group descriptor, or a device smaller than the volume;
    /// `Unsupported` for unknown incompatible features; `Device` on I/O
    /// errors. Unknown read-only compatible features mount read-only.
    pub fn mount(mut dev: D, opts: MountOptions) -> Result<Self> {
        let ss = dev.sector_size();
        if !ss.is_power_of_two() || !(512..=4096).contains(&ss) {
            return Err(Error::Invalid);
        }
        let head_sectors = (2048usize).div_ceil(ss);
        let mut head = vec![0u8; head_sectors * ss];
        dev.read_sectors(0, &mut head)?;
        let sb = Superblock::parse(&head[SUPERBLOCK_OFFSET as usize..][..SUPERBLOCK_SIZE])?;
        let bs = sb.block_size as usize;
        if !bs.is_multiple_of(ss) {
            return Err(Error::Invalid);
        }
        let volume_bytes = u64::from(sb.blocks_count) * bs as u64;
        if dev.sector_count().saturating_mul(ss as u64) < volume_bytes {
            return Err(Error::Corrupted("volume larger than the device"));
        }
        let capacity = if opts.cache_blocks == 0 {
            DEFAULT_CAPACITY
        } else {
            opts.cache_blocks
        };
        let mut cache = BlockCache::new(bs, sb.blocks_count, capacity);
        let groups = read_gdt(&mut dev, &mut cache, &sb)?;
        let mut sb = sb;
        // As Linux's ext2 does: the group counts are the truth, the
        // superblock's totals are their sum.
        let sum = |f: fn(&GroupDesc) -> u16| {
            groups
                .iter()
                .map(|g| u64::from(f(g)))
                .sum::<u64>()
                .min(u64::from(u32::MAX)) as u32
        };
        sb.free_blocks_count = sum(|g| g.free_blocks_count);
        sb.free_inodes_count = sum(|g| g.free_inodes_count);
        let read_only = opts.read_only || sb.feature_ro_compat & !RO_COMPAT_SUPPORTED != 0;
        let mount_state = sb.state;
        let now = sb.wtime.max(sb.mtime);
        let mut fs = Ext2 {
            dev,
            sb,
            groups,
            cache,
            read_only,
            now,
            mount_state,
            defer_release: false,
            orphans: BTreeSet::new(),
        };
        if !fs.read_only {
            // As ext2_setup_super: mark the volume in use until unmount.
            fs.sb.state &= !EXT2_VALID_FS;
            fs.sb.mnt_count = fs.sb.mnt_count.wrapping_add(1);
            fs.sb.mtime = fs.now;
            fs.sync()?;
        }
        Ok(fs)
    }

    /// Sets the clock, in seconds since 1970, used for new timestamps.
    /// Until called it is the volume's last write time.
    pub fn set_time(&mut self, now: u32) {
        self.now = now;
    }

    /// The device, for looking at (writes go through the file system).
    pub fn device(&self) -> &D {
        &self.dev
    }

    /// Whether the volume is mounted read-only.
    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    /// The checked superblock.
    pub fn superblock(&self) -> &Superblock {
        &self.sb
    }

    /// The block size in bytes.
    pub fn block_size(&self) -> u32 {
        self.sb.block_size
    }

    /// The file-system statistics.
    pub fn statfs(&self) -> StatFs {
        StatFs {
            block_size: self.sb.block_size,
            blocks: u64::from(self.sb.blocks_count),
            free_blocks: u64::from(self.sb.free_blocks_count),
            available_blocks: u64::from(
                self.sb
                    .free_blocks_count
                    .saturating_sub(self.sb.r_blocks_count),
            ),
            inodes: u64::from(self.sb.inodes_count),
            free_inodes: u64::from(self.sb.free_inodes_count),
            name_max: 255,
        }
    }

    /// Writes the group descriptors, the superblock and every dirty block
    /// to the device and flushes it. Errors: `Device`.
    pub fn sync(&mut self) -> Result<()> {
        if !self.read_only {
            self.write_gdt()?;
            self.sb.wtime = self.now;
            let bytes = self.sb.to_bytes();
            let bs = self.sb.block_size as u64;
            let blk = (SUPERBLOCK_OFFSET / bs) as u32;
            let at = (SUPERBLOCK_OFFSET % bs) as usize;
            let buf = self.cache.write(&mut self.dev, blk)?;
            if let Some(dst) = buf.get_mut(at..at + SUPERBLOCK_SIZE) {
                dst.copy_from_slice(&bytes);
            }
            self.cache.flush(&mut self.dev)?;
        }
        self.dev.flush()?;
        Ok(())
    }

    /// Unmounts: restores the mount-time state (clean if it was), syncs
    /// and gives the device back. Errors: `Device`.
    pub fn unmount(mut self) -> Result<D> {
        self.release_orphans()?;
        if !self.read_only {
            self.sb.state = self.mount_state;
        }
        self.sync()?;
        Ok(self.dev)
    }

    fn write_gdt(&mut self) -> Result<()> {
        let bs = self.sb.block_size as usize;
        let per_block = bs / DESC_SIZE;
        for (i, chunk) in self.groups.chunks(per_block).enumerate() {
            let blk = self.sb.first_data_block + 1 + i as u32;
            let buf = self.cache.write(&mut self.dev, blk)?;
            for (j, gd) in chunk.iter().enumerate() {
                if let Some(dst) = buf.get_mut(j * DESC_SIZE..(j + 1) * DESC_SIZE) {
                    dst.copy_from_slice(&gd.to_bytes());
                }
            }
        }
        Ok(())
    }

    pub(crate) fn check_writable(&self) -> Result<()> {
        if self.read_only {
            Err(Error::ReadOnly)
        } else {
            Ok(())
        }
    }

    /// Block and byte offset of inode `ino`'s slot. Errors: `Invalid` for
    /// 0 or a number past `s_inodes_count`.
    fn inode_slot(&self, ino: u32) -> Result<(u32, usize)> {
        if ino == 0 || ino > self.sb.inodes_count {
            return Err(Error::Invalid);
        }
        let index = ino - 1;
        let group = self
            .groups
            .get((index / self.sb.inodes_per_group) as usize)
            .ok_or(Error::Invalid)?;
        let in_group = index % self.sb.inodes_per_group;
        let ipb = self.sb.inodes_per_block();
        let blk = group.inode_table + in_group / ipb;
        Ok((blk, ((in_group % ipb) * self.sb.inode_size) as usize))
    }

    /// Where inode `ino` is stored: its inode-table block and the byte
    /// offset of its slot there (for tools and tests). Errors: `Invalid`.
    pub fn inode_location(&self, ino: u32) -> Result<(u32, usize)> {
        self.inode_slot(ino)
    }

    /// Reads inode `ino`'s slot, in use or not.
    pub(crate) fn load_inode(&mut self, ino: u32) -> Result<Inode> {
        let (blk, at) = self.inode_slot(ino)?;
        let size = self.sb.inode_size as usize;
        let buf = self.cache.read(&mut self.dev, blk)?;
        let raw = buf
            .get(at..at + size)
            .ok_or(Error::Corrupted("inode slot"))?;
        Ok(Inode::parse(ino, raw))
    }

    /// Writes an inode back to its slot.
    pub(crate) fn store_inode(&mut self, inode: &Inode) -> Result<()> {
        let (blk, at) = self.inode_slot(inode.ino)?;
        let bytes = inode.to_bytes();
        let buf = self.cache.write(&mut self.dev, blk)?;
        let dst = buf
            .get_mut(at..at + bytes.len())
            .ok_or(Error::Corrupted("inode slot"))?;
        dst.copy_from_slice(&bytes);
        Ok(())
    }

    /// Inode `ino`, which must be in use. Errors: `Invalid` for a number
    /// out of range or a free inode; `Device`.
    pub fn read_inode(&mut self, ino: u32) -> Result<Inode> {
        let inode = self.load_inode(ino)?;
        let orphan = inode.links_count == 0 && self.orphans.contains(&ino);
        if (inode.links_count == 0 && !orphan) || inode.mode == 0 {
            return Err(Error::Invalid);
        }
        Ok(inode)
    }

    /// Loads inode `ino`, lets `change` edit it, and stores it (with the
    /// ctime set to now) unless `change` fails.
    pub(crate) fn update_inode<T>(
        &mut self,
        ino: u32,
        change: impl FnOnce(&mut Inode) -> Result<T>,
    ) -> Result<T> {
        let mut inode = self.read_inode(ino)?;
        let out = change(&mut inode)?;
        inode.ctime = self.now;
        self.store_inode(&inode)?;
        Ok(out)
    }

    /// The group inode `ino` lives in.
    pub(crate) fn inode_group(&self, ino: u32) -> u32 {
        ino.saturating_sub(1) / self.sb.inodes_per_group
    }
}

fn read_gdt<D: BlockDevice>(
    dev: &mut D,
    cache: &mut BlockCache,
    sb: &Superblock,
) -> Result<Vec<GroupDesc>> {
    let per_block = sb.block_size as usize / DESC_SIZE;
    let count = sb.group_count() as usize;
    let mut groups = Vec::with_capacity(count);
    for g in 0..count {
        let blk = sb.first_data_block + 1 + (g / per_block) as u32;
        let at = (g % per_block) * DESC_SIZE;
        let buf = cache.read(dev, blk)?;
        let gd = GroupDesc::parse(buf.get(at..).unwrap_or(&[]), sb)?;
        let free_ok = u32::from(gd.free_blocks_count) <= sb.blocks_per_group
            && u32::from(gd.free_inodes_count) <= sb.inodes_per_group;
        if !free_ok {
            return Err(Error::Corrupted("group free count larger than the group"));
        }
        groups.push(gd);
    }
    Ok(groups)
}
