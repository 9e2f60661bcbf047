//! Why an archive was refused: an [`Error`] is the byte offset of the
//! header of the entry at fault and an [`ErrorKind`] saying what is wrong
//! with it. The reader stops at the first error.

use crate::header::{Field, FileType};
use crate::name::NameError;
use core::fmt;

/// The part of an entry the archive ends inside.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    Header,
    Name,
    Data,
}

/// What is wrong with an entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The archive ends inside this part of the entry (or its padding):
    /// a truncated archive, or a size field pointing past the end.
    Truncated(Part),
    /// The header starts with neither `070701` nor `070702`.
    BadMagic,
    /// A header field is not eight hex digits.
    NotHex(Field),
    /// The mode has bits above the type bits, or a type that is none of
    /// the seven.
    BadMode(u32),
    /// `c_namesize` is zero, or counts more than `PATH_MAX` bytes.
    NameSize(u32),
    /// The name's last byte (`c_namesize` counts it) is not NUL.
    NameNotTerminated,
    /// The name is not UTF-8.
    NameNotUtf8,
    /// The name is empty, holds a NUL or climbs above the root.
    BadName(NameError),
    /// A padding byte is not zero.
    BadPadding,
    /// A directory, device, FIFO or socket with a non-zero `c_filesize`.
    UnexpectedData(FileType),
    /// A symlink's target is empty, too long, not UTF-8 or holds a NUL.
    BadSymlink,
    /// A `070702` regular file whose data does not sum to its `c_check`.
    BadChecksum { stored: u32, computed: u32 },
    /// A hard link (same device and inode, `c_nlink` > 1) whose mode
    /// differs from the first entry of that inode.
    LinkMismatch,
    /// The archive ends (or only zero bytes follow) without `TRAILER!!!`.
    MissingTrailer,
    /// Bytes other than zero padding follow the trailer.
    TrailingData,
}

/// An [`ErrorKind`] at the offset of the entry's header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Error {
    pub offset: usize,
    pub kind: ErrorKind,
}

impl fmt::Display for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Part::Header => "header",
            Part::Name => "name",
            Part::Data => "data",
        })
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorKind::Truncated(part) => write!(f, "the archive ends inside an entry's {part}"),
            ErrorKind::BadMagic => f.write_str("not a newc header (magic is not 070701 or 070702)"),
            ErrorKind::NotHex(field) => write!(f, "{field} is not eight hex digits"),
            ErrorKind::BadMode(mode) => write!(f, "mode {mode:#o} has no valid file type"),
            ErrorKind::NameSize(size) => write!(f, "c_namesize {size} is 0 or over PATH_MAX"),
            ErrorKind::NameNotTerminated => f.write_str("the name does not end in NUL"),
            ErrorKind::NameNotUtf8 => f.write_str("the name is not UTF-8"),
            ErrorKind::BadName(why) => write!(f, "bad name: {why}"),
            ErrorKind::BadPadding => f.write_str("non-zero padding"),
            ErrorKind::UnexpectedData(t) => write!(f, "a {t:?} entry carries data"),
            ErrorKind::BadSymlink => f.write_str("bad symlink target"),
            ErrorKind::BadChecksum { stored, computed } => {
                write!(f, "checksum {computed:#x} is not c_check {stored:#x}")
            }
            ErrorKind::LinkMismatch => f.write_str("a hard link's mode differs from its inode's"),
            ErrorKind::MissingTrailer => f.write_str("no TRAILER!!! entry"),
            ErrorKind::TrailingData => f.write_str("data after TRAILER!!!"),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cpio entry at byte {}: {}", self.offset, self.kind)
    }
}

impl core::error::Error for Error {}
