//! tmpfs: the file system whose only store is memory (the root until a disk
//! is mounted). Its directories and symlinks live here; file data lives in
//! the page cache ([`SuperOperations::in_memory`]), so `readpage` of a page
//! not yet cached is a hole (zeros) and `writepage` is never needed.
//!
//! Each directory hands out increasing position cookies to its entries so
//! that `getdents64` resumes correctly while entries come and go. Bounded:
//! at most `nr_inodes` inodes (mount option, default 65536) → `ENOSPC`.

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use libsys::errno::Errno;

use crate::fs::{
    AddressSpaceOperations, DirEntry, FileOperations, FileSystem, FileSystemType, InodeOperations,
    PageIo, SuperOperations,
};
use crate::types::*;

/// Default `nr_inodes` of a tmpfs.
pub const TMPFS_DEFAULT_INODES: u64 = 65536;

/// The registry entry for `"tmpfs"`.
pub struct TmpfsType;

impl FileSystemType for TmpfsType {
    fn name(&self) -> &'static str {
        "tmpfs"
    }
    fn mount(
        &self,
        _source: &[u8],
        _flags: u32,
        data: &[u8],
    ) -> Result<Box<dyn FileSystem>, Errno> {
        let (max_inodes, mode) = mount_options(data, 0o1777, false)?;
        Ok(Box::new(Tmpfs::new(max_inodes, mode)))
    }
}

/// A tmpfs-like mount's options, `mode=` (octal) of the root and
/// `nr_inodes=`: (the inode limit, the root's mode), from `default_mode`
/// and [`TMPFS_DEFAULT_INODES`] where not given. Any other `key=value`
/// is `EINVAL`; so is a word without `=`, unless `flag_words` (devfs
/// takes fstab's `rw`, `nosuid`, `defaults` as the mount's, not its own).
pub fn mount_options(
    data: &[u8],
    default_mode: u32,
    flag_words: bool,
) -> Result<(u64, u32), Errno> {
    let mut max_inodes = TMPFS_DEFAULT_INODES;
    let mut mode = default_mode;
    for opt in data.split(|&b| b == b',').filter(|o| !o.is_empty()) {
        let (key, value) = match opt.iter().position(|&b| b == b'=') {
            Some(i) => (&opt[..i], &opt[i + 1..]),
            None if flag_words => continue,
            None => return Err(Errno::EINVAL),
        };
        match key {
            b"nr_inodes" => max_inodes = parse_number(value, 10)?,
            b"mode" => mode = parse_number(value, 8)? as u32 & S_IALLUGO,
            _ => return Err(Errno::EINVAL),
        }
    }
    Ok((max_inodes, mode))
}

fn parse_number(s: &[u8], radix: u32) -> Result<u64, Errno> {
    let text = core::str::from_utf8(s).map_err(|_| Errno::EINVAL)?;
    u64::from_str_radix(text, radix).map_err(|_| Errno::EINVAL)
}

struct Directory {
    /// name → (inode, position cookie)
    entries: BTreeMap<Vec<u8>, (Ino, u64)>,
    by_cookie: BTreeMap<u64, Vec<u8>>,
    next_cookie: u64,
}

enum Kind {
    Dir(Directory),
    Symlink(Vec<u8>),
    Other,
}

struct Node {
    attr: InodeAttr,
    kind: Kind,
}

/// One mounted tmpfs.
pub struct Tmpfs {
    nodes: BTreeMap<Ino, Node>,
    next_ino: Ino,
    max_inodes: u64,
}

const ROOT_INO: Ino = 1;

impl Tmpfs {
    pub fn new(max_inodes: u64, root_mode: u32) -> Tmpfs {
        let mut fs = Tmpfs {
            nodes: BTreeMap::new(),
            next_ino: ROOT_INO + 1,
            max_inodes: max_inodes.max(1),
        };
        let attr = InodeAttr {
            ino: ROOT_INO,
            mode: S_IFDIR | root_mode,
            nlink: 2,
            ..InodeAttr::default()
        };
        fs.nodes.insert(
            ROOT_INO,
            Node {
                attr,
                kind: Kind::Dir(Directory::new()),
            },
        );
        fs
    }

