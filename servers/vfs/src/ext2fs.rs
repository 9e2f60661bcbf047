//! ext2 as a file-system type of the core: `lib/ext2` (the on-disk
//! format, its buffer cache of metadata blocks) adapted to the four
//! operation tables, over any [`BlockDevice`] a [`DeviceOpener`] gives for
//! the mount's source (the server: the block server's `vda`/`ram0`; the
//! host tests: an image in memory).
//!
//! - **File data** lives in the core's page cache. `readpage` reads a page
//!   through ext2's block map; `writepage` writes the part of the page
//!   inside the file, block by block, skipping blocks that are holes and
//!   still all zeros (a sparse file stays sparse). `write_begin` reserves
//!   the blocks behind the bytes a `write` dirties (`Ext2::reserve`), so a
//!   full volume is `ENOSPC` for the `write`, never data lost at writeback.
//! - **Metadata** (superblock, group descriptors, bitmaps, inode tables,
//!   directories, indirect blocks) goes through ext2's own write-back
//!   buffer cache (`ext2::cache::BlockCache`, [`CACHE_BLOCKS`] blocks);
//!   `sync_fs` (the flusher, `sync`, `fsync`, `umount`) writes it out and
//!   flushes the device. Data that `writepage` hands ext2 passes through
//!   that cache too and reaches the disk with it.
//! - **Unlinked open files**: ext2 is told to keep an inode whose last
//!   link goes (`Ext2::set_defer_release`) until the core's `evict_inode`
//!   (its last user gone) or the unmount, so its number is never reused
//!   while the core still knows it. There is no on-disk orphan list: a
//!   crash meanwhile leaves an unattached inode for `e2fsck`.
//! - **Time**: ext2 stamps what it changes itself (links, directories)
//!   with [`set_clock`], which the server keeps current; the times the
//!   core sets come in `write_inode`.
//! - **Errors**: a corrupt image is `EUCLEAN` (refused at mount when the
//!   superblock or group descriptors are bad; per operation otherwise),
//!   a device failure `EIO`, never a panic. `MS_RDONLY` or `-o ro`
//!   mounts read-only, as does an image with unknown read-only-compatible
//!   features (ext2 then says `EROFS` to every change).

use alloc::boxed::Box;
use alloc::collections::BTreeSet;
use alloc::rc::Rc;
use alloc::vec::Vec;
use core::cell::RefCell;
use core::sync::atomic::{AtomicU32, Ordering};

use ext2::{BlockDevice, DeviceError, Ext2, FileType, MountOptions, SetAttr};
use libsys::errno::Errno;

use crate::fs::*;
use crate::types::*;

/// `EXT2_SUPER_MAGIC`, `statfs`'s `f_type`.
pub const EXT2_SUPER_MAGIC: u64 = 0xEF53;
/// Blocks ext2's buffer cache holds per mount (metadata, and data on its
/// way to the disk): 512 blocks, 512 KiB with 1 KiB blocks, 2 MiB with
/// 4 KiB ones.
pub const CACHE_BLOCKS: usize = 512;

/// Seconds since 1970 for ext2's own timestamps (Linux's `xtime`).
static CLOCK: AtomicU32 = AtomicU32::new(0);

/// Sets the wall clock ext2 stamps its own changes with.
pub fn set_clock(seconds: u32) {
    CLOCK.store(seconds, Ordering::Relaxed);
}

/// Failures no caller could be told of (freeing an unlinked inode at its
/// last close, writing out at unmount): the server logs when it grows.
static ERRORS: AtomicU32 = AtomicU32::new(0);

/// How many failures no caller could be told of happened so far.
pub fn silent_errors() -> u32 {
    ERRORS.load(Ordering::Relaxed)
}

/// Opens the block device a mount names.
pub trait DeviceOpener {
    /// The device `source` names (`/dev/vda`): `ENOENT`/`ENXIO` if there
    /// is none, `ENOTBLK` if it is not a block device.
    fn open(&self, source: &[u8], read_only: bool) -> Result<Box<dyn BlockDevice>, Errno>;
}

