//! What a file system gives the core: LKD chapter 13's operation tables as
//! traits, and the file-system type that mounts one.
//!
//! - [`FileSystemType`] (Linux's `struct file_system_type`): a name and a
//!   `mount` that reads or makes a superblock's private part.
//! - [`SuperOperations`] (`super_operations`): the root, reading and writing
//!   inodes by number, freeing an unlinked one, `statfs`, `sync_fs`.
//! - [`InodeOperations`] (`inode_operations`): the namespace — `lookup`,
//!   `create` (files, directories, symlinks, nodes), `link`, `unlink`,
//!   `rmdir`, `rename`, `readlink`.
//! - [`FileOperations`] (`file_operations`): `readdir` (`iterate_shared`),
//!   `open`/`release`/`fsync`, and `read`/`write` for files that are not
//!   cached (generated files such as procfs's).
//! - [`AddressSpaceOperations`] (`address_space_operations`, LKD 16):
//!   `readpage` and `writepage` between the page cache and the store.
//!
//! A mounted file system is one object implementing all four
//! ([`FileSystem`]); the core calls it by inode number, keeps the in-core
//! inodes, dentries and pages itself, and checks permissions and types
//! before it calls, so an implementation sees only well-formed requests:
//! names are 1..=NAME_MAX bytes without `/` or NUL and never `.` or `..`,
//! directories are directories, and a target of `create` does not exist.

use alloc::boxed::Box;
use alloc::vec::Vec;
use libsys::errno::Errno;

use crate::types::{ClientId, Ino, InodeAttr, NewInode, StatFs};

/// One entry `readdir` reports.
#[derive(Clone, Copy, Debug)]
pub struct DirEntry<'a> {
    pub ino: Ino,
    pub name: &'a [u8],
    /// `DT_*` of the entry.
    pub dtype: u8,
    /// The position to resume at to read the entries after this one.
    pub next_pos: u64,
}

/// A kind of file system the registry knows by name.
pub trait FileSystemType {
    /// The name `mount -t` uses, e.g. `"tmpfs"`.
    fn name(&self) -> &'static str;
    /// Whether a mount names a block device as its source (ext2) or not
    /// (tmpfs, procfs).
    fn requires_device(&self) -> bool {
        false
    }
    /// Makes the private part of a new superblock (Linux's `fill_super`).
    /// `source` is the device or a name, `data` the option string.
    /// Fails with the errno `mount` returns (`EINVAL` for bad options,
    /// `EUCLEAN`/`EIO` for a corrupt volume).
    fn mount(&self, source: &[u8], flags: u32, data: &[u8]) -> Result<Box<dyn FileSystem>, Errno>;
}

/// The superblock's operations.
pub trait SuperOperations {
    /// `f_type` of `statfs` (e.g. `TMPFS_MAGIC`).
    fn magic(&self) -> u64;
    fn root_ino(&self) -> Ino;
    /// The attributes of inode `ino` (`ESTALE` if it does not exist).
    fn read_inode(&mut self, ino: Ino) -> Result<InodeAttr, Errno>;
    /// Stores changed attributes (the core calls it for every change).
    fn write_inode(&mut self, ino: Ino, attr: &InodeAttr) -> Result<(), Errno>;
    /// The last link and the last user of `ino` are gone: free it.
    fn evict_inode(&mut self, ino: Ino);
    fn statfs(&self) -> StatFs;
    /// Writes every piece of metadata the file system buffers.
    fn sync_fs(&mut self) -> Result<(), Errno> {
        Ok(())
    }
    /// Whether the page cache is the only copy of file data (tmpfs): its
    /// pages are never written back or dropped, and a linked inode stays
    /// in core.
    fn in_memory(&self) -> bool {
        false
    }
    /// The largest file size (`EFBIG` beyond).
    fn max_file_size(&self) -> u64;
    /// The superblock goes away (its last mount was unmounted).
    fn put_super(&mut self) {}
    /// Whether dcache hits must be checked with
    /// [`InodeOperations::d_revalidate`] (procfs: processes come and go
    /// behind the cache's back).
    fn revalidates(&self) -> bool {
        false
    }
}

