//! Archives made to hurt: each case is hand-made bytes and the exact
//! typed error (kind and offset) the reader must give. None may panic,
//! and no walk may go on after its error.

mod common;

use common::{archive, Raw};
use cpio::header::Field;
use cpio::name::NameError;
use cpio::{Archive, Error, ErrorKind, FileType, Format, Part, Writer};

/// The first error walking `bytes`, or `None` if it reads to the end.
fn first_error(bytes: &[u8]) -> Option<Error> {
    let mut entries = Archive::new(bytes).entries();
    let error = entries.by_ref().find_map(Result::err);
    assert!(entries.next().is_none(), "the walk goes on after an error");
    error
}

fn with_header(edit: impl Fn(&mut Raw)) -> Vec<u8> {
    let mut raw = Raw::file("etc/motd", b"hello");
    edit(&mut raw);
    archive(&[raw, Raw::trailer()])
}

/// Overwrites `field`'s eight digits in the first header with `digits`.
fn with_digits(field: usize, digits: &[u8; 8]) -> Vec<u8> {
    let mut bytes = with_header(|_| {});
    bytes[6 + field * 8..14 + field * 8].copy_from_slice(digits);
    bytes
}

#[test]
fn a_table_of_hostile_archives() {
    let good = with_header(|_| {});
    // The header (110 bytes) and "etc/motd\0" end at 119, the data
    // "hello" starts at 120 and its padding ends at 128.
    let data_at = 120;
    assert_eq!(first_error(&good), None);
    let mut cases: Vec<(&str, Vec<u8>, ErrorKind, usize)> = vec![
        ("empty", vec![], ErrorKind::MissingTrailer, 0),
        ("only zeros", vec![0; 1024], ErrorKind::MissingTrailer, 0),
        (
            "half a header",
            good[..50].to_vec(),
            ErrorKind::Truncated(Part::Header),
            0,
        ),
        (
            "header, no name",
            good[..110].to_vec(),
            ErrorKind::Truncated(Part::Name),
            0,
        ),
        (
            "name, no padding",
            good[..119].to_vec(),
            ErrorKind::Truncated(Part::Name),
            0,
        ),
        (
            "half the data",
            good[..data_at + 2].to_vec(),
            ErrorKind::Truncated(Part::Data),
            0,
        ),
        (
            "no data padding",
            good[..data_at + 5].to_vec(),
            ErrorKind::Truncated(Part::Data),
            0,
        ),
        (
            "no trailer",
            good[..128].to_vec(),
            ErrorKind::MissingTrailer,
            128,
        ),
        (
            "half a trailer",
            good[..128 + 60].to_vec(),
            ErrorKind::Truncated(Part::Header),
            128,
        ),
        (
            "odc magic",
            {
                let mut b = good.clone();
                b[5] = b'7';
                b
            },
            ErrorKind::BadMagic,
            0,
        ),
        (
            "text",
            b"hello world, this is not an archive at all".repeat(4),
            ErrorKind::BadMagic,
            0,
        ),
        (
            "0x in a field",
            with_digits(0, b"0x000001"),
            ErrorKind::NotHex(Field::Ino),
            0,
        ),
        (
            "space in a field",
            with_digits(6, b"       5"),
            ErrorKind::NotHex(Field::FileSize),
            0,
        ),
        (
            "sign in a field",
            with_digits(2, b"-0000001"),
            ErrorKind::NotHex(Field::Uid),
            0,
        ),
        (
            "NUL in check",
            with_digits(12, b"0000000\0"),
            ErrorKind::NotHex(Field::Check),
            0,
        ),
        (
            "huge size",
            with_header(|r| r.header.filesize = u32::MAX),
            ErrorKind::Truncated(Part::Data),
            0,
        ),
        (
            "size past the end",
            with_header(|r| r.header.filesize = 400),
            ErrorKind::Truncated(Part::Data),
            0,
        ),
        (
            "zero name size",
            with_header(|r| r.header.namesize = 0),
            ErrorKind::NameSize(0),
            0,
        ),
        (
            "huge name size",
            with_header(|r| r.header.namesize = u32::MAX),
            ErrorKind::NameSize(u32::MAX),
            0,
        ),
        (
            "name past the end",
            with_header(|r| r.header.namesize = 4000),
            ErrorKind::Truncated(Part::Name),
            0,
        ),
        (
            "name without NUL",
            with_header(|r| r.header.namesize = 8),
            ErrorKind::NameNotTerminated,
            0,
        ),
        (
            "NUL inside a name",
            with_header(|r| r.name = b"etc\0motd\0".to_vec()),
            ErrorKind::BadName(NameError::Nul),
            0,
        ),
        (
            "empty name",
            with_header(|r| {
                r.name = b"\0".to_vec();
                r.header.namesize = 1
            }),
            ErrorKind::BadName(NameError::Empty),
            0,
        ),
        (
            "non-UTF-8 name",
            with_header(|r| {
                r.name = b"etc/mo\xfftd\0".to_vec();
                r.header.namesize = 10
            }),
            ErrorKind::NameNotUtf8,
            0,
        ),
        (
            "bad type",
            with_header(|r| r.header.mode = 0o030_644),
            ErrorKind::BadMode(0o030_644),
            0,
        ),
        (
            "no type",
            with_header(|r| r.header.mode = 0o644),
            ErrorKind::BadMode(0o644),
            0,
        ),
        (
            "high mode bits",
            with_header(|r| r.header.mode = 0o1_100_644),
            ErrorKind::BadMode(0o1_100_644),
            0,
        ),
        (
            "directory with data",
            with_header(|r| r.header.mode = 0o040_755),
            ErrorKind::UnexpectedData(FileType::Directory),
            0,
        ),
        (
            "device with data",
            with_header(|r| r.header.mode = 0o020_600),
            ErrorKind::UnexpectedData(FileType::CharDevice),
            0,
        ),
        (
            "symlink with NUL",
            with_header(|r| {
                r.header.mode = 0o120_777;
                r.data = b"a\0b".to_vec();
                r.header.filesize = 3
            }),
            ErrorKind::BadSymlink,
            0,
        ),
        (
            "symlink, not UTF-8",
            with_header(|r| {
                r.header.mode = 0o120_777;
                r.data = b"\xc3(".to_vec();
                r.header.filesize = 2
            }),
            ErrorKind::BadSymlink,
            0,
        ),
        (
            "empty symlink",
            with_header(|r| {
                r.header.mode = 0o120_777;
                r.data.clear();
                r.header.filesize = 0
            }),
            ErrorKind::BadSymlink,
            0,
        ),
        (
            "bad checksum",
            with_header(|r| {
                r.header.format = Format::Crc;
                r.header.check = 1
            }),
            ErrorKind::BadChecksum {
                stored: 1,
                computed: 532,
            },
            0,
        ),
        (
            "garbage after the trailer",
            {
                let mut b = good.clone();
                b.extend_from_slice(b"\0\0\0\0evil");
                b
            },
            ErrorKind::TrailingData,
            128,
        ),
        (
            "trailer with data",
            archive(&[Raw::file("TRAILER!!!", b"boo")]),
            ErrorKind::TrailingData,
            0,
        ),
    ];
    for escape in ["../etc/passwd", "/../x", "a/../../x", "..", "./../.."] {
        let name = format!("{escape}\0").into_bytes();
        let len = name.len() as u32;
        cases.push((
            "escaping name",
            with_header(|r| {
                r.name = name.clone();
                r.header.namesize = len
            }),
            ErrorKind::BadName(NameError::Escapes),
            0,
        ));
    }
    let mut padded = with_header(|_| {});
    padded[119] = b'!';
    cases.push(("junk in name padding", padded, ErrorKind::BadPadding, 0));
    let mut padded = with_header(|_| {});
    padded[126] = 1;
    cases.push(("junk in data padding", padded, ErrorKind::BadPadding, 0));
    for (what, bytes, kind, offset) in cases {
        assert_eq!(first_error(&bytes), Some(Error { offset, kind }), "{what}");
    }
}

