//! The writer and the reader against each other: every kind of entry
//! written is read back field for field and byte for byte, in both
//! formats; the same calls give the same bytes; the writer refuses what
//! the reader would.

mod common;

use common::Raw;
use cpio::name::NameError;
use cpio::{Archive, Entry, FileType, Format, Meta, Node, WriteError, Writer};

const ROOT: Meta = Meta {
    perm: 0o755,
    uid: 0,
    gid: 0,
};

/// Data whose sizes cover every padding case and all byte values.
fn payloads() -> Vec<Vec<u8>> {
    let mut all: Vec<Vec<u8>> = (0..9).map(|n| vec![b'x'; n]).collect();
    all.push((0..=255).collect());
    all.push((0..100_000u32).map(|i| (i * 7 % 251) as u8).collect());
    all
}

/// What each entry of [`sample`] should read back as.
struct Want {
    name: String,
    file_type: FileType,
    perm: u32,
    uid: u32,
    gid: u32,
    nlink: u32,
    data: Vec<u8>,
    rdev: (u32, u32),
    link: Option<&'static str>,
}

fn want(name: &str, file_type: FileType, perm: u32, data: &[u8]) -> Want {
    Want {
        name: name.into(),
        file_type,
        perm,
        uid: 0,
        gid: 0,
        nlink: if file_type == FileType::Directory {
            2
        } else {
            1
        },
        data: data.to_vec(),
        rdev: (0, 0),
        link: None,
    }
}

/// An archive with every kind of entry, and what it should read back as.
fn sample(format: Format) -> (Vec<u8>, Vec<Want>) {
    let mut w = Writer::new(format).with_mtime(1_700_000_000);
    let mut wants = Vec::new();
    w.add("/", Node::Directory, ROOT).unwrap();
    wants.push(want(".", FileType::Directory, 0o755, b""));
    w.add("./bin", Node::Directory, ROOT).unwrap();
    wants.push(want("bin", FileType::Directory, 0o755, b""));
    for (i, data) in payloads().iter().enumerate() {
        let name = format!("bin/file{i}");
        let meta = Meta {
            perm: 0o644,
            uid: i as u32,
            gid: 1000 + i as u32,
        };
        w.add(&name, Node::File(data), meta).unwrap();
        let mut it = want(&name, FileType::Regular, 0o644, data);
        (it.uid, it.gid) = (meta.uid, meta.gid);
        wants.push(it);
    }
    let special = Meta {
        perm: 0o4755,
        uid: 0,
        gid: 0,
    };
    w.add("bin/su", Node::File(b"\x7fELF"), special).unwrap();
    wants.push(want("bin/su", FileType::Regular, 0o4755, b"\x7fELF"));
    w.add(
        "tmp",
        Node::Directory,
        Meta {
            perm: 0o1777,
            uid: 0,
            gid: 0,
        },
    )
    .unwrap();
    wants.push(want("tmp", FileType::Directory, 0o1777, b""));
    w.add(
        "bin/sh",
        Node::Symlink("../bin/file3"),
        Meta {
            perm: 0o777,
            uid: 0,
            gid: 0,
        },
    )
    .unwrap();
    wants.push(want("bin/sh", FileType::Symlink, 0o777, b"../bin/file3"));
    w.add("dev", Node::Directory, ROOT).unwrap();
    wants.push(want("dev", FileType::Directory, 0o755, b""));
    let devices = [
        (
            "dev/console",
            Node::CharDevice { major: 5, minor: 1 },
            FileType::CharDevice,
            (5, 1),
        ),
        (
            "dev/vda",
            Node::BlockDevice {
                major: 254,
                minor: 0,
            },
            FileType::BlockDevice,
            (254, 0),
        ),
        (
            "dev/big",
            Node::CharDevice {
                major: u32::MAX,
                minor: 1 << 20,
            },
            FileType::CharDevice,
            (u32::MAX, 1 << 20),
        ),
        ("dev/initctl", Node::Fifo, FileType::Fifo, (0, 0)),
        ("dev/log", Node::Socket, FileType::Socket, (0, 0)),
    ];
    for (name, node, file_type, rdev) in devices {
        w.add(
            name,
            node,
            Meta {
                perm: 0o600,
                uid: 0,
                gid: 0,
            },
        )
        .unwrap();
        let mut it = want(name, file_type, 0o600, b"");
        it.rdev = rdev;
        wants.push(it);
    }
    let names = ["bin/ls", "bin/dir", "bin/vdir"];
    w.add_hard_links(&names, b"coreutils", ROOT).unwrap();
    for (i, name) in names.into_iter().enumerate() {
        let mut it = want(
            name,
            FileType::Regular,
            0o755,
            if i == 2 { b"coreutils" } else { b"" },
        );
        it.nlink = 3;
        it.link = (i > 0).then_some("bin/ls");
        wants.push(it);
    }
    (w.finish(), wants)
}