/// The namespace operations of directories and symbolic links.
pub trait InodeOperations {
    /// The inode `name` names in directory `dir`, or `None`.
    fn lookup(&mut self, dir: Ino, name: &[u8]) -> Result<Option<Ino>, Errno>;
    /// Makes a new inode named `name` in `dir` (`ENOSPC` when full).
    fn create(&mut self, dir: Ino, name: &[u8], new: &NewInode<'_>) -> Result<Ino, Errno>;
    /// A new name for inode `ino`.
    fn link(&mut self, dir: Ino, name: &[u8], ino: Ino) -> Result<(), Errno>;
    /// Removes the name of a non-directory.
    fn unlink(&mut self, dir: Ino, name: &[u8]) -> Result<(), Errno>;
    /// Removes an empty directory.
    fn rmdir(&mut self, dir: Ino, name: &[u8]) -> Result<(), Errno>;
    /// Moves a name, replacing what `new_name` named (the core checked
    /// the types and that a replaced directory is empty).
    fn rename(
        &mut self,
        old_dir: Ino,
        old_name: &[u8],
        new_dir: Ino,
        new_name: &[u8],
    ) -> Result<(), Errno>;
    /// The target of a symbolic link.
    fn readlink(&mut self, ino: Ino) -> Result<Vec<u8>, Errno>;
    /// Whether a directory holds nothing but `.` and `..`.
    fn is_empty_dir(&mut self, dir: Ino) -> Result<bool, Errno>;
    /// The target of a symbolic link as `caller` sees it (Linux's
    /// `get_link` with `current`): procfs's `self` names the caller's
    /// pid. Defaults to [`InodeOperations::readlink`].
    fn readlink_as(&mut self, ino: Ino, _caller: ClientId) -> Result<Vec<u8>, Errno> {
        self.readlink(ino)
    }
    /// Whether the cached answer `ino` (`None`: negative) for `name` in
    /// `dir` still holds (`d_revalidate`); asked on every dcache hit of a
    /// file system whose [`SuperOperations::revalidates`] is true.
    fn d_revalidate(&mut self, _dir: Ino, _name: &[u8], _ino: Option<Ino>) -> bool {
        true
    }
}

/// Implements [`InodeOperations`] and [`FileOperations`] for `$ty` by
/// passing every call to its field `$inner` (a file system built over
/// another, as devfs over a tmpfs: Linux's devtmpfs over shmem). The
/// provided methods keep their defaults.
#[macro_export]
macro_rules! forward_tree_operations {
    ($ty:ty, $inner:ident) => {
        impl $crate::fs::InodeOperations for $ty {
            fn lookup(
                &mut self,
                dir: $crate::types::Ino,
                name: &[u8],
            ) -> Result<Option<$crate::types::Ino>, $crate::Errno> {
                self.$inner.lookup(dir, name)
            }
            fn create(
                &mut self,
                dir: $crate::types::Ino,
                name: &[u8],
                new: &$crate::types::NewInode<'_>,
            ) -> Result<$crate::types::Ino, $crate::Errno> {
                self.$inner.create(dir, name, new)
            }
            fn link(
                &mut self,
                dir: $crate::types::Ino,
                name: &[u8],
                ino: $crate::types::Ino,
            ) -> Result<(), $crate::Errno> {
                self.$inner.link(dir, name, ino)
            }
            fn unlink(
                &mut self,
                dir: $crate::types::Ino,
                name: &[u8],
            ) -> Result<(), $crate::Errno> {
                self.$inner.unlink(dir, name)
            }
            fn rmdir(&mut self, dir: $crate::types::Ino, name: &[u8]) -> Result<(), $crate::Errno> {
                self.$inner.rmdir(dir, name)
            }
            fn rename(
                &mut self,
                old_dir: $crate::types::Ino,
                old_name: &[u8],
                new_dir: $crate::types::Ino,
                new_name: &[u8],
            ) -> Result<(), $crate::Errno> {
                self.$inner.rename(old_dir, old_name, new_dir, new_name)
            }
            fn readlink(&mut self, ino: $crate::types::Ino) -> Result<Vec<u8>, $crate::Errno> {
                self.$inner.readlink(ino)
            }
            fn is_empty_dir(&mut self, dir: $crate::types::Ino) -> Result<bool, $crate::Errno> {
                self.$inner.is_empty_dir(dir)
            }
        }

        impl $crate::fs::FileOperations for $ty {
            fn readdir(
                &mut self,
                dir: $crate::types::Ino,
                pos: u64,
                emit: &mut dyn FnMut(&$crate::fs::DirEntry<'_>) -> bool,
            ) -> Result<(), $crate::Errno> {
                self.$inner.readdir(dir, pos, emit)
            }
        }
    };
}

/// The operations of an open file.
pub trait FileOperations {
    /// Reports the entries of `dir` from position `pos` on (positions 0
    /// and 1 are `.` and `..`, which the core makes; a file system's start
    /// at 2) until `emit` returns `false` or the directory ends.
    fn readdir(
        &mut self,
        dir: Ino,
        pos: u64,
        emit: &mut dyn FnMut(&DirEntry<'_>) -> bool,
    ) -> Result<(), Errno>;
    /// Whether the data of `ino` bypasses the page cache (generated files):
    /// then `read` and `write` serve it.
    fn is_uncached(&self, _ino: Ino) -> bool {
        false
    }
    fn read(&mut self, _ino: Ino, _pos: u64, _buf: &mut [u8]) -> Result<usize, Errno> {
        Err(Errno::EINVAL)
    }
    fn write(&mut self, _ino: Ino, _pos: u64, _buf: &[u8]) -> Result<usize, Errno> {
        Err(Errno::EINVAL)
    }
    fn open(&mut self, _ino: Ino, _flags: u32) -> Result<(), Errno> {
        Ok(())
    }
    fn release(&mut self, _ino: Ino) {}
    /// A generated file's whole contents as of now, made once per open
    /// (the snapshot Linux's `seq_file` keeps, so reads at any offset of
    /// one open agree): `None` for a file read through
    /// [`FileOperations::read`] or the page cache. `ctx` is what the
    /// core knows that a file system does not (the caller, the mount
    /// table, the caches).
    fn snapshot(&mut self, _ino: Ino, _ctx: &FsContext) -> Option<Result<Vec<u8>, Errno>> {
        None
    }
}

/// The core's own figures, for generated files ([`FileOperations::snapshot`]).
#[derive(Clone, Debug, Default)]
pub struct FsContext {
    /// Who opens, and its file-system uid and gid.
    pub caller: ClientId,
    pub caller_uid: u32,
    pub caller_gid: u32,
    /// The flags of the open the snapshot is for.
    pub open_flags: u32,
    /// `/proc/mounts`.
    pub mounts: Vec<u8>,
    /// `/proc/filesystems`: each type and whether it needs a device.
    pub filesystems: Vec<(&'static str, bool)>,
    /// `/proc/sys/fs/dentry-state`.
    pub dentry_state: crate::dcache::DentryState,
    /// `Cached:`, `Dirty:`, `Writeback:`.
    pub page_cache: crate::pagecache::PageCacheStats,
    /// Open files and the server's limit (`file-nr`).
    pub nr_files: usize,
    pub file_max: usize,
    /// In-core inodes (`inode-nr`).
    pub nr_inodes: usize,
}

/// What `readpage` did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PageIo {
    /// The page is filled.
    Done,
    /// The read was started; the data will come through
    /// `Vfs::complete_readpage` (a disk behind the block server).
    Pending,
}

/// Between the page cache and the store (LKD 16).
pub trait AddressSpaceOperations {
    /// Fills `page` with the data at page `index` of `ino` (zeros for a
    /// hole or past the end), or starts reading it and says
    /// [`PageIo::Pending`].
    fn readpage(&mut self, ino: Ino, index: u64, page: &mut [u8]) -> Result<PageIo, Errno>;
    /// Writes page `index` of `ino` to the store (`EIO` on failure; the
    /// page stays dirty).
    fn writepage(&mut self, ino: Ino, index: u64, page: &[u8]) -> Result<(), Errno>;
    /// Linux's `write_begin`: bytes `from..to` of page `index` of `ino`
    /// are about to be written into the cache. A disk file system takes
    /// the blocks behind them here, so that a full volume is `ENOSPC` for
    /// the `write` rather than data lost at writeback. The default takes
    /// nothing.
    fn write_begin(
        &mut self,
        _ino: Ino,
        _index: u64,
        _from: usize,
        _to: usize,
    ) -> Result<(), Errno> {
        Ok(())
    }
}

/// A mounted file system: the four tables in one object.
pub trait FileSystem:
    SuperOperations + InodeOperations + FileOperations + AddressSpaceOperations
{
}

impl<T: SuperOperations + InodeOperations + FileOperations + AddressSpaceOperations> FileSystem
    for T
{
}
