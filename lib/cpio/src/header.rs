//! The newc header: 110 ASCII bytes, a six-byte magic then thirteen
//! fields of exactly eight hexadecimal digits each (cpio(5), "New ASCII
//! Format"). The header is followed by the name (`namesize` bytes, its
//! NUL included), padding to a multiple of four, the data (`filesize`
//! bytes) and padding to a multiple of four again.
//!
//! Parsing is strict: every field must be eight hex digits — no spaces,
//! signs or `0x` — or the header is refused with the field's name. The
//! mode's file type bits must name one of the seven file types.

use alloc::string::String;
use core::fmt;

/// Bytes in a header, magic included.
pub const HEADER_LEN: usize = 110;
/// The name of the entry that ends an archive.
pub const TRAILER: &str = "TRAILER!!!";
/// The longest name or symlink target accepted, its NUL included (Linux's
/// `PATH_MAX`).
pub const PATH_MAX: usize = 4096;
/// Headers, names and data start on multiples of this.
pub const ALIGN: usize = 4;

/// The two newc variants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// `070701`: the `check` field is written as zero and ignored.
    Newc,
    /// `070702`: `check` is the sum of a regular file's data bytes (mod
    /// 2^32), verified; 0 for other types (GNU cpio writes no sum for a
    /// symlink's target, and Linux checks none).
    Crc,
}

impl Format {
    /// The six magic bytes that start each header.
    pub fn magic(self) -> &'static [u8; 6] {
        match self {
            Format::Newc => b"070701",
            Format::Crc => b"070702",
        }
    }

    fn from_magic(magic: &[u8]) -> Option<Format> {
        [Format::Newc, Format::Crc]
            .into_iter()
            .find(|f| f.magic().as_slice() == magic)
    }
}

/// The thirteen numeric fields, in header order (named in errors).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    Ino,
    Mode,
    Uid,
    Gid,
    Nlink,
    Mtime,
    FileSize,
    DevMajor,
    DevMinor,
    RdevMajor,
    RdevMinor,
    NameSize,
    Check,
}

const FIELDS: [Field; 13] = [
    Field::Ino,
    Field::Mode,
    Field::Uid,
    Field::Gid,
    Field::Nlink,
    Field::Mtime,
    Field::FileSize,
    Field::DevMajor,
    Field::DevMinor,
    Field::RdevMajor,
    Field::RdevMinor,
    Field::NameSize,
    Field::Check,
];

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            Field::Ino => "c_ino",
            Field::Mode => "c_mode",
            Field::Uid => "c_uid",
            Field::Gid => "c_gid",
            Field::Nlink => "c_nlink",
            Field::Mtime => "c_mtime",
            Field::FileSize => "c_filesize",
            Field::DevMajor => "c_devmajor",
            Field::DevMinor => "c_devminor",
            Field::RdevMajor => "c_rdevmajor",
            Field::RdevMinor => "c_rdevminor",
            Field::NameSize => "c_namesize",
            Field::Check => "c_check",
        };
        f.write_str(name)
    }
}

/// A file's type: the `S_IFMT` bits of its mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum FileType {
    Regular,
    Directory,
    Symlink,
    CharDevice,
    BlockDevice,
    Fifo,
    Socket,
}

impl FileType {
    /// The mask of the type bits in a mode.
    pub const S_IFMT: u32 = 0o170_000;
    /// The mask of the permission bits (with set-uid, set-gid, sticky).
    pub const PERM_MASK: u32 = 0o7777;

    /// The type a mode's `S_IFMT` bits name, if any.
    pub fn from_mode(mode: u32) -> Option<FileType> {
        let kind = match mode & Self::S_IFMT {
            0o100_000 => FileType::Regular,
            0o040_000 => FileType::Directory,
            0o120_000 => FileType::Symlink,
            0o020_000 => FileType::CharDevice,
            0o060_000 => FileType::BlockDevice,
            0o010_000 => FileType::Fifo,
            0o140_000 => FileType::Socket,
            _ => return None,
        };
        Some(kind)
    }