/// A boxed device as the `BlockDevice` ext2 is generic over.
pub struct DynDevice(pub Box<dyn BlockDevice>);

impl BlockDevice for DynDevice {
    fn sector_size(&self) -> usize {
        self.0.sector_size()
    }
    fn sector_count(&self) -> u64 {
        self.0.sector_count()
    }
    fn read_sectors(&mut self, sector: u64, buf: &mut [u8]) -> Result<(), DeviceError> {
        self.0.read_sectors(sector, buf)
    }
    fn write_sectors(&mut self, sector: u64, buf: &[u8]) -> Result<(), DeviceError> {
        self.0.write_sectors(sector, buf)
    }
    fn flush(&mut self) -> Result<(), DeviceError> {
        self.0.flush()
    }
}

/// The type `mount -t ext2` names.
pub struct Ext2Type {
    opener: Box<dyn DeviceOpener>,
    /// The sources mounted now: a second mount of one is `EBUSY` (two
    /// `Ext2`s caching one volume's metadata would corrupt it).
    busy: Rc<RefCell<BTreeSet<Vec<u8>>>>,
}

impl Ext2Type {
    pub fn new(opener: Box<dyn DeviceOpener>) -> Ext2Type {
        Ext2Type {
            opener,
            busy: Rc::default(),
        }
    }
}

/// The errno of an ext2 error.
fn errno(e: ext2::Error) -> Errno {
    Errno::from_i32(e.errno()).unwrap_or(Errno::EIO)
}

/// `ro`/`rw` and nothing else (`EINVAL`), comma-separated.
fn parse_options(data: &[u8]) -> Result<Option<bool>, Errno> {
    let mut read_only = None;
    for opt in data.split(|&b| b == b',').filter(|o| !o.is_empty()) {
        match opt {
            b"ro" => read_only = Some(true),
            b"rw" => read_only = Some(false),
            b"defaults" => {}
            _ => return Err(Errno::EINVAL),
        }
    }
    Ok(read_only)
}

impl FileSystemType for Ext2Type {
    fn name(&self) -> &'static str {
        "ext2"
    }

    fn requires_device(&self) -> bool {
        true
    }

    fn mount(&self, source: &[u8], flags: u32, data: &[u8]) -> Result<Box<dyn FileSystem>, Errno> {
        let read_only = parse_options(data)?.unwrap_or(false) || flags & MS_RDONLY != 0;
        if self.busy.borrow().contains(source) {
            return Err(Errno::EBUSY);
        }
        let device = DynDevice(self.opener.open(source, read_only)?);
        let options = MountOptions {
            read_only,
            cache_blocks: CACHE_BLOCKS,
        };
        let mut fs = Ext2::mount(device, options).map_err(errno)?;
        fs.set_defer_release(true);
        self.busy.borrow_mut().insert(source.to_vec());
        Ok(Box::new(Ext2Fs {
            fs: Some(fs),
            dirty: false,
            source: source.to_vec(),
            busy: self.busy.clone(),
        }))
    }
}

/// A mounted ext2 volume (the superblock's private part); `None` once
/// `put_super` unmounted it.
pub struct Ext2Fs {
    fs: Option<Ext2<DynDevice>>,
    /// Whether anything changed since the last `sync_fs`: the flusher's
    /// metadata pass writes nothing for an idle volume.
    dirty: bool,
    /// The device's name, taken out of `busy` at `put_super`.
    source: Vec<u8>,
    busy: Rc<RefCell<BTreeSet<Vec<u8>>>>,
}

fn ino32(ino: Ino) -> Result<u32, Errno> {
    u32::try_from(ino).map_err(|_| Errno::ESTALE)
}

fn time(sec: u32) -> Timespec {
    Timespec {
        sec: i64::from(sec),
        nsec: 0,
    }
}