#[test]
fn the_offset_names_the_entry_at_fault() {
    let mut link = Raw::node("fifo", 0o010_644);
    link.header.nlink = 2;
    let mut file = Raw::file("file", b"");
    file.header.nlink = 2;
    let bytes = archive(&[Raw::file("a", b"1"), file, link, Raw::trailer()]);
    let err = first_error(&bytes).unwrap();
    assert_eq!(err.kind, ErrorKind::LinkMismatch);
    assert_eq!(err.offset, 116 + 116);
    let text = err.to_string();
    assert!(
        text.contains("byte 232") && text.contains("hard link"),
        "{text}"
    );
}

#[test]
fn directories_with_many_links_are_not_hard_links() {
    let mut a = Raw::node("a", 0o040_755);
    let mut b = Raw::node("b", 0o040_755);
    a.header.nlink = 3;
    b.header.nlink = 3;
    let bytes = archive(&[a, b, Raw::trailer()]);
    let links: Vec<_> = Archive::new(&bytes)
        .entries()
        .map(|e| e.unwrap().link)
        .collect();
    assert_eq!(links, [None, None]);
}

#[test]
fn same_inode_on_another_device_is_another_file() {
    let mut a = Raw::file("a", b"");
    let mut b = Raw::file("b", b"");
    (a.header.nlink, b.header.nlink) = (2, 2);
    b.header.dev_minor = 1;
    let bytes = archive(&[a, b, Raw::trailer()]);
    assert!(Archive::new(&bytes)
        .entries()
        .all(|e| e.unwrap().link.is_none()));
}

#[test]
fn every_truncation_of_a_good_archive_is_an_error() {
    let mut w = Writer::new(Format::Crc);
    w.add(
        "etc",
        cpio::Node::Directory,
        cpio::Meta {
            perm: 0o755,
            uid: 0,
            gid: 0,
        },
    )
    .unwrap();
    w.add(
        "etc/motd",
        cpio::Node::File(b"hello, world\n"),
        cpio::Meta {
            perm: 0o644,
            uid: 0,
            gid: 0,
        },
    )
    .unwrap();
    let bytes = w.finish();
    // Everything up to the end of the trailer's name padding is needed:
    // the last non-zero byte ends "TRAILER!!!", then its NUL and padding.
    let needed = bytes.len() - bytes.iter().rev().take_while(|&&b| b == 0).count();
    let needed = (needed + 1).div_ceil(4) * 4;
    for len in 0..needed {
        assert!(
            Archive::new(&bytes[..len]).check().is_err(),
            "{len} bytes read as whole"
        );
    }
    for len in needed..=bytes.len() {
        assert_eq!(Archive::new(&bytes[..len]).check(), Ok(2), "{len}");
    }
}