    /// The `S_IFMT` bits of this type (`S_IFREG`, `S_IFDIR`, ...).
    pub fn bits(self) -> u32 {
        match self {
            FileType::Regular => 0o100_000,
            FileType::Directory => 0o040_000,
            FileType::Symlink => 0o120_000,
            FileType::CharDevice => 0o020_000,
            FileType::BlockDevice => 0o060_000,
            FileType::Fifo => 0o010_000,
            FileType::Socket => 0o140_000,
        }
    }

    /// The letter `ls -l` shows for this type.
    pub fn letter(self) -> char {
        match self {
            FileType::Regular => '-',
            FileType::Directory => 'd',
            FileType::Symlink => 'l',
            FileType::CharDevice => 'c',
            FileType::BlockDevice => 'b',
            FileType::Fifo => 'p',
            FileType::Socket => 's',
        }
    }

    /// Whether entries of this type may carry data (a file's bytes, a
    /// symlink's target).
    pub fn has_data(self) -> bool {
        matches!(self, FileType::Regular | FileType::Symlink)
    }
}

/// A mode as `ls -l` shows it: `drwxr-xr-x`, with `s`/`S` for set-uid
/// and set-gid and `t`/`T` for sticky.
pub fn ls_mode(file_type: FileType, perm: u32) -> String {
    let mut out = String::with_capacity(10);
    out.push(file_type.letter());
    for (shift, special, letter) in [(6, 0o4000, 's'), (3, 0o2000, 's'), (0, 0o1000, 't')] {
        let bits = perm >> shift;
        out.push(if bits & 4 != 0 { 'r' } else { '-' });
        out.push(if bits & 2 != 0 { 'w' } else { '-' });
        out.push(match (perm & special != 0, bits & 1 != 0) {
            (true, true) => letter,
            (true, false) => letter.to_ascii_uppercase(),
            (false, true) => 'x',
            (false, false) => '-',
        });
    }
    out
}

/// A header's fields as numbers. The mode is kept whole; [`FileType`]
/// says what its type bits mean.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub format: Format,
    pub ino: u32,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub nlink: u32,
    pub mtime: u32,
    pub filesize: u32,
    pub dev_major: u32,
    pub dev_minor: u32,
    pub rdev_major: u32,
    pub rdev_minor: u32,
    pub namesize: u32,
    pub check: u32,
}

/// Why a header's 110 bytes were refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeaderError {
    /// Neither `070701` nor `070702`.
    BadMagic,
    /// A field is not eight hexadecimal digits.
    NotHex(Field),
}

impl Header {
    /// Parses the first [`HEADER_LEN`] bytes of `bytes`.
    ///
    /// Fails with [`HeaderError::BadMagic`] or [`HeaderError::NotHex`]
    /// naming the first bad field; `bytes` must hold a whole header (the
    /// caller checks the length, as it knows the offset for its error).
    pub fn parse(bytes: &[u8; HEADER_LEN]) -> Result<Header, HeaderError> {
        let format = Format::from_magic(&bytes[..6]).ok_or(HeaderError::BadMagic)?;
        let mut values = [0u32; 13];
        for (i, (value, field)) in values.iter_mut().zip(FIELDS).enumerate() {
            let at = 6 + i * 8;
            *value = parse_hex(&bytes[at..at + 8]).ok_or(HeaderError::NotHex(field))?;
        }
        let [ino, mode, uid, gid, nlink, mtime, filesize, dev_major, dev_minor, rdev_major, rdev_minor, namesize, check] =
            values;
        Ok(Header {
            format,
            ino,
            mode,
            uid,
            gid,
            nlink,
            mtime,
            filesize,
            dev_major,
            dev_minor,
            rdev_major,
            rdev_minor,
            namesize,
            check,
        })
    }

    /// The header's bytes, the fields as eight upper-case hex digits.
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        out[..6].copy_from_slice(self.format.magic());
        let values = [
            self.ino,
            self.mode,
            self.uid,
            self.gid,
            self.nlink,
            self.mtime,
            self.filesize,
            self.dev_major,
            self.dev_minor,
            self.rdev_major,
            self.rdev_minor,
            self.namesize,
            self.check,
        ];
        for (i, value) in values.into_iter().enumerate() {
            let at = 6 + i * 8;
            for (j, byte) in out[at..at + 8].iter_mut().enumerate() {
                let nibble = (value >> (28 - 4 * j)) & 0xf;
                *byte = b"0123456789ABCDEF"[nibble as usize];
            }
        }
        out
    }
}

