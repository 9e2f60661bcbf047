//! 10,000 random mutations of a good archive — bytes overwritten, hex
//! digits changed to other hex digits (so parsing gets past the header
//! into sizes and names), cuts, insertions — read without a panic; what
//! still reads must keep the reader's promises (names normalized and
//! inside the root, data inside the archive, types consistent).

mod common;

use common::Rng;
use cpio::{Archive, FileType, Format, Meta, Node, Writer};

fn seed_archive(format: Format) -> Vec<u8> {
    let dir = Meta {
        perm: 0o755,
        uid: 0,
        gid: 0,
    };
    let file = Meta {
        perm: 0o644,
        uid: 1000,
        gid: 1000,
    };
    let mut w = Writer::new(format);
    w.add(".", Node::Directory, dir).unwrap();
    w.add("bin", Node::Directory, dir).unwrap();
    w.add(
        "bin/hello",
        Node::File(&[0x7f, b'E', b'L', b'F', 2, 1, 1]),
        dir,
    )
    .unwrap();
    w.add(
        "bin/sh",
        Node::Symlink("hello"),
        Meta { perm: 0o777, ..dir },
    )
    .unwrap();
    w.add_hard_links(&["bin/a", "bin/b"], b"linked data", dir)
        .unwrap();
    w.add("etc", Node::Directory, dir).unwrap();
    w.add("etc/motd", Node::File(b"Welcome.\n"), file).unwrap();
    w.add("dev", Node::Directory, dir).unwrap();
    w.add("dev/console", Node::CharDevice { major: 5, minor: 1 }, file)
        .unwrap();
    w.finish()
}

fn mutate(rng: &mut Rng, bytes: &mut Vec<u8>) {
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(bytes.len().max(1));
        match rng.below(6) {
            0 if !bytes.is_empty() => bytes[at] = rng.next() as u8,
            1 if !bytes.is_empty() => bytes[at] = b"0123456789abcdefF"[rng.below(17)],
            2 if !bytes.is_empty() => bytes[at] ^= 1 << rng.below(8),
            3 => bytes.truncate(at),
            4 => bytes.insert(at.min(bytes.len()), rng.next() as u8),
            5 if !bytes.is_empty() => {
                bytes.remove(at);
            }
            _ => {}
        }
    }
}

/// What any entry the reader hands out must satisfy.
fn check_promises(bytes: &[u8]) -> usize {
    let range = bytes.as_ptr_range();
    let mut count = 0;
    for entry in Archive::new(bytes).entries() {
        let Ok(entry) = entry else { break };
        count += 1;
        let name = &entry.name;
        assert!(!name.is_empty() && !name.starts_with('/'), "{name:?}");
        assert!(
            name == "." || name.split('/').all(|p| !matches!(p, "" | "." | "..")),
            "{name:?}"
        );
        let data = entry.data.as_ptr_range();
        assert!(range.start <= data.start && data.end <= range.end);
        assert_eq!(FileType::from_mode(entry.mode()), Some(entry.file_type));
        if entry.file_type == FileType::Symlink {
            assert!(entry.symlink_target().is_some_and(|t| !t.is_empty()));
        } else if !entry.file_type.has_data() {
            assert!(entry.data.is_empty());
        }
    }
    count
}

#[test]
fn ten_thousand_mutations_never_panic() {
    let seeds = [seed_archive(Format::Newc), seed_archive(Format::Crc)];
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let (mut whole, mut entries) = (0, 0);
    for i in 0..10_000 {
        let mut bytes = seeds[i % 2].clone();
        mutate(&mut rng, &mut bytes);
        entries += check_promises(&bytes);
        if Archive::new(&bytes).check().is_ok() {
            whole += 1;
        }
    }
    // The mutations reach past the first header, and most are caught.
    assert!(entries > 10_000, "only {entries} entries read");
    assert!(whole < 5_000, "{whole} of 10,000 mutants read as whole");
    println!("{whole} of 10,000 mutants still read whole; {entries} entries handed out");
}
