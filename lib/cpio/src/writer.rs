//! Building an archive: [`Writer`] appends entries — directories, files,
//! hard-linked files, symlinks, device nodes, FIFOs, sockets — and
//! [`Writer::finish`] adds the trailer and pads to 512 bytes.
//!
//! The output depends on nothing but the calls made: inode numbers count
//! up from 1 in the order entries are added, every entry gets the same
//! `c_mtime` (0 unless [`Writer::with_mtime`] says otherwise) and device
//! 0:0, so the same list always gives the same bytes and the ISO that
//! carries the archive is reproducible.
//!
//! The writer also keeps the archive unpackable in one pass: names are
//! normalized and unique, and each entry's parent directory must have
//! been added before it (the root `.` excepted).

use crate::header::{align_up, checksum, FileType, Format, Header, PATH_MAX, TRAILER};
use crate::name::{normalize, parent, NameError, ROOT};
use alloc::collections::BTreeSet;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

/// What an entry is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Node<'a> {
    Directory,
    File(&'a [u8]),
    Symlink(&'a str),
    CharDevice { major: u32, minor: u32 },
    BlockDevice { major: u32, minor: u32 },
    Fifo,
    Socket,
}

impl Node<'_> {
    fn file_type(&self) -> FileType {
        match self {
            Node::Directory => FileType::Directory,
            Node::File(_) => FileType::Regular,
            Node::Symlink(_) => FileType::Symlink,
            Node::CharDevice { .. } => FileType::CharDevice,
            Node::BlockDevice { .. } => FileType::BlockDevice,
            Node::Fifo => FileType::Fifo,
            Node::Socket => FileType::Socket,
        }
    }

    fn data(&self) -> &[u8] {
        match self {
            Node::File(data) => data,
            Node::Symlink(target) => target.as_bytes(),
            _ => &[],
        }
    }

    fn rdev(&self) -> (u32, u32) {
        match *self {
            Node::CharDevice { major, minor } | Node::BlockDevice { major, minor } => {
                (major, minor)
            }
            _ => (0, 0),
        }
    }
}

/// Owner and permissions of an entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Meta {
    /// Permission bits, at most `0o7777`.
    pub perm: u32,
    pub uid: u32,
    pub gid: u32,
}

/// Why an entry could not be added.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WriteError {
    /// The name is empty, holds a NUL, is too long or climbs above the root.
    BadName(NameError),
    /// The (normalized) name was added before.
    Duplicate(String),
    /// The parent directory of this name was not added before it.
    MissingParent(String),
    /// Permission bits beyond `0o7777`.
    BadPerm(u32),
    /// A file larger than `c_filesize` can say (4 GiB - 1).
    TooLarge(String),
    /// A symlink target that is empty, has a NUL or passes `PATH_MAX`.
    BadSymlink(String),
    /// `add_hard_links` with no name, or more names than `c_nlink` holds.
    BadLinkCount,
    /// More inodes than `c_ino` can number.
    TooManyInodes,
}

impl fmt::Display for WriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WriteError::BadName(why) => write!(f, "bad name: {why}"),
            WriteError::Duplicate(name) => write!(f, "{name} is listed twice"),
            WriteError::MissingParent(name) => {
                write!(f, "the directory holding {name} is not listed before it")
            }
            WriteError::BadPerm(perm) => write!(f, "mode {perm:#o} has bits beyond 07777"),
            WriteError::TooLarge(name) => write!(f, "{name} is 4 GiB or larger"),
            WriteError::BadSymlink(name) => write!(f, "{name}: bad symlink target"),
            WriteError::BadLinkCount => f.write_str("a hard-link list with no or too many names"),
            WriteError::TooManyInodes => f.write_str("more than 2^32 - 1 inodes"),
        }
    }
}

impl core::error::Error for WriteError {}

/// An archive being built in memory.
pub struct Writer {
    out: Vec<u8>,
    format: Format,
    mtime: u32,
    next_ino: u32,
    names: BTreeSet<String>,
    directories: BTreeSet<String>,
}

impl Writer {
    /// An empty archive in `format`, every `c_mtime` 0.
    pub fn new(format: Format) -> Writer {
        Writer {
            out: Vec::new(),
            format,
            mtime: 0,
            next_ino: 1,
            names: BTreeSet::new(),
            directories: BTreeSet::new(),
        }
    }

    /// The same, stamping every entry with `mtime` instead of 0.
    pub fn with_mtime(mut self, mtime: u32) -> Writer {
        self.mtime = mtime;
        self
    }

    /// Appends one entry named `name` (any spelling [`normalize`] takes).
    ///
    /// Fails, adding nothing, on a bad or repeated name, a parent not yet
    /// added, permission bits beyond `0o7777`, a file of 4 GiB or more,
    /// a bad symlink target, or when inode numbers run out.
    pub fn add(&mut self, name: &str, node: Node<'_>, meta: Meta) -> Result<(), WriteError> {
        let name = self.check_name(name)?;
        check_node(&name, &node, meta)?;
        let ino = self.take_ino()?;
        let nlink = if node == Node::Directory { 2 } else { 1 };
        self.push(&name, &node, meta, ino, nlink);
        if node == Node::Directory {
            self.directories.insert(name.clone());
        }
        self.names.insert(name);
        Ok(())
    }

