//! The crate's one error type, [`Error`], and its Linux errno. Every
//! failure — bad caller input, a corrupt image, a device error — is one of
//! these; nothing in the crate panics on what it reads from disk.

use crate::device::DeviceError;

/// What went wrong. [`Error::errno`] gives the Linux errno a VFS returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    /// No such name in the directory (`ENOENT`).
    NotFound,
    /// A directory was needed (`ENOTDIR`).
    NotDir,
    /// A directory where a non-directory was needed (`EISDIR`).
    IsDir,
    /// The name already exists (`EEXIST`).
    Exists,
    /// `rmdir` or a replacing `rename` of a directory that has entries
    /// (`ENOTEMPTY`).
    NotEmpty,
    /// No free block or inode left (`ENOSPC`).
    NoSpace,
    /// The offset or size is past the largest file ext2 can map (`EFBIG`).
    FileTooBig,
    /// A name longer than 255 bytes, or a symlink target that does not fit
    /// a block (`ENAMETOOLONG`).
    NameTooLong,
    /// Too many hard links (32,000, `EXT2_LINK_MAX`) (`EMLINK`).
    TooManyLinks,
    /// The block device failed (`EIO`).
    Device(DeviceError),
    /// The image contradicts itself: the reason names the structure
    /// (`EUCLEAN`, which Linux's ext4 calls `EFSCORRUPTED`).
    Corrupted(&'static str),
    /// Mounted read-only, by request or because of an unknown read-only
    /// compatible feature (`EROFS`).
    ReadOnly,
    /// The image needs an incompatible feature this crate does not know;
    /// the value holds the unknown bits (`EINVAL`, as Linux's mount).
    Unsupported(u32),
    /// A bad argument: an inode number that names no inode in use, an
    /// empty name or one with `/` or NUL, renaming a directory into itself
    /// (`EINVAL`).
    Invalid,
}

impl Error {
    /// The Linux errno for this error (a positive number).
    pub fn errno(self) -> i32 {
        match self {
            Error::NotFound => 2,
            Error::Device(_) => 5,
            Error::Exists => 17,
            Error::NotDir => 20,
            Error::IsDir => 21,
            Error::Invalid | Error::Unsupported(_) => 22,
            Error::FileTooBig => 27,
            Error::NoSpace => 28,
            Error::ReadOnly => 30,
            Error::TooManyLinks => 31,
            Error::NameTooLong => 36,
            Error::NotEmpty => 39,
            Error::Corrupted(_) => 117,
        }
    }
}

impl From<DeviceError> for Error {
    fn from(e: DeviceError) -> Self {
        Error::Device(e)
    }
}

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Error::Corrupted(why) => write!(f, "ext2: corrupted file system: {why}"),
            Error::Unsupported(bits) => write!(f, "ext2: unsupported incompat features {bits:#x}"),
            Error::Device(e) => write!(f, "ext2: device error: {e:?}"),
            other => write!(f, "ext2: {other:?} (errno {})", other.errno()),
        }
    }
}

/// The crate's result type.
pub type Result<T> = core::result::Result<T, Error>;