fn secs(t: Timespec) -> u32 {
    t.sec.clamp(0, i64::from(u32::MAX)) as u32
}

fn dtype(t: FileType) -> u8 {
    match t {
        FileType::Regular => DT_REG,
        FileType::Directory => DT_DIR,
        FileType::CharDevice => DT_CHR,
        FileType::BlockDevice => DT_BLK,
        FileType::Fifo => DT_FIFO,
        FileType::Socket => DT_SOCK,
        FileType::Symlink => DT_LNK,
        FileType::Unknown => DT_UNKNOWN,
    }
}

impl Ext2Fs {
    /// The volume, with its clock set; `EIO` after `put_super`.
    fn fs(&mut self) -> Result<&mut Ext2<DynDevice>, Errno> {
        let fs = self.fs.as_mut().ok_or(Errno::EIO)?;
        // Until the server sets the clock, the volume's last write time.
        match CLOCK.load(Ordering::Relaxed) {
            0 => {}
            now => fs.set_time(now),
        }
        Ok(fs)
    }

    /// The volume for a change (so `sync_fs` will write).
    fn fs_mut(&mut self) -> Result<&mut Ext2<DynDevice>, Errno> {
        self.dirty = true;
        self.fs()
    }
}

/// The device is free again, whether the superblock went through
/// `put_super` or was dropped by a mount that failed after `mount`.
impl Drop for Ext2Fs {
    fn drop(&mut self) {
        self.busy.borrow_mut().remove(&self.source);
    }
}

impl SuperOperations for Ext2Fs {
    fn magic(&self) -> u64 {
        EXT2_SUPER_MAGIC
    }

    fn root_ino(&self) -> Ino {
        u64::from(ext2::ROOT_INO)
    }

    fn read_inode(&mut self, ino: Ino) -> Result<InodeAttr, Errno> {
        let i = self.fs()?.read_inode(ino32(ino)?).map_err(|e| match e {
            ext2::Error::Invalid => Errno::ESTALE,
            e => errno(e),
        })?;
        let rdev = if i.is_device() {
            u64::from(i.rdev())
        } else {
            0
        };
        Ok(InodeAttr {
            ino,
            mode: u32::from(i.mode),
            nlink: u32::from(i.links_count),
            uid: i.uid,
            gid: i.gid,
            size: i.size,
            rdev,
            blocks: u64::from(i.blocks),
            atime: time(i.atime),
            mtime: time(i.mtime),
            ctime: time(i.ctime),
        })
    }

    /// Stores what changed: the size of a regular file (`truncate`, which
    /// frees blocks past a smaller one), then mode, owner and times. An
    /// access time alone on a read-only volume is dropped, as `noatime`.
    fn write_inode(&mut self, ino: Ino, attr: &InodeAttr) -> Result<(), Errno> {
        let n = ino32(ino)?;
        let was_dirty = self.dirty;
        let fs = self.fs_mut()?;
        let cur = fs.read_inode(n).map_err(errno)?;
        let perms = (attr.mode & S_IALLUGO) as u16;
        let change = SetAttr {
            mode: (perms != cur.mode & 0o7777).then_some(perms),
            uid: (attr.uid != cur.uid).then_some(attr.uid),
            gid: (attr.gid != cur.gid).then_some(attr.gid),
            atime: (secs(attr.atime) != cur.atime).then_some(secs(attr.atime)),
            mtime: (secs(attr.mtime) != cur.mtime).then_some(secs(attr.mtime)),
        };
        let resize = cur.is_reg() && attr.size != cur.size;
        let only_atime = !resize
            && change.mode.is_none()
            && change.uid.is_none()
            && change.gid.is_none()
            && change.mtime.is_none();
        if (change.atime.is_none() || fs.is_read_only()) && only_atime {
            self.dirty = was_dirty;
            return Ok(());
        }
        // ext2 stamps the ctime of what it changes with its clock: the
        // core's ctime for this change.
        if attr.ctime.sec > 0 {
            fs.set_time(secs(attr.ctime));
        }
        if resize {
            fs.truncate(n, attr.size).map_err(errno)?;
        }
        fs.setattr(n, change).map_err(errno)?;
        Ok(())
    }

