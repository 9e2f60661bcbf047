//! sysfs (`/sys`): the device manager's model as files (LKD 17,
//! "sysfs"). devmgr owns the tree — buses, devices, drivers, classes,
//! block devices — and answers reads, listings and writes of it by path
//! (`libsys::proto::devmgr`'s `Read`, `List`, `Write`); this file system
//! is the view: a directory per listable path, a file per attribute, an
//! attribute's text made once per open (the snapshot of `seqfile`), and
//! writes passed through, so `echo 0000:00:03.0 > /sys/bus/pci/drivers/
//! virtio-blk/unbind` unbinds the device.
//!
//! The tree changes behind the dcache (a driver bound, a device gone),
//! so every hit is revalidated with one question to devmgr. Inode
//! numbers are given to paths as they are first found (the root is 1)
//! and kept while mounted: the tree is devmgr's and finite, and only
//! names that exist get one.
//!
//! Modes follow Linux's: directories 0755, attributes 0444, `uevent`
//! 0644, and the write-only `bind`/`unbind` 0200.

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;

use libsys::errno::Errno;

use crate::fs::{DirEntry, FileSystem, FileSystemType, FsContext, PageIo};
use crate::types::*;

/// `f_type` of sysfs (Linux's `SYSFS_MAGIC`).
pub const SYSFS_MAGIC: u64 = 0x6265_6572;
/// The most paths one mount numbers (a bound on what a walk can make).
pub const PATHS_MAX: usize = 1 << 16;

/// What a path is, as devmgr answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Node {
    Dir,
    /// An attribute: readable, writable.
    File {
        read: bool,
        write: bool,
    },
}

/// What sysfs asks devmgr (paths are absolute, `/sys/...`).
pub trait SysSource {
    /// Whether `path` exists and what it is (`Ok(None)`: it does not).
    fn node(&mut self, path: &str) -> Result<Option<Node>, Errno>;
    /// The entries of directory `path`.
    fn list(&mut self, path: &str) -> Result<Vec<String>, Errno>;
    /// An attribute's text.
    fn read(&mut self, path: &str) -> Result<Vec<u8>, Errno>;
    /// Writes an attribute (`bind`, `unbind`, `uevent`).
    fn write(&mut self, path: &str, value: &[u8]) -> Result<(), Errno>;
}

/// The type `sysfs` in the registry.
pub struct SysFsType {
    make: Box<dyn Fn() -> Box<dyn SysSource>>,
}

impl SysFsType {
    pub fn new(make: Box<dyn Fn() -> Box<dyn SysSource>>) -> SysFsType {
        SysFsType { make }
    }
}

impl FileSystemType for SysFsType {
    fn name(&self) -> &'static str {
        "sysfs"
    }
    fn mount(
        &self,
        _source: &[u8],
        _flags: u32,
        _data: &[u8],
    ) -> Result<Box<dyn FileSystem>, Errno> {
        let mut fs = SysFs {
            source: (self.make)(),
            paths: Vec::new(),
            inos: BTreeMap::new(),
        };
        fs.intern(String::from("/sys"), Node::Dir)?;
        Ok(Box::new(fs))
    }
}

/// One mounted sysfs.
pub struct SysFs {
    source: Box<dyn SysSource>,
    /// Inode `i + 1`'s path and what it was when found.
    paths: Vec<(String, Node)>,
    inos: BTreeMap<String, Ino>,
}

const ROOT: Ino = 1;

fn mode_of(node: Node) -> u32 {
    match node {
        Node::Dir => S_IFDIR | 0o755,
        Node::File { read: false, .. } => S_IFREG | 0o200,
        Node::File { write: true, .. } => S_IFREG | 0o644,
        Node::File { .. } => S_IFREG | 0o444,
    }
}

impl SysFs {
    /// The inode of `path` (numbered now if new).
    fn intern(&mut self, path: String, node: Node) -> Result<Ino, Errno> {
        if let Some(&ino) = self.inos.get(&path) {
            self.paths[ino as usize - 1].1 = node;
            return Ok(ino);
        }
        if self.paths.len() >= PATHS_MAX {
            return Err(Errno::ENOMEM);
        }
        self.paths.push((path.clone(), node));
        let ino = self.paths.len() as Ino;
        self.inos.insert(path, ino);
        Ok(ino)
    }

    fn path(&self, ino: Ino) -> Result<&(String, Node), Errno> {
        usize::try_from(ino)
            .ok()
            .and_then(|i| self.paths.get(i.checked_sub(1)?))
            .ok_or(Errno::ESTALE)
    }

    /// `dir`'s path joined with `name` (`EINVAL` for a name that is not
    /// UTF-8: devmgr's names all are).
    fn child_path(&self, dir: Ino, name: &[u8]) -> Result<String, Errno> {
        let name = core::str::from_utf8(name).map_err(|_| Errno::EINVAL)?;
        let mut path = self.path(dir)?.0.clone();
        path.push('/');
        path.push_str(name);
        Ok(path)
    }
}