    /// Appends a regular file with several names (hard links): one entry
    /// per name, all of one inode with `c_nlink` = the number of names,
    /// the data on the last (as GNU cpio and Linux's `gen_init_cpio` do)
    /// and none on the others.
    ///
    /// Fails, adding nothing, for the reasons [`Writer::add`] gives, or
    /// on an empty list of names.
    pub fn add_hard_links(
        &mut self,
        names: &[&str],
        data: &[u8],
        meta: Meta,
    ) -> Result<(), WriteError> {
        let nlink = u32::try_from(names.len())
            .ok()
            .filter(|&n| n > 0)
            .ok_or(WriteError::BadLinkCount)?;
        let mut normal: Vec<String> = Vec::with_capacity(names.len());
        for name in names {
            let name = self.check_name(name)?;
            if normal.contains(&name) {
                return Err(WriteError::Duplicate(name));
            }
            normal.push(name);
        }
        check_node(&normal[0], &Node::File(data), meta)?;
        let ino = self.take_ino()?;
        let last = normal.len() - 1;
        for (i, name) in normal.into_iter().enumerate() {
            let part = if i == last { data } else { &[] };
            self.push(&name, &Node::File(part), meta, ino, nlink);
            self.names.insert(name);
        }
        Ok(())
    }

    /// The archive: the entries, `TRAILER!!!`, zeros to a multiple of 512.
    pub fn finish(mut self) -> Vec<u8> {
        let trailer = Header {
            format: self.format,
            ino: 0,
            mode: 0,
            uid: 0,
            gid: 0,
            nlink: 1,
            mtime: 0,
            filesize: 0,
            dev_major: 0,
            dev_minor: 0,
            rdev_major: 0,
            rdev_minor: 0,
            namesize: TRAILER.len() as u32 + 1,
            check: 0,
        };
        self.push_header(&trailer, TRAILER, &[]);
        let len = self.out.len().div_ceil(512) * 512;
        self.out.resize(len, 0);
        self.out
    }

    /// The normalized name, if it is new and its parent is a directory
    /// already added.
    fn check_name(&self, raw: &str) -> Result<String, WriteError> {
        let name = normalize(raw).map_err(WriteError::BadName)?.into_owned();
        if self.names.contains(&name) {
            return Err(WriteError::Duplicate(name));
        }
        match parent(&name) {
            Some(dir) if dir != ROOT && !self.directories.contains(dir) => {
                Err(WriteError::MissingParent(name))
            }
            _ => Ok(name),
        }
    }

    fn take_ino(&mut self) -> Result<u32, WriteError> {
        let ino = self.next_ino;
        self.next_ino = ino.checked_add(1).ok_or(WriteError::TooManyInodes)?;
        Ok(ino)
    }

    fn push(&mut self, name: &str, node: &Node<'_>, meta: Meta, ino: u32, nlink: u32) {
        let data = node.data();
        let (rdev_major, rdev_minor) = node.rdev();
        let header = Header {
            format: self.format,
            ino,
            mode: node.file_type().bits() | meta.perm,
            uid: meta.uid,
            gid: meta.gid,
            nlink,
            mtime: self.mtime,
            // check_node kept data under 4 GiB, check_name the name under PATH_MAX.
            filesize: data.len() as u32,
            dev_major: 0,
            dev_minor: 0,
            rdev_major,
            rdev_minor,
            namesize: name.len() as u32 + 1,
            // As GNU cpio: only a regular file's data is summed.
            check: match (self.format, node) {
                (Format::Crc, Node::File(_)) => checksum(data),
                _ => 0,
            },
        };
        self.push_header(&header, name, data);
    }

    fn push_header(&mut self, header: &Header, name: &str, data: &[u8]) {
        self.out.extend_from_slice(&header.encode());
        self.out.extend_from_slice(name.as_bytes());
        self.out.push(0);
        self.pad();
        self.out.extend_from_slice(data);
        self.pad();
    }

    fn pad(&mut self) {
        let len = align_up(self.out.len()).unwrap_or(self.out.len());
        self.out.resize(len, 0);
    }
}

/// Checks what the header cannot say or the reader would refuse.
fn check_node(name: &str, node: &Node<'_>, meta: Meta) -> Result<(), WriteError> {
    if meta.perm & !FileType::PERM_MASK != 0 {
        return Err(WriteError::BadPerm(meta.perm));
    }
    if u32::try_from(node.data().len()).is_err() {
        return Err(WriteError::TooLarge(name.to_string()));
    }
    if let Node::Symlink(target) = node {
        if target.is_empty() || target.len() >= PATH_MAX || target.contains('\0') {
            return Err(WriteError::BadSymlink(name.to_string()));
        }
    }
    Ok(())
}