    fn evict_inode(&mut self, ino: Ino) {
        if let (Ok(fs), Ok(n)) = (self.fs_mut(), ino32(ino)) {
            if fs.release_orphan(n).is_err() {
                ERRORS.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    fn statfs(&self) -> StatFs {
        let Some(fs) = self.fs.as_ref() else {
            return StatFs::default();
        };
        let s = fs.statfs();
        StatFs {
            f_type: EXT2_SUPER_MAGIC,
            f_bsize: u64::from(s.block_size),
            f_blocks: s.blocks,
            f_bfree: s.free_blocks,
            f_bavail: s.available_blocks,
            f_files: s.inodes,
            f_ffree: s.free_inodes,
            f_fsid: 0,
            f_namelen: u64::from(s.name_max),
            f_frsize: u64::from(s.block_size),
            f_flags: if fs.is_read_only() {
                u64::from(MS_RDONLY)
            } else {
                0
            },
        }
    }

    fn sync_fs(&mut self) -> Result<(), Errno> {
        if !self.dirty {
            return Ok(());
        }
        let fs = self.fs()?;
        if !fs.is_read_only() {
            fs.sync().map_err(errno)?;
        }
        self.dirty = false;
        Ok(())
    }

    fn max_file_size(&self) -> u64 {
        self.fs.as_ref().map_or(0, |fs| fs.max_file_size())
    }

    /// Writes everything out and marks the volume clean (as it was found).
    fn put_super(&mut self) {
        if let Some(fs) = self.fs.take() {
            if fs.unmount().is_err() {
                ERRORS.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

impl InodeOperations for Ext2Fs {
    fn lookup(&mut self, dir: Ino, name: &[u8]) -> Result<Option<Ino>, Errno> {
        match self.fs()?.lookup(ino32(dir)?, name) {
            Ok(ino) => Ok(Some(u64::from(ino))),
            Err(ext2::Error::NotFound) => Ok(None),
            Err(e) => Err(errno(e)),
        }
    }

    fn create(&mut self, dir: Ino, name: &[u8], new: &NewInode<'_>) -> Result<Ino, Errno> {
        let dir = ino32(dir)?;
        let fs = self.fs_mut()?;
        if new.time.sec > 0 {
            fs.set_time(secs(new.time));
        }
        let perms = (new.mode & S_IALLUGO) as u16;
        let (uid, gid) = (new.uid, new.gid);
        let made = match new.mode & S_IFMT {
            S_IFREG => fs.create(dir, name, perms, uid, gid),
            S_IFDIR => fs.mkdir(dir, name, perms, uid, gid),
            S_IFLNK => fs.symlink(dir, name, new.symlink, uid, gid),
            _ => {
                let rdev = u32::try_from(new.rdev).map_err(|_| Errno::EINVAL)?;
                let mode = (new.mode & (S_IFMT | S_IALLUGO)) as u16;
                fs.mknod(dir, name, mode, rdev, uid, gid)
            }
        };
        made.map(|i| u64::from(i.ino)).map_err(errno)
    }

    fn link(&mut self, dir: Ino, name: &[u8], ino: Ino) -> Result<(), Errno> {
        let (dir, ino) = (ino32(dir)?, ino32(ino)?);
        self.fs_mut()?.link(ino, dir, name).map_err(errno)
    }

    fn unlink(&mut self, dir: Ino, name: &[u8]) -> Result<(), Errno> {
        let dir = ino32(dir)?;
        self.fs_mut()?.unlink(dir, name).map_err(errno)
    }

    fn rmdir(&mut self, dir: Ino, name: &[u8]) -> Result<(), Errno> {
        let dir = ino32(dir)?;
        self.fs_mut()?.rmdir(dir, name).map_err(errno)
    }

    fn rename(&mut self, a: Ino, an: &[u8], b: Ino, bn: &[u8]) -> Result<(), Errno> {
        let (a, b) = (ino32(a)?, ino32(b)?);
        self.fs_mut()?.rename(a, an, b, bn).map_err(errno)
    }

    fn readlink(&mut self, ino: Ino) -> Result<Vec<u8>, Errno> {
        let ino = ino32(ino)?;
        self.fs()?.readlink(ino).map_err(errno)
    }

    fn is_empty_dir(&mut self, dir: Ino) -> Result<bool, Errno> {
        let dir = ino32(dir)?;
        let mut empty = true;
        self.fs()?
            .readdir(dir, 0, |e| {
                if e.name != b"." && e.name != b".." {
                    empty = false;
                }
                empty
            })
            .map_err(errno)?;
        Ok(empty)
    }
}

impl FileOperations for Ext2Fs {
    /// Positions from 2 on are ext2's directory cookies (byte offsets of
    /// the records) plus 2; ext2's own `.` and `..` records are skipped,
    /// since the core reports those.
    fn readdir(
        &mut self,
        dir: Ino,
        pos: u64,
        emit: &mut dyn FnMut(&DirEntry<'_>) -> bool,
    ) -> Result<(), Errno> {
        let dir = ino32(dir)?;
        let cookie = pos.saturating_sub(2);
        self.fs()?
            .readdir(dir, cookie, |e| {
                if e.name == b"." || e.name == b".." {
                    return true;
                }
                emit(&DirEntry {
                    ino: u64::from(e.ino),
                    name: e.name,
                    dtype: dtype(e.file_type),
                    next_pos: e.next + 2,
                })
            })
            .map_err(errno)?;
        Ok(())
    }
}

impl AddressSpaceOperations for Ext2Fs {
    fn readpage(&mut self, ino: Ino, index: u64, page: &mut [u8]) -> Result<PageIo, Errno> {
        let ino = ino32(ino)?;
        let at = index.checked_mul(PAGE_SIZE as u64).ok_or(Errno::EFBIG)?;
        let n = self.fs()?.read(ino, at, page).map_err(errno)?;
        page[n..].fill(0);
        Ok(PageIo::Done)
    }

    fn writepage(&mut self, ino: Ino, index: u64, page: &[u8]) -> Result<(), Errno> {
        let n = ino32(ino)?;
        let fs = self.fs_mut()?;
        if fs.is_read_only() {
            return Err(Errno::EROFS);
        }
        let size = fs.read_inode(n).map_err(errno)?.size;
        let start = index.checked_mul(PAGE_SIZE as u64).ok_or(Errno::EFBIG)?;
        if start >= size {
            return Ok(());
        }
        let valid = (size - start).min(PAGE_SIZE as u64) as usize;
        let bs = fs.block_size() as usize;
        for (i, chunk) in page[..valid].chunks(bs).enumerate() {
            let at = start + (i * bs) as u64;
            let hole = fs.bmap(n, at / bs as u64).map_err(errno)?.is_none();
            if hole && chunk.iter().all(|&b| b == 0) {
                continue;
            }
            let written = fs.write(n, at, chunk).map_err(errno)?;
            if written < chunk.len() {
                return Err(Errno::ENOSPC);
            }
        }
        Ok(())
    }

    fn write_begin(&mut self, ino: Ino, index: u64, from: usize, to: usize) -> Result<(), Errno> {
        let n = ino32(ino)?;
        let at = index.checked_mul(PAGE_SIZE as u64).ok_or(Errno::EFBIG)? + from as u64;
        let len = to.saturating_sub(from) as u64;
        self.fs_mut()?.reserve(n, at, len).map_err(errno)
    }
}