    fn dir(&mut self, ino: Ino) -> Result<&mut Directory, Errno> {
        match self.nodes.get_mut(&ino).map(|n| &mut n.kind) {
            Some(Kind::Dir(d)) => Ok(d),
            Some(_) => Err(Errno::ENOTDIR),
            None => Err(Errno::ESTALE),
        }
    }

    fn node(&mut self, ino: Ino) -> Result<&mut Node, Errno> {
        self.nodes.get_mut(&ino).ok_or(Errno::ESTALE)
    }

    fn adjust_nlink(&mut self, ino: Ino, up: bool) {
        if let Some(n) = self.nodes.get_mut(&ino) {
            n.attr.nlink = if up {
                n.attr.nlink.saturating_add(1)
            } else {
                n.attr.nlink.saturating_sub(1)
            };
        }
    }

    fn is_dir_ino(&self, ino: Ino) -> bool {
        matches!(self.nodes.get(&ino).map(|n| &n.kind), Some(Kind::Dir(_)))
    }

    /// Drops the name `name` from `dir` and the link it held (a directory
    /// loses both its links and its `..` link on its parent).
    fn drop_name(&mut self, dir: Ino, name: &[u8]) -> Result<(), Errno> {
        let (ino, _) = self.dir(dir)?.remove(name).ok_or(Errno::ENOENT)?;
        if self.is_dir_ino(ino) {
            self.node(ino)?.attr.nlink = 0;
            self.adjust_nlink(dir, false);
        } else {
            self.adjust_nlink(ino, false);
        }
        Ok(())
    }
}

impl Directory {
    fn new() -> Directory {
        Directory {
            entries: BTreeMap::new(),
            by_cookie: BTreeMap::new(),
            next_cookie: 2,
        }
    }
    fn insert(&mut self, name: &[u8], ino: Ino) {
        let cookie = self.next_cookie;
        self.next_cookie += 1;
        self.entries.insert(name.to_vec(), (ino, cookie));
        self.by_cookie.insert(cookie, name.to_vec());
    }
    fn remove(&mut self, name: &[u8]) -> Option<(Ino, u64)> {
        let (ino, cookie) = self.entries.remove(name)?;
        self.by_cookie.remove(&cookie);
        Some((ino, cookie))
    }
}

impl SuperOperations for Tmpfs {
    fn magic(&self) -> u64 {
        TMPFS_MAGIC
    }
    fn root_ino(&self) -> Ino {
        ROOT_INO
    }
    fn read_inode(&mut self, ino: Ino) -> Result<InodeAttr, Errno> {
        Ok(self.node(ino)?.attr)
    }
    fn write_inode(&mut self, ino: Ino, attr: &InodeAttr) -> Result<(), Errno> {
        let node = self.node(ino)?;
        // The link count is the file system's: keep ours.
        node.attr = InodeAttr {
            nlink: node.attr.nlink,
            ino,
            ..*attr
        };
        Ok(())
    }
    fn evict_inode(&mut self, ino: Ino) {
        if ino != ROOT_INO {
            self.nodes.remove(&ino);
        }
    }
    fn statfs(&self) -> StatFs {
        StatFs {
            f_type: TMPFS_MAGIC,
            f_bsize: PAGE_SIZE as u64,
            f_files: self.max_inodes,
            f_ffree: self.max_inodes.saturating_sub(self.nodes.len() as u64),
            f_namelen: NAME_MAX as u64,
            f_frsize: PAGE_SIZE as u64,
            ..StatFs::default()
        }
    }
    fn in_memory(&self) -> bool {
        true
    }
    fn max_file_size(&self) -> u64 {
        i64::MAX as u64
    }
}

impl InodeOperations for Tmpfs {
    fn lookup(&mut self, dir: Ino, name: &[u8]) -> Result<Option<Ino>, Errno> {
        // LAB 7 BEGIN: find `name` in directory `dir`
        Ok(self.dir(dir)?.entries.get(name).map(|e| e.0))
        // LAB 7 STUB
        // let _ = (dir, name);
        // Err(Errno::ENOSYS)
        // LAB 7 END
    }

