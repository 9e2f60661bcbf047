//! Reading an archive in place: [`Archive::entries`] walks the headers
//! and hands out [`Entry`]s whose data are slices of the archive (no
//! copy), ending at `TRAILER!!!`. Every field, the name, the padding and
//! the bounds are checked before an entry is handed out; the first fault
//! ends the walk with an [`Error`], never a panic, whatever the bytes.
//!
//! Hard links: newc stores each name of a multiply-linked file as its own
//! entry with the same device and inode numbers and `c_nlink` > 1 (GNU
//! cpio and Linux's `gen_init_cpio` put the data on the last of them).
//! The reader reports every name after the first as a link to the first
//! ([`Entry::link`]); an unpacker links it there, then writes the entry's
//! data (if any) into the shared inode — as Linux's `init/initramfs.c`
//! does.

use crate::error::{Error, ErrorKind, Part};
use crate::header::{align_up, checksum, FileType, Format, Header, HEADER_LEN, PATH_MAX, TRAILER};
use crate::name::{normalize, NameError};
use alloc::borrow::Cow;
use alloc::collections::BTreeMap;

/// An archive in memory (say, the initramfs boot module).
#[derive(Clone, Copy, Debug)]
pub struct Archive<'a> {
    bytes: &'a [u8],
}

/// One member of an archive. `data` is the file's bytes (a symlink's
/// target for a symlink, empty for other types) borrowed from the archive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry<'a> {
    /// The normalized name (see [`crate::name`]): relative, `.` for the root.
    pub name: Cow<'a, str>,
    pub file_type: FileType,
    /// The permission bits (`0o7777`: with set-uid, set-gid, sticky).
    pub perm: u32,
    pub ino: u32,
    pub uid: u32,
    pub gid: u32,
    pub nlink: u32,
    /// Seconds since the epoch.
    pub mtime: u32,
    /// The device the file was on (with `ino`, it identifies hard links).
    pub dev_major: u32,
    pub dev_minor: u32,
    /// The device a character or block special file stands for.
    pub rdev_major: u32,
    pub rdev_minor: u32,
    pub data: &'a [u8],
    /// For a hard link, the name of the first entry of the same inode.
    pub link: Option<Cow<'a, str>>,
    /// Where the entry's header starts in the archive.
    pub offset: usize,
}

impl<'a> Entry<'a> {
    /// The whole mode: type bits and permission bits.
    pub fn mode(&self) -> u32 {
        self.file_type.bits() | self.perm
    }

    /// A symlink's target (checked UTF-8 without NUL when read); `None`
    /// for other types.
    pub fn symlink_target(&self) -> Option<&'a str> {
        match self.file_type {
            FileType::Symlink => core::str::from_utf8(self.data).ok(),
            _ => None,
        }
    }
}

impl<'a> Archive<'a> {
    /// The archive in `bytes`; nothing is checked until it is walked.
    pub fn new(bytes: &'a [u8]) -> Archive<'a> {
        Archive { bytes }
    }

    /// The entries in archive order, then `None` after the trailer. An
    /// `Err` is the last item: the walk stops at the first fault.
    pub fn entries(&self) -> Entries<'a> {
        Entries {
            bytes: self.bytes,
            offset: 0,
            done: false,
            inodes: BTreeMap::new(),
        }
    }

    /// Walks the whole archive; returns how many entries it holds (the
    /// trailer not counted) or the first fault.
    pub fn check(&self) -> Result<usize, Error> {
        self.entries().try_fold(0, |n, entry| entry.map(|_| n + 1))
    }
}

/// A hard-linked inode: its device and inode numbers.
type InodeKey = (u32, u32, u32);

/// The iterator [`Archive::entries`] returns.
pub struct Entries<'a> {
    bytes: &'a [u8],
    offset: usize,
    done: bool,
    /// The first name and mode of each inode seen with `c_nlink` > 1.
    inodes: BTreeMap<InodeKey, (Cow<'a, str>, u32)>,
}

