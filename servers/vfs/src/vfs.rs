//! The core's state and its lifetimes: the file-system registry, the
//! superblocks, the in-core inodes (LKD 13, "The Inode Object"), the
//! dcache, the mount table, open files, pipes, the page cache and the
//! clients (file table, working and root directories, umask, credentials).
//!
//! Everything the system calls use lives in [`Vfs`]; the calls themselves
//! are `impl Vfs` blocks in `client`, `namei`, `open`, `rw`, `filemap`,
//! `namespace`, `attr`, `fdops`, `pipeops` and `mountops`. Reference counts tie the objects together:
//! a [`Path`] held by a file or a client pins its dentry and its mount; a
//! positive dentry or an open file pins its inode ([`Inode::refs`]); an
//! inode with no references and no links is evicted (its pages dropped and
//! its file system told).

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use libsys::errno::Errno;

use crate::dcache::{Dcache, DentryId};
use crate::file::{FdTable, File, FileId, FileKind, PipeId};
use crate::fs::{FileSystem, FileSystemType};
use crate::mount::{MountTable, Path};
use crate::pagecache::{PageCache, PageProvider};
use crate::pipe::Pipe;
use crate::slab::Slab;
use crate::types::*;

/// A mounted file system (LKD's `struct super_block`).
pub struct SuperBlock {
    pub fs_type: &'static str,
    pub fs: Box<dyn FileSystem>,
    pub root: DentryId,
    /// `MS_RDONLY` and friends.
    pub flags: u32,
    /// `st_dev` of its files.
    pub dev: u64,
    /// Mounts of it (a superblock goes with its last mount).
    pub mounts: u32,
    /// The file system keeps its data only in the page cache.
    pub in_memory: bool,
    /// Its dcache hits are revalidated (`SuperOperations::revalidates`).
    pub revalidates: bool,
}

/// An in-core inode: the cached attributes and its users.
#[derive(Clone, Debug)]
pub struct Inode {
    pub attr: InodeAttr,
    /// Positive dentries naming it plus open files.
    pub refs: u32,
}

/// One client's process-wide file state.
#[derive(Clone, Debug)]
pub struct Client {
    pub fds: FdTable,
    pub cwd: Path,
    pub root: Path,
    pub umask: u32,
    /// Shared with the walks that check permissions with it (a clone is
    /// a count, not a copy of the groups).
    pub cred: alloc::rc::Rc<Cred>,
    /// `RLIMIT_NOFILE`: descriptors at or above it are refused (`EMFILE`).
    pub nofile: usize,
}

/// Bounds the server keeps (the system-wide ones of Linux's
/// `/proc/sys/fs`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Open files in the whole server (`file-max`): `ENFILE` beyond.
    pub file_max: usize,
    /// Default `RLIMIT_NOFILE` of a new client.
    pub nofile: usize,
    /// Clients at most (`EAGAIN` beyond).
    pub clients: usize,
    /// Dentries [`Vfs::trim_caches`] keeps at most.
    pub dentries: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            file_max: 8192,
            nofile: 1024,
            clients: 1024,
            dentries: 65536,
        }
    }
}

/// Where a read's bytes go: a buffer, or in the server the caller's
/// grant window, so that a read from the page cache copies each page
/// once, from its frame straight to the caller.
pub trait ReadSink {
    /// The most bytes the read may deliver.
    fn capacity(&self) -> usize;
    /// Puts `data` at `at` bytes from the start (`at + data.len()` is at
    /// most the capacity). `EFAULT` if it cannot.
    fn put(&mut self, at: usize, data: &[u8]) -> Result<(), Errno>;
}

impl ReadSink for &mut [u8] {
    fn capacity(&self) -> usize {
        self.len()
    }
    fn put(&mut self, at: usize, data: &[u8]) -> Result<(), Errno> {
        self.get_mut(at..at + data.len())
            .ok_or(Errno::EFAULT)?
            .copy_from_slice(data);
        Ok(())
    }
}

/// A page of zeros: what a hole reads as.
pub(crate) static ZERO_PAGE: [u8; crate::types::PAGE_SIZE] = [0; crate::types::PAGE_SIZE];

/// The outcome of an operation that may have to wait.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Io {
    /// Done: this many bytes.
    Done(usize),
    /// The caller must wait (it is now on the object's wait list and will
    /// be among [`Vfs::take_wakeups`] when it may retry); this many bytes
    /// were moved already.
    Blocked(usize),
}