fn check_entry(entry: &Entry<'_>, want: &Want) {
    let name = &want.name;
    assert_eq!(entry.name, *name);
    assert_eq!(entry.file_type, want.file_type, "{name}");
    assert_eq!(entry.perm, want.perm, "{name}");
    assert_eq!(entry.mode(), want.file_type.bits() | want.perm, "{name}");
    assert_eq!((entry.uid, entry.gid), (want.uid, want.gid), "{name}");
    assert_eq!(entry.nlink, want.nlink, "{name}");
    assert_eq!(entry.mtime, 1_700_000_000, "{name}");
    assert_eq!((entry.dev_major, entry.dev_minor), (0, 0), "{name}");
    assert_eq!((entry.rdev_major, entry.rdev_minor), want.rdev, "{name}");
    assert!(entry.data == want.data.as_slice(), "{name}: data differs");
    assert_eq!(entry.link.as_deref(), want.link, "{name}");
}

#[test]
fn every_entry_reads_back_in_both_formats() {
    for format in [Format::Newc, Format::Crc] {
        let (archive, wants) = sample(format);
        assert_eq!(&archive[..6], format.magic());
        assert_eq!(archive.len() % 512, 0, "padded to 512-byte blocks");
        let entries: Vec<Entry<'_>> = Archive::new(&archive)
            .entries()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(entries.len(), wants.len());
        for (entry, want) in entries.iter().zip(&wants) {
            check_entry(entry, want);
        }
        assert_eq!(Archive::new(&archive).check(), Ok(wants.len()));
    }
}

#[test]
fn inodes_count_up_and_hard_links_share_one() {
    let (archive, _) = sample(Format::Newc);
    let entries: Vec<Entry<'_>> = Archive::new(&archive)
        .entries()
        .map(Result::unwrap)
        .collect();
    let inos: Vec<u32> = entries.iter().map(|e| e.ino).collect();
    let n = inos.len() as u32;
    assert_eq!(inos[..inos.len() - 2], (1..n - 1).collect::<Vec<_>>());
    assert_eq!(
        inos[inos.len() - 3..],
        [n - 2; 3],
        "the three links share an inode"
    );
}

#[test]
fn the_same_calls_give_the_same_bytes() {
    assert_eq!(sample(Format::Newc).0, sample(Format::Newc).0);
    assert_eq!(sample(Format::Crc).0, sample(Format::Crc).0);
    let empty = Writer::new(Format::Newc).finish();
    assert_eq!(empty.len(), 512);
    assert_eq!(Archive::new(&empty).check(), Ok(0));
}

#[test]
fn hand_made_names_are_normalized() {
    let archive = common::archive(&[
        Raw::node("./", 0o040_755),
        Raw::node("/etc", 0o040_755),
        Raw::file("./etc//motd", b"hi"),
        Raw::file("etc/x/../passwd", b"root"),
        Raw::trailer(),
    ]);
    let names: Vec<String> = Archive::new(&archive)
        .entries()
        .map(|e| e.unwrap().name.into_owned())
        .collect();
    assert_eq!(names, [".", "etc", "etc/motd", "etc/passwd"]);
}

#[test]
fn the_writer_refuses_what_the_reader_would() {
    let mut w = Writer::new(Format::Newc);
    let file = Meta {
        perm: 0o644,
        uid: 0,
        gid: 0,
    };
    w.add("etc", Node::Directory, ROOT).unwrap();
    w.add("etc/motd", Node::File(b"hi"), file).unwrap();
    let cases: Vec<(&str, Node<'_>, Meta, WriteError)> = vec![
        (
            "",
            Node::Directory,
            ROOT,
            WriteError::BadName(NameError::Empty),
        ),
        (
            "../x",
            Node::Directory,
            ROOT,
            WriteError::BadName(NameError::Escapes),
        ),
        (
            "a\0b",
            Node::Directory,
            ROOT,
            WriteError::BadName(NameError::Nul),
        ),
        (
            "/etc/",
            Node::Directory,
            ROOT,
            WriteError::Duplicate("etc".into()),
        ),
        (
            "usr/bin",
            Node::Directory,
            ROOT,
            WriteError::MissingParent("usr/bin".into()),
        ),
        (
            "etc/motd/x",
            Node::File(b""),
            file,
            WriteError::MissingParent("etc/motd/x".into()),
        ),
        (
            "x",
            Node::File(b""),
            Meta {
                perm: 0o10_000,
                uid: 0,
                gid: 0,
            },
            WriteError::BadPerm(0o10_000),
        ),
        (
            "l",
            Node::Symlink(""),
            file,
            WriteError::BadSymlink("l".into()),
        ),
        (
            "l",
            Node::Symlink("a\0"),
            file,
            WriteError::BadSymlink("l".into()),
        ),
    ];
    for (name, node, meta, error) in cases {
        assert_eq!(w.add(name, node, meta), Err(error), "{name:?}");
    }
    let long = "x".repeat(cpio::PATH_MAX);
    assert_eq!(
        w.add(&long, Node::Directory, ROOT),
        Err(WriteError::BadName(NameError::TooLong))
    );
    assert_eq!(
        w.add_hard_links(&[], b"", file),
        Err(WriteError::BadLinkCount)
    );
    assert_eq!(
        w.add_hard_links(&["a", "./a"], b"", file),
        Err(WriteError::Duplicate("a".into()))
    );
    // Nothing of the refused calls reached the archive.
    assert_eq!(Archive::new(&w.finish()).check(), Ok(2));
}