/// Eight hex digits (either case) as a number; anything else is `None`.
fn parse_hex(digits: &[u8]) -> Option<u32> {
    if digits.len() != 8 {
        return None;
    }
    digits.iter().try_fold(0u32, |acc, &d| {
        let nibble = (d as char).to_digit(16)?;
        Some(acc << 4 | nibble)
    })
}

/// `n` rounded up to a multiple of [`ALIGN`], or `None` on overflow.
pub fn align_up(n: usize) -> Option<usize> {
    n.checked_add(ALIGN - 1).map(|n| n & !(ALIGN - 1))
}

/// The `070702` checksum of `data`: the sum of its bytes, mod 2^32.
pub fn checksum(data: &[u8]) -> u32 {
    data.iter().fold(0u32, |sum, &b| sum.wrapping_add(b as u32))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Header {
        Header {
            format: Format::Crc,
            ino: 0x1234_5678,
            mode: 0o100_644,
            uid: 0,
            gid: 1000,
            nlink: 1,
            mtime: 0xffff_ffff,
            filesize: 3,
            dev_major: 8,
            dev_minor: 1,
            rdev_major: 0,
            rdev_minor: 0,
            namesize: 6,
            check: 0xabc,
        }
    }

    #[test]
    fn encode_then_parse_is_identity() {
        let h = sample();
        let bytes = h.encode();
        assert_eq!(&bytes[..14], b"07070212345678");
        assert_eq!(Header::parse(&bytes), Ok(h));
    }

    #[test]
    fn lower_case_hex_is_accepted() {
        let mut bytes = sample().encode();
        bytes[6..14].copy_from_slice(b"abcdef01");
        assert_eq!(Header::parse(&bytes).unwrap().ino, 0xabcd_ef01);
    }

    #[test]
    fn each_field_is_named_when_bad() {
        for (i, field) in FIELDS.into_iter().enumerate() {
            for bad in [b' ', b'g', b'+', b'x', 0, 0xff] {
                let mut bytes = sample().encode();
                bytes[6 + i * 8 + 3] = bad;
                assert_eq!(Header::parse(&bytes), Err(HeaderError::NotHex(field)));
            }
        }
    }

    #[test]
    fn old_binary_and_odc_magics_are_refused() {
        for magic in [b"070707", b"070700", b"\xc7\x71\0\0\0\0", b"070703"] {
            let mut bytes = sample().encode();
            bytes[..6].copy_from_slice(magic);
            assert_eq!(Header::parse(&bytes), Err(HeaderError::BadMagic));
        }
    }

    #[test]
    fn file_types_round_trip_through_mode_bits() {
        for t in [
            FileType::Regular,
            FileType::Directory,
            FileType::Symlink,
            FileType::CharDevice,
            FileType::BlockDevice,
            FileType::Fifo,
            FileType::Socket,
        ] {
            assert_eq!(FileType::from_mode(t.bits() | 0o755), Some(t));
        }
        assert_eq!(FileType::from_mode(0o644), None);
        assert_eq!(FileType::from_mode(0o030_644), None);
    }

    #[test]
    fn modes_read_as_ls_shows_them() {
        assert_eq!(ls_mode(FileType::Directory, 0o755), "drwxr-xr-x");
        assert_eq!(ls_mode(FileType::Directory, 0o1777), "drwxrwxrwt");
        assert_eq!(ls_mode(FileType::Regular, 0o4755), "-rwsr-xr-x");
        assert_eq!(ls_mode(FileType::Regular, 0o6644), "-rwSr-Sr--");
        assert_eq!(ls_mode(FileType::CharDevice, 0o1600), "crw------T");
        assert_eq!(ls_mode(FileType::Symlink, 0o777), "lrwxrwxrwx");
    }

    #[test]
    fn alignment_and_checksum() {
        assert_eq!(align_up(110 + 2), Some(112));
        assert_eq!(align_up(113), Some(116));
        assert_eq!(align_up(usize::MAX), None);
        assert_eq!(checksum(&[0xff; 4]), 0x3fc);
    }
}