/// The VFS core.
pub struct Vfs {
    pub(crate) registry: Vec<Box<dyn FileSystemType>>,
    pub(crate) supers: Slab<SuperBlock>,
    pub(crate) inodes: BTreeMap<InodeKey, Inode>,
    pub dcache: Dcache,
    pub mounts: MountTable,
    pub(crate) files: Slab<File>,
    pub(crate) pipes: Slab<Pipe>,
    pub(crate) clients: BTreeMap<ClientId, Client>,
    pub pcache: PageCache<InodeKey>,
    pub(crate) root: Option<Path>,
    pub(crate) wakeups: Vec<ClientId>,
    /// Pages whose `readpage` is pending, with the clients waiting.
    pub(crate) in_flight: BTreeMap<(InodeKey, u64), Vec<ClientId>>,
    /// Pending reads that failed, for the next reader of the page.
    pub(crate) failed_reads: BTreeMap<(InodeKey, u64), Errno>,
    pub(crate) now: Timespec,
    pub limits: Limits,
    next_dev: u64,
    pub(crate) next_pipe_ino: Ino,
    /// FIFOs open or being opened (`fifo`).
    pub(crate) fifos: crate::fifo::Fifos,
}

impl Io {
    /// The bytes moved, done or not.
    pub fn count(self) -> usize {
        match self {
            Io::Done(n) | Io::Blocked(n) => n,
        }
    }
}

impl Vfs {
    /// An empty core: no file system registered, nothing mounted.
    pub fn new(provider: Box<dyn PageProvider>, limits: Limits) -> Vfs {
        Vfs {
            registry: Vec::new(),
            supers: Slab::default(),
            inodes: BTreeMap::new(),
            dcache: Dcache::new(),
            mounts: MountTable::default(),
            files: Slab::default(),
            pipes: Slab::default(),
            clients: BTreeMap::new(),
            pcache: PageCache::new(provider),
            root: None,
            wakeups: Vec::new(),
            in_flight: BTreeMap::new(),
            failed_reads: BTreeMap::new(),
            now: Timespec::default(),
            limits,
            next_dev: 1,
            next_pipe_ino: 1,
            fifos: Default::default(),
        }
    }

    /// Sets the time stamps of later changes (the server keeps it current).
    pub fn set_time(&mut self, now: Timespec) {
        self.now = now;
    }

    /// The page cache's clock: centiseconds.
    pub(crate) fn ticks(&self) -> u64 {
        (self.now.sec.max(0) as u64) * 100 + (self.now.nsec.max(0) as u64) / 10_000_000
    }

    /// Adds a file-system type (`register_filesystem`); `EBUSY` if one of
    /// that name is registered.
    pub fn register_filesystem(&mut self, fs: Box<dyn FileSystemType>) -> Result<(), Errno> {
        if self.registry.iter().any(|t| t.name() == fs.name()) {
            return Err(Errno::EBUSY);
        }
        self.registry.push(fs);
        Ok(())
    }

    /// `/proc/filesystems`: each type, `nodev` first for those without a
    /// device.
    pub fn filesystems(&self) -> Vec<(&'static str, bool)> {
        self.registry
            .iter()
            .map(|t| (t.name(), t.requires_device()))
            .collect()
    }

    /// Makes a superblock of type `fs_type` (`ENODEV` if unknown).
    pub(crate) fn make_super(
        &mut self,
        fs_type: &str,
        source: &[u8],
        flags: u32,
        data: &[u8],
    ) -> Result<crate::types::SbId, Errno> {
        let ty = self
            .registry
            .iter()
            .find(|t| t.name() == fs_type)
            .ok_or(Errno::ENODEV)?;
        let name = ty.name();
        let mut fs = ty.mount(source, flags, data)?;
        let root_ino = fs.root_ino();
        let root_attr = fs.read_inode(root_ino)?;
        if !is_dir(root_attr.mode) {
            return Err(Errno::ENOTDIR);
        }
        let in_memory = fs.in_memory();
        let revalidates = fs.revalidates();
        let dev = self.next_dev;
        self.next_dev += 1;
        let sb = self.supers.insert(SuperBlock {
            fs_type: name,
            fs,
            root: 0,
            flags,
            dev,
            mounts: 0,
            in_memory,
            revalidates,
        });
        let root = self.dcache.alloc_root(sb, root_ino);
        self.inodes.insert(
            (sb, root_ino),
            Inode {
                attr: root_attr,
                refs: 1,
            },
        );
        if let Some(s) = self.supers.get_mut(sb) {
            s.root = root;
        }
        Ok(sb)
    }

    pub(crate) fn sb(&self, sb: crate::types::SbId) -> Result<&SuperBlock, Errno> {
        self.supers.get(sb).ok_or(Errno::ESTALE)
    }
    pub(crate) fn sb_mut(&mut self, sb: crate::types::SbId) -> Result<&mut SuperBlock, Errno> {
        self.supers.get_mut(sb).ok_or(Errno::ESTALE)
    }
    pub(crate) fn fs(&mut self, sb: crate::types::SbId) -> Result<&mut dyn FileSystem, Errno> {
        Ok(self.sb_mut(sb)?.fs.as_mut())
    }