impl<'a> Iterator for Entries<'a> {
    type Item = Result<Entry<'a>, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let at = self.offset;
        let result = self.read_entry().map_err(|kind| Error { offset: at, kind });
        match result {
            Ok(Some(entry)) => Some(Ok(entry)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

impl<'a> Entries<'a> {
    /// The entry at `self.offset` (and moves past it), or `None` at a
    /// well-formed trailer.
    fn read_entry(&mut self) -> Result<Option<Entry<'a>>, ErrorKind> {
        let at = self.offset;
        let rest = &self.bytes[at..];
        if rest.iter().all(|&b| b == 0) {
            return Err(ErrorKind::MissingTrailer);
        }
        let raw: &[u8; HEADER_LEN] = rest
            .get(..HEADER_LEN)
            .and_then(|h| h.try_into().ok())
            .ok_or(ErrorKind::Truncated(Part::Header))?;
        let header = Header::parse(raw).map_err(|e| match e {
            crate::header::HeaderError::BadMagic => ErrorKind::BadMagic,
            crate::header::HeaderError::NotHex(field) => ErrorKind::NotHex(field),
        })?;
        let raw_name = self.read_name(at, &header)?;
        let data_at = self.skip_padding(at + HEADER_LEN + header.namesize as usize, Part::Name)?;
        if raw_name == TRAILER {
            return self.end(data_at, &header).map(|()| None);
        }
        let file_type = file_type(header.mode)?;
        let size = header.filesize as usize;
        let data = self
            .bytes
            .get(data_at..)
            .and_then(|d| d.get(..size))
            .ok_or(ErrorKind::Truncated(Part::Data))?;
        check_data(&header, file_type, data)?;
        let next = self.skip_padding(data_at + size, Part::Data)?;
        let name = normalize(raw_name).map_err(ErrorKind::BadName)?;
        let link = self.hard_link(&header, file_type, &name)?;
        self.offset = next;
        Ok(Some(Entry {
            name,
            file_type,
            perm: header.mode & FileType::PERM_MASK,
            ino: header.ino,
            uid: header.uid,
            gid: header.gid,
            nlink: header.nlink,
            mtime: header.mtime,
            dev_major: header.dev_major,
            dev_minor: header.dev_minor,
            rdev_major: header.rdev_major,
            rdev_minor: header.rdev_minor,
            data,
            link,
            offset: at,
        }))
    }

    /// The name after the header at `at`, without its NUL.
    fn read_name(&self, at: usize, header: &Header) -> Result<&'a str, ErrorKind> {
        let size = header.namesize as usize;
        if size == 0 || size > PATH_MAX {
            return Err(ErrorKind::NameSize(header.namesize));
        }
        let bytes = self
            .bytes
            .get(at + HEADER_LEN..)
            .and_then(|b| b.get(..size))
            .ok_or(ErrorKind::Truncated(Part::Name))?;
        let (&last, name) = bytes.split_last().ok_or(ErrorKind::NameSize(0))?;
        if last != 0 {
            return Err(ErrorKind::NameNotTerminated);
        }
        if name.contains(&0) {
            return Err(ErrorKind::BadName(NameError::Nul));
        }
        if name.is_empty() {
            return Err(ErrorKind::BadName(NameError::Empty));
        }
        core::str::from_utf8(name).map_err(|_| ErrorKind::NameNotUtf8)
    }

    /// Where the next aligned part starts after `end`, checking that the
    /// padding up to it is in the archive and zero.
    fn skip_padding(&self, end: usize, part: Part) -> Result<usize, ErrorKind> {
        let aligned = align_up(end).ok_or(ErrorKind::Truncated(part))?;
        let padding = self
            .bytes
            .get(end..aligned)
            .ok_or(ErrorKind::Truncated(part))?;
        if padding.iter().any(|&b| b != 0) {
            return Err(ErrorKind::BadPadding);
        }
        Ok(aligned)
    }

    /// The trailer: no data, and nothing after it but zero padding (GNU
    /// cpio pads archives to 512-byte blocks).
    fn end(&self, data_at: usize, header: &Header) -> Result<(), ErrorKind> {
        if header.filesize != 0 {
            return Err(ErrorKind::TrailingData);
        }
        let rest = self.bytes.get(data_at..).unwrap_or(&[]);
        if rest.iter().any(|&b| b != 0) {
            return Err(ErrorKind::TrailingData);
        }
        Ok(())
    }

    /// For a non-directory with `c_nlink` > 1: the first name of its inode
    /// if one came before (else this name is remembered as the first).
    fn hard_link(
        &mut self,
        header: &Header,
        file_type: FileType,
        name: &Cow<'a, str>,
    ) -> Result<Option<Cow<'a, str>>, ErrorKind> {
        if header.nlink < 2 || file_type == FileType::Directory {
            return Ok(None);
        }
        let key = (header.dev_major, header.dev_minor, header.ino);
        match self.inodes.get(&key) {
            Some((first, mode)) if *mode == header.mode => Ok(Some(first.clone())),
            Some(_) => Err(ErrorKind::LinkMismatch),
            None => {
                self.inodes.insert(key, (name.clone(), header.mode));
                Ok(None)
            }
        }
    }
}

/// The file type of `mode`, refusing unknown types and stray high bits.
fn file_type(mode: u32) -> Result<FileType, ErrorKind> {
    if mode & !(FileType::S_IFMT | FileType::PERM_MASK) != 0 {
        return Err(ErrorKind::BadMode(mode));
    }
    FileType::from_mode(mode).ok_or(ErrorKind::BadMode(mode))
}

/// Checks the data against the type (who may carry data, what a symlink
/// target may be) and, for `070702`, the checksum.
fn check_data(header: &Header, file_type: FileType, data: &[u8]) -> Result<(), ErrorKind> {
    if !file_type.has_data() && !data.is_empty() {
        return Err(ErrorKind::UnexpectedData(file_type));
    }
    if file_type == FileType::Symlink {
        let ok = !data.is_empty()
            && data.len() < PATH_MAX
            && !data.contains(&0)
            && core::str::from_utf8(data).is_ok();
        if !ok {
            return Err(ErrorKind::BadSymlink);
        }
    }
    // GNU cpio and Linux's initramfs sum a regular file's data only (a
    // symlink's c_check is 0), so only that is checked.
    if header.format == Format::Crc && file_type == FileType::Regular {
        let computed = checksum(data);
        if computed != header.check {
            return Err(ErrorKind::BadChecksum {
                stored: header.check,
                computed,
            });
        }
    }
    Ok(())
}