    fn create(&mut self, dir: Ino, name: &[u8], new: &NewInode<'_>) -> Result<Ino, Errno> {
        if self.nodes.len() as u64 >= self.max_inodes {
            return Err(Errno::ENOSPC);
        }
        if self.dir(dir)?.entries.contains_key(name) {
            return Err(Errno::EEXIST);
        }
        let ino = self.next_ino;
        self.next_ino += 1;
        let (kind, nlink, size) = match new.mode & S_IFMT {
            S_IFDIR => (Kind::Dir(Directory::new()), 2, 0),
            S_IFLNK => (
                Kind::Symlink(new.symlink.to_vec()),
                1,
                new.symlink.len() as u64,
            ),
            _ => (Kind::Other, 1, 0),
        };
        if nlink == 2 {
            self.adjust_nlink(dir, true);
        }
        let t = new.time;
        let attr = InodeAttr {
            ino,
            mode: new.mode,
            nlink,
            uid: new.uid,
            gid: new.gid,
            size,
            rdev: new.rdev,
            blocks: 0,
            atime: t,
            mtime: t,
            ctime: t,
        };
        self.nodes.insert(ino, Node { attr, kind });
        self.dir(dir)?.insert(name, ino);
        Ok(ino)
    }

    fn link(&mut self, dir: Ino, name: &[u8], ino: Ino) -> Result<(), Errno> {
        self.node(ino)?;
        let d = self.dir(dir)?;
        if d.entries.contains_key(name) {
            return Err(Errno::EEXIST);
        }
        d.insert(name, ino);
        self.adjust_nlink(ino, true);
        Ok(())
    }

    fn unlink(&mut self, dir: Ino, name: &[u8]) -> Result<(), Errno> {
        self.drop_name(dir, name)
    }

    fn rmdir(&mut self, dir: Ino, name: &[u8]) -> Result<(), Errno> {
        let ino = self.lookup(dir, name)?.ok_or(Errno::ENOENT)?;
        if !self.is_empty_dir(ino)? {
            return Err(Errno::ENOTEMPTY);
        }
        self.drop_name(dir, name)
    }

    fn rename(
        &mut self,
        old_dir: Ino,
        old_name: &[u8],
        new_dir: Ino,
        new_name: &[u8],
    ) -> Result<(), Errno> {
        let ino = self.lookup(old_dir, old_name)?.ok_or(Errno::ENOENT)?;
        if self.lookup(new_dir, new_name)?.is_some() {
            self.drop_name(new_dir, new_name)?;
        }
        self.dir(old_dir)?.remove(old_name);
        self.dir(new_dir)?.insert(new_name, ino);
        if self.is_dir_ino(ino) && old_dir != new_dir {
            self.adjust_nlink(old_dir, false);
            self.adjust_nlink(new_dir, true);
        }
        Ok(())
    }

    fn readlink(&mut self, ino: Ino) -> Result<Vec<u8>, Errno> {
        match &self.node(ino)?.kind {
            Kind::Symlink(target) => Ok(target.clone()),
            _ => Err(Errno::EINVAL),
        }
    }

    fn is_empty_dir(&mut self, dir: Ino) -> Result<bool, Errno> {
        Ok(self.dir(dir)?.entries.is_empty())
    }
}

impl FileOperations for Tmpfs {
    fn readdir(
        &mut self,
        dir: Ino,
        pos: u64,
        emit: &mut dyn FnMut(&DirEntry<'_>) -> bool,
    ) -> Result<(), Errno> {
        let nodes = &self.nodes;
        let Some(Kind::Dir(d)) = nodes.get(&dir).map(|n| &n.kind) else {
            return Err(Errno::ENOTDIR);
        };
        for (&cookie, name) in d.by_cookie.range(pos.max(2)..) {
            let Some(&(ino, _)) = d.entries.get(name) else {
                continue;
            };
            let mode = nodes.get(&ino).map_or(0, |n| n.attr.mode);
            let entry = DirEntry {
                ino,
                name,
                dtype: dtype_of(mode),
                next_pos: cookie + 1,
            };
            if !emit(&entry) {
                break;
            }
        }
        Ok(())
    }
}

impl AddressSpaceOperations for Tmpfs {
    fn readpage(&mut self, _ino: Ino, _index: u64, page: &mut [u8]) -> Result<PageIo, Errno> {
        page.fill(0);
        Ok(PageIo::Done)
    }
    fn writepage(&mut self, _ino: Ino, _index: u64, _page: &[u8]) -> Result<(), Errno> {
        // In-memory: the cached page is the file; nothing to write.
        Ok(())
    }
}
