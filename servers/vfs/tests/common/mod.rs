//! Shared set-up of the host tests: a core with tmpfs as `/`, a root
//! client and an unprivileged one, helpers to read and write whole files,
//! and `DiskFs`, a file system with a backing store (a map standing in for
//! a disk) that uses the page cache the way ext2 will.
#![allow(dead_code)]

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use ::vfs::dirent::parse_dirents;
use ::vfs::fs::*;
use ::vfs::tmpfs::{Tmpfs, TmpfsType};
use ::vfs::types::*;
use ::vfs::PageIo;
use ::vfs::{Errno, FileSystem, Io, Limits, VecPageProvider, Vfs};

pub const ROOT: ClientId = 1;
pub const USER: ClientId = 2;
pub const OTHER: ClientId = 3;

pub fn vfs_with(pages: usize, limits: Limits) -> Vfs {
    let mut v = Vfs::new(Box::new(VecPageProvider::new(pages)), limits);
    v.register_filesystem(Box::new(TmpfsType)).unwrap();
    v.mount_root("tmpfs", b"mode=755").unwrap();
    v.new_client(ROOT, Cred::root()).unwrap();
    v.new_client(USER, Cred::user(1000, 1000)).unwrap();
    v.new_client(OTHER, Cred::user(1001, 1001)).unwrap();
    v
}

pub fn vfs() -> Vfs {
    vfs_with(4096, Limits::default())
}

pub fn write_file(v: &mut Vfs, c: ClientId, path: &str, data: &[u8]) {
    let fd = v
        .open(c, path.as_bytes(), O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        .unwrap();
    assert_eq!(v.write(c, fd, data).unwrap(), Io::Done(data.len()));
    v.close(c, fd).unwrap();
}

pub fn read_file(v: &mut Vfs, c: ClientId, path: &str) -> Result<Vec<u8>, Errno> {
    let fd = v.open(c, path.as_bytes(), O_RDONLY, 0)?;
    let mut out = Vec::new();
    let mut buf = [0u8; 1000];
    loop {
        match v.read(c, fd, &mut buf)? {
            Io::Done(0) => break,
            Io::Done(n) => out.extend_from_slice(&buf[..n]),
            Io::Blocked(_) => panic!("a file read blocked"),
        }
    }
    v.close(c, fd)?;
    Ok(out)
}

/// The names `getdents64` lists in `path`, in order.
pub fn list_dir(v: &mut Vfs, c: ClientId, path: &str) -> Vec<String> {
    let fd = v
        .open(c, path.as_bytes(), O_RDONLY | O_DIRECTORY, 0)
        .unwrap();
    let mut names = Vec::new();
    loop {
        let buf = v.getdents64(c, fd, 4096).unwrap();
        if buf.is_empty() {
            break;
        }
        for d in parse_dirents(&buf).unwrap() {
            names.push(String::from_utf8(d.name).unwrap());
        }
    }
    v.close(c, fd).unwrap();
    names
}

pub fn mkdir(v: &mut Vfs, c: ClientId, path: &str, mode: u32) {
    v.mkdir(c, path.as_bytes(), mode).unwrap();
}

/// A disk: each inode's bytes, and how often pages were read and written.
#[derive(Default)]
pub struct Disk {
    pub data: BTreeMap<Ino, Vec<u8>>,
    pub reads: Vec<(Ino, u64)>,
    pub writes: Vec<(Ino, u64)>,
    pub fail_writes: bool,
    /// Reads answer "pending"; the test completes them.
    pub async_reads: bool,
    pub pending: Vec<(Ino, u64)>,
}

impl Disk {
    /// What the disk holds for page `index` of `ino` (up to a page).
    pub fn page_bytes(&self, ino: Ino, index: u64) -> Vec<u8> {
        let Some(bytes) = self.data.get(&ino) else {
            return Vec::new();
        };
        let start = (index as usize * PAGE_SIZE).min(bytes.len());
        let end = (start + PAGE_SIZE).min(bytes.len());
        bytes[start..end].to_vec()
    }
}

/// A file system with a store behind the page cache: tmpfs's namespace,
/// data pages read from and written to a [`Disk`].
pub struct DiskFs {
    inner: Tmpfs,
    disk: Rc<RefCell<Disk>>,
}

pub struct DiskFsType(pub Rc<RefCell<Disk>>);

impl FileSystemType for DiskFsType {
    fn name(&self) -> &'static str {
        "diskfs"
    }
    fn requires_device(&self) -> bool {
        true
    }
    fn mount(&self, _s: &[u8], _f: u32, _d: &[u8]) -> Result<Box<dyn FileSystem>, Errno> {
        Ok(Box::new(DiskFs {
            inner: Tmpfs::new(1000, 0o755),
            disk: self.0.clone(),
        }))
    }
}