    // ---- inodes ----

    /// Takes a reference on inode `key`, reading it in if needed (`iget`).
    pub(crate) fn iget(&mut self, key: InodeKey) -> Result<(), Errno> {
        if let Some(inode) = self.inodes.get_mut(&key) {
            inode.refs += 1;
            return Ok(());
        }
        let attr = self.fs(key.0)?.read_inode(key.1)?;
        self.inodes.insert(key, Inode { attr, refs: 1 });
        Ok(())
    }

    /// Drops a reference (`iput`): an unlinked inode with no user left is
    /// evicted; a cached one of a disk file system leaves core once its
    /// pages are gone.
    pub(crate) fn iput(&mut self, key: InodeKey) {
        let Some(inode) = self.inodes.get_mut(&key) else {
            return;
        };
        inode.refs = inode.refs.saturating_sub(1);
        if inode.refs > 0 {
            return;
        }
        let nlink = inode.attr.nlink;
        let in_memory = self.supers.get(key.0).is_none_or(|s| s.in_memory);
        if nlink == 0 {
            self.pcache.remove_space(key);
            self.inodes.remove(&key);
            if let Ok(fs) = self.fs(key.0) {
                fs.evict_inode(key.1);
            }
        } else if !in_memory && self.pcache.nr_pages(key) == 0 {
            self.inodes.remove(&key);
        }
    }

    pub(crate) fn iput_all(&mut self, keys: Vec<InodeKey>) {
        for key in keys {
            self.iput(key);
        }
    }

    /// The cached attributes of `key` (`ESTALE` if not in core).
    pub(crate) fn attr(&self, key: InodeKey) -> Result<InodeAttr, Errno> {
        self.inodes.get(&key).map(|i| i.attr).ok_or(Errno::ESTALE)
    }

    /// Rereads `key`'s attributes after the file system changed them
    /// (link counts after namespace operations).
    pub(crate) fn refresh(&mut self, key: InodeKey) -> Result<(), Errno> {
        if !self.inodes.contains_key(&key) {
            return Ok(());
        }
        let attr = self.fs(key.0)?.read_inode(key.1)?;
        if let Some(inode) = self.inodes.get_mut(&key) {
            inode.attr = attr;
        }
        Ok(())
    }

    /// Changes `key`'s attributes and writes them through to the file
    /// system (`mark_inode_dirty` + `write_inode`).
    pub(crate) fn set_attr(
        &mut self,
        key: InodeKey,
        change: impl FnOnce(&mut InodeAttr),
    ) -> Result<(), Errno> {
        let inode = self.inodes.get_mut(&key).ok_or(Errno::ESTALE)?;
        change(&mut inode.attr);
        let attr = inode.attr;
        self.fs(key.0)?.write_inode(key.1, &attr)
    }

    /// Stamps mtime and ctime of `key` with the current time.
    pub(crate) fn touch_mc(&mut self, key: InodeKey) -> Result<(), Errno> {
        let now = self.now;
        self.set_attr(key, |a| {
            a.mtime = now;
            a.ctime = now;
        })
    }

    pub(crate) fn touch_c(&mut self, key: InodeKey) -> Result<(), Errno> {
        let now = self.now;
        self.set_attr(key, |a| a.ctime = now)
    }

    // ---- paths ----

    /// Pins a path (`path_get`).
    pub(crate) fn path_get(&mut self, p: Path) {
        self.dcache.dget(p.dentry);
        if let Some(m) = self.mounts.get_mut(p.mnt) {
            m.refs += 1;
        }
    }

    /// Unpins a path (`path_put`).
    pub(crate) fn path_put(&mut self, p: Path) {
        if let Some(m) = self.mounts.get_mut(p.mnt) {
            m.refs = m.refs.saturating_sub(1);
        }
        let released = self.dcache.dput(p.dentry);
        self.iput_all(released);
    }

    /// The inode a path names (`ENOENT` for a negative dentry).
    pub(crate) fn path_key(&self, p: Path) -> Result<InodeKey, Errno> {
        self.dcache.get(p.dentry).key().ok_or(Errno::ENOENT)
    }

    // ---- open files ----

    /// A new open file with one reference (`ENFILE` past `file_max`).
    pub(crate) fn alloc_file(&mut self, kind: FileKind, flags: u32) -> Result<FileId, Errno> {
        if self.files.len() >= self.limits.file_max {
            return Err(Errno::ENFILE);
        }
        Ok(self.files.insert(File {
            kind,
            flags,
            pos: 0,
            refs: 1,
            ra: Default::default(),
            snapshot: None,
        }))
    }