impl crate::fs::SuperOperations for SysFs {
    fn magic(&self) -> u64 {
        SYSFS_MAGIC
    }
    fn root_ino(&self) -> Ino {
        ROOT
    }
    fn read_inode(&mut self, ino: Ino) -> Result<InodeAttr, Errno> {
        let (_, node) = self.path(ino)?;
        let mode = mode_of(*node);
        Ok(InodeAttr {
            ino,
            mode,
            nlink: if is_dir(mode) { 2 } else { 1 },
            // Linux's sysfs files say a page (what a `show` may fill).
            size: if is_dir(mode) { 0 } else { PAGE_SIZE as u64 },
            ..InodeAttr::default()
        })
    }
    fn write_inode(&mut self, _ino: Ino, _attr: &InodeAttr) -> Result<(), Errno> {
        Ok(())
    }
    fn evict_inode(&mut self, _ino: Ino) {}
    fn statfs(&self) -> StatFs {
        StatFs {
            f_type: SYSFS_MAGIC,
            f_bsize: PAGE_SIZE as u64,
            f_namelen: NAME_MAX as u64,
            f_frsize: PAGE_SIZE as u64,
            ..StatFs::default()
        }
    }
    fn max_file_size(&self) -> u64 {
        PAGE_SIZE as u64
    }
    fn revalidates(&self) -> bool {
        true
    }
}

impl crate::fs::InodeOperations for SysFs {
    fn lookup(&mut self, dir: Ino, name: &[u8]) -> Result<Option<Ino>, Errno> {
        let path = self.child_path(dir, name)?;
        match self.source.node(&path)? {
            Some(node) => self.intern(path, node).map(Some),
            None => Ok(None),
        }
    }
    fn create(&mut self, _dir: Ino, _name: &[u8], _new: &NewInode<'_>) -> Result<Ino, Errno> {
        Err(Errno::EACCES)
    }
    fn link(&mut self, _dir: Ino, _name: &[u8], _ino: Ino) -> Result<(), Errno> {
        Err(Errno::EPERM)
    }
    fn unlink(&mut self, _dir: Ino, _name: &[u8]) -> Result<(), Errno> {
        Err(Errno::EACCES)
    }
    fn rmdir(&mut self, _dir: Ino, _name: &[u8]) -> Result<(), Errno> {
        Err(Errno::EACCES)
    }
    fn rename(&mut self, _: Ino, _: &[u8], _: Ino, _: &[u8]) -> Result<(), Errno> {
        Err(Errno::EACCES)
    }
    fn readlink(&mut self, _ino: Ino) -> Result<Vec<u8>, Errno> {
        Err(Errno::EINVAL)
    }
    fn is_empty_dir(&mut self, _dir: Ino) -> Result<bool, Errno> {
        Ok(false)
    }
    /// Still there, and still the same kind of thing.
    fn d_revalidate(&mut self, dir: Ino, name: &[u8], ino: Option<Ino>) -> bool {
        let Ok(path) = self.child_path(dir, name) else {
            return false;
        };
        let now = match self.source.node(&path) {
            Ok(now) => now,
            Err(_) => return false,
        };
        let was = ino.and_then(|i| self.path(i).ok()).map(|p| p.1);
        now == was
    }
}

impl crate::fs::FileOperations for SysFs {
    fn readdir(
        &mut self,
        dir: Ino,
        pos: u64,
        emit: &mut dyn FnMut(&DirEntry<'_>) -> bool,
    ) -> Result<(), Errno> {
        let path = self.path(dir)?.0.clone();
        let names = self.source.list(&path)?;
        for (i, name) in names
            .iter()
            .enumerate()
            .skip((pos as usize).saturating_sub(2))
        {
            // The type is told without asking devmgr once per entry
            // (`DT_UNKNOWN` is allowed; `stat` says what it is).
            let known = self.inos.get(&alloc::format!("{path}/{name}")).copied();
            let dtype = known
                .and_then(|ino| self.path(ino).ok())
                .map_or(DT_UNKNOWN, |(_, node)| dtype_of(mode_of(*node)));
            let entry = DirEntry {
                ino: known.unwrap_or(u64::MAX - i as u64),
                name: name.as_bytes(),
                dtype,
                next_pos: i as u64 + 3,
            };
            if !emit(&entry) {
                break;
            }
        }
        Ok(())
    }
    fn is_uncached(&self, ino: Ino) -> bool {
        matches!(self.path(ino), Ok((_, Node::File { .. })))
    }
    /// Writable attributes only for writing (the core checked the mode;
    /// root passes it, so it is checked here again).
    fn open(&mut self, ino: Ino, flags: u32) -> Result<(), Errno> {
        let Ok((_, Node::File { read, write })) = self.path(ino).cloned() else {
            return Ok(());
        };
        let acc = flags & O_ACCMODE;
        if (acc != O_WRONLY && !read) || (acc != O_RDONLY && !write) {
            return Err(Errno::EACCES);
        }
        Ok(())
    }
    fn snapshot(&mut self, ino: Ino, ctx: &FsContext) -> Option<Result<Vec<u8>, Errno>> {
        let (path, node) = self.path(ino).ok()?.clone();
        match node {
            Node::File { read: true, .. } if ctx.open_flags & O_ACCMODE != O_WRONLY => {
                Some(self.source.read(&path))
            }
            // Opened for writing only: nothing to show.
            Node::File { .. } => Some(Ok(Vec::new())),
            Node::Dir => None,
        }
    }
    fn write(&mut self, ino: Ino, _pos: u64, buf: &[u8]) -> Result<usize, Errno> {
        let path = self.path(ino)?.0.clone();
        self.source.write(&path, buf)?;
        Ok(buf.len())
    }
}

impl crate::fs::AddressSpaceOperations for SysFs {
    fn readpage(&mut self, _: Ino, _: u64, _: &mut [u8]) -> Result<PageIo, Errno> {
        Err(Errno::EINVAL)
    }
    fn writepage(&mut self, _: Ino, _: u64, _: &[u8]) -> Result<(), Errno> {
        Err(Errno::EINVAL)
    }
}