impl SuperOperations for DiskFs {
    fn magic(&self) -> u64 {
        0xd15c
    }
    fn root_ino(&self) -> Ino {
        self.inner.root_ino()
    }
    fn read_inode(&mut self, ino: Ino) -> Result<InodeAttr, Errno> {
        self.inner.read_inode(ino)
    }
    fn write_inode(&mut self, ino: Ino, attr: &InodeAttr) -> Result<(), Errno> {
        self.inner.write_inode(ino, attr)
    }
    fn evict_inode(&mut self, ino: Ino) {
        self.disk.borrow_mut().data.remove(&ino);
        self.inner.evict_inode(ino)
    }
    fn statfs(&self) -> StatFs {
        self.inner.statfs()
    }
    fn max_file_size(&self) -> u64 {
        1 << 32
    }
}

::vfs::forward_tree_operations!(DiskFs, inner);

impl AddressSpaceOperations for DiskFs {
    fn readpage(&mut self, ino: Ino, index: u64, page: &mut [u8]) -> Result<PageIo, Errno> {
        let mut disk = self.disk.borrow_mut();
        disk.reads.push((ino, index));
        if disk.async_reads {
            disk.pending.push((ino, index));
            return Ok(PageIo::Pending);
        }
        page.fill(0);
        page[..disk.page_bytes(ino, index).len()].copy_from_slice(&disk.page_bytes(ino, index));
        Ok(PageIo::Done)
    }
    fn writepage(&mut self, ino: Ino, index: u64, page: &[u8]) -> Result<(), Errno> {
        let mut disk = self.disk.borrow_mut();
        if disk.fail_writes {
            return Err(Errno::EIO);
        }
        disk.writes.push((ino, index));
        let bytes = disk.data.entry(ino).or_default();
        let start = index as usize * PAGE_SIZE;
        if bytes.len() < start + PAGE_SIZE {
            bytes.resize(start + PAGE_SIZE, 0);
        }
        bytes[start..start + PAGE_SIZE].copy_from_slice(page);
        Ok(())
    }
}

/// A grant window of `buf`, readable or writable by the server (as
/// `access` says; `BadAddress` otherwise and past its end).
pub struct Mem {
    pub buf: Vec<u8>,
    pub access: libsys::abi::grant::Access,
}

impl libsys::grant::GrantAccess for Mem {
    fn window(&self) -> Option<libsys::abi::grant::Window> {
        Some(libsys::abi::grant::Window {
            address: 0x1000,
            length: self.buf.len() as u64,
            access: self.access,
        })
    }
    fn write(&mut self, offset: u64, data: &[u8]) -> Result<(), libsys::abi::SysError> {
        let end = offset as usize + data.len();
        if self.access != libsys::abi::grant::Access::Write || end > self.buf.len() {
            return Err(libsys::abi::SysError::BadAddress);
        }
        self.buf[offset as usize..end].copy_from_slice(data);
        Ok(())
    }
    fn read(&mut self, offset: u64, out: &mut [u8]) -> Result<(), libsys::abi::SysError> {
        let end = offset as usize + out.len();
        if self.access != libsys::abi::grant::Access::Read || end > self.buf.len() {
            return Err(libsys::abi::SysError::BadAddress);
        }
        out.copy_from_slice(&self.buf[offset as usize..end]);
        Ok(())
    }
}
