//! A full volume: writes stop with `ENOSPC` (or a short count), file and
//! directory creation fail cleanly, nothing written before is lost, the
//! image stays `e2fsck`-clean, and freeing everything brings the free
//! counts back exactly.

mod common;

use common::*;
use ext2::{Error, ROOT_INO};
use std::fs;

fn fill(block_size: u32) {
    let dir = scratch("enospc");
    let src = dir.join("src");
    fs::create_dir(&src).unwrap();
    fs::write(src.join("before"), pattern(7, 3000)).unwrap();
    let image = dir.join("image");
    mkfs(&src, &image, block_size, 128, 2048);
    let mut fs = mount_file(&image);
    let start = fs.statfs();
    let keep = fs.create(ROOT_INO, b"keep", 0o644, 0, 0).unwrap().ino;
    let keep_data = pattern(8, 20_000);
    assert_eq!(fs.write(keep, 0, &keep_data).unwrap(), keep_data.len());
    let big = fs.create(ROOT_INO, b"fill", 0o644, 0, 0).unwrap().ino;
    let chunk = pattern(9, 7000);
    let mut written = 0u64;
    let err = loop {
        match fs.write(big, written, &chunk) {
            Ok(n) => {
                written += n as u64;
                assert!(written < 64 << 20, "the volume never filled");
            }
            Err(e) => break e,
        }
    };
    assert_eq!(err, Error::NoSpace);
    assert_eq!(err.errno(), 28);
    assert_eq!(fs.statfs().free_blocks, 0);
    assert_eq!(fs.read_inode(big).unwrap().size, written);
    // Overwriting allocated blocks needs no space.
    assert_eq!(fs.write(keep, 100, &keep_data[100..200]).unwrap(), 100);
    assert_eq!(
        fs.mkdir(ROOT_INO, b"nodir", 0o755, 0, 0).err(),
        Some(Error::NoSpace)
    );
    let mut made = 0;
    let create_err = loop {
        match fs.create(
            ROOT_INO,
            format!("empty_file_with_long_name_{made}").as_bytes(),
            0o644,
            0,
            0,
        ) {
            Ok(_) => made += 1,
            Err(e) => break e,
        }
        assert!(made < 100_000);
    };
    assert_eq!(create_err, Error::NoSpace);
    fs.unmount().unwrap();
    assert_fsck_clean(&image);

    let filled = Filled {
        keep,
        keep_data,
        big,
        written,
        chunk,
        made,
        start,
    };
    check_then_free(&image, &src, block_size, filled);
    let _ = fs::remove_dir_all(&dir);
}

/// What `fill` left on the volume.
struct Filled {
    keep: u32,
    keep_data: Vec<u8>,
    big: u32,
    written: u64,
    chunk: Vec<u8>,
    made: usize,
    start: ext2::StatFs,
}

/// Checks that nothing written was lost, then frees it all and checks
/// that the free counts come back exactly.
fn check_then_free(image: &std::path::Path, src: &std::path::Path, block_size: u32, f: Filled) {
    let mut fs = mount_file(image);
    let before = resolve(&mut fs, "before").unwrap();
    assert_eq!(read_all(&mut fs, before).unwrap(), pattern(7, 3000));
    assert_eq!(read_all(&mut fs, f.keep).unwrap(), f.keep_data);
    let got = read_all(&mut fs, f.big).unwrap();
    assert_eq!(got.len() as u64, f.written);
    for (i, piece) in got.chunks(7000).enumerate() {
        assert!(piece == &f.chunk[..piece.len()], "fill chunk {i} damaged");
    }
    fs.unlink(ROOT_INO, b"fill").unwrap();
    fs.unlink(ROOT_INO, b"keep").unwrap();
    for i in 0..f.made {
        fs.unlink(
            ROOT_INO,
            format!("empty_file_with_long_name_{i}").as_bytes(),
        )
        .unwrap();
    }
    let end = fs.statfs();
    assert_eq!(end.free_inodes, f.start.free_inodes);
    // The root directory grew by the blocks its many names needed.
    let root_growth = (fs.read_inode(ROOT_INO).unwrap().blocks / (block_size / 512)) as u64
        - start_root_blocks(src, block_size);
    assert_eq!(end.free_blocks + root_growth, f.start.free_blocks);
    fs.unmount().unwrap();
    assert_fsck_clean(image);
}

/// Blocks the root directory of a fresh image from `src` holds.
fn start_root_blocks(src: &std::path::Path, block_size: u32) -> u64 {
    let probe = src.with_file_name("probe");
    mkfs(src, &probe, block_size, 128, 2048);
    let mut fs = mount_mem(fs::read(&probe).unwrap(), true).unwrap();
    (fs.read_inode(ROOT_INO).unwrap().blocks / (block_size / 512)) as u64
}

#[test]
fn full_volume_1k() {
    fill(1024);
}

#[test]
fn full_volume_4k() {
    fill(4096);
}