    pub(crate) fn file(&self, id: FileId) -> Result<&File, Errno> {
        self.files.get(id).ok_or(Errno::EBADF)
    }
    pub(crate) fn file_mut(&mut self, id: FileId) -> Result<&mut File, Errno> {
        self.files.get_mut(id).ok_or(Errno::EBADF)
    }

    /// Drops a reference on an open file (`fput`); the last one releases
    /// its inode or pipe end.
    pub(crate) fn fput(&mut self, id: FileId) {
        let Some(f) = self.files.get_mut(id) else {
            return;
        };
        f.refs -= 1;
        if f.refs > 0 {
            return;
        }
        let Some(file) = self.files.remove(id) else {
            return;
        };
        match file.kind {
            FileKind::Inode { key, path } => {
                if let Ok(fs) = self.fs(key.0) {
                    fs.release(key.1);
                }
                self.iput(key);
                self.path_put(path);
            }
            FileKind::Pipe { pipe, write_end } => self.pipe_file_release(id, pipe, write_end),
        }
    }

    /// Open files in the whole server (`/proc/sys/fs/file-nr`'s first
    /// figure).
    pub fn nr_files(&self) -> usize {
        self.files.len()
    }

    /// The clients whose waits may have ended since the last call; the
    /// server retries their operations.
    pub fn take_wakeups(&mut self) -> Vec<ClientId> {
        let mut w = Vec::new();
        self.take_wakeups_into(&mut w);
        w
    }

    /// As [`Vfs::take_wakeups`], into `out` (emptied first), the two
    /// lists trading their buffers: a server that keeps `out` allocates
    /// nothing for wake-ups once both have room.
    pub fn take_wakeups_into(&mut self, out: &mut Vec<ClientId>) {
        out.clear();
        core::mem::swap(&mut self.wakeups, out);
        out.sort_unstable();
        out.dedup();
    }

    pub(crate) fn wake(&mut self, who: Vec<ClientId>) {
        self.wakeups.extend(who);
    }

    pub(crate) fn pipe(&mut self, id: PipeId) -> Result<&mut Pipe, Errno> {
        self.pipes.get_mut(id).ok_or(Errno::EBADF)
    }

    /// Shrinks the dentry cache by up to `nr` unused dentries (the memory
    /// server's shrinker); returns how many inodes were released with them.
    pub fn shrink_dcache(&mut self, nr: u64) -> usize {
        let released = self.dcache.shrink(nr);
        let n = released.len();
        self.iput_all(released);
        n
    }

    /// Brings the dentry cache back under its limit (unused dentries,
    /// oldest first). The server calls it after every request; the core
    /// never shrinks in the middle of one.
    pub fn trim_caches(&mut self) {
        let n = self.dcache.state().nr_dentry;
        if n > self.limits.dentries {
            self.shrink_dcache(n - self.limits.dentries);
        }
    }

    /// The page cache's counters (`Cached:`, `Dirty:`, `Writeback:`).
    pub fn page_cache_stats(&self) -> crate::pagecache::PageCacheStats {
        self.pcache.stats()
    }

    /// Shrinks the page cache by up to `nr` clean pages; returns the pages
    /// freed.
    pub fn shrink_pages(&mut self, nr: u64) -> u64 {
        let freed = self.pcache.shrink(nr);
        // Unused inodes of disk file systems stayed in core for their
        // pages only: those whose pages are all gone leave now.
        let idle: Vec<InodeKey> = self
            .inodes
            .iter()
            .filter(|(k, i)| {
                i.refs == 0
                    && self.supers.get(k.0).is_some_and(|s| !s.in_memory)
                    && self.pcache.nr_pages(**k) == 0
            })
            .map(|(k, _)| *k)
            .collect();
        for key in idle {
            self.inodes.remove(&key);
        }
        freed
    }

    /// In-core inodes (`/proc/sys/fs/inode-nr`'s first figure).
    pub fn nr_inodes(&self) -> usize {
        self.inodes.len()
    }

    /// `/proc/sys/fs/dentry-state` as Linux prints it: six figures
    /// separated by tabs.
    pub fn dentry_state_text(&self) -> alloc::string::String {
        let d = self.dcache.state();
        alloc::format!(
            "{}\t{}\t{}\t{}\t{}\t{}\n",
            d.nr_dentry,
            d.nr_unused,
            d.age_limit,
            d.want_pages,
            d.nr_negative,
            d.dummy
        )
    }

    /// `/proc/sys/fs/file-nr`: open files, 0, the server's limit.
    pub fn file_nr_text(&self) -> alloc::string::String {
        alloc::format!("{}\t0\t{}\n", self.files.len(), self.limits.file_max)
    }
}
