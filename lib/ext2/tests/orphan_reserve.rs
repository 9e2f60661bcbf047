//! What a VFS with a page cache needs of the library: `reserve` (blocks
//! allocated when a page is dirtied, so a full volume is `ENOSPC` then and
//! never at writeback) and deferred release (an unlinked file stays
//! readable and writable until `release_orphan`, and its number is not
//! reused meanwhile). Each image is judged by `e2fsck -fn`.

mod common;

use common::*;
use ext2::{Error, ROOT_INO};
use std::fs;

#[test]
fn reserve_allocates_without_changing_the_size_and_fails_cleanly_when_full() {
    let dir = scratch("reserve");
    let src = dir.join("src");
    fs::create_dir(&src).unwrap();
    let image = dir.join("image");
    mkfs(&src, &image, 1024, 128, 1024);
    let mut fs = mount_file(&image);
    let ino = fs.create(ROOT_INO, b"f", 0o644, 0, 0).unwrap().ino;
    fs.reserve(ino, 0, 8192).unwrap();
    let inode = fs.read_inode(ino).unwrap();
    assert_eq!(inode.size, 0, "reserve leaves the size alone");
    assert_eq!(inode.blocks, 16, "eight 1 KiB blocks");
    for lblk in 0..8 {
        assert!(fs.bmap(ino, lblk).unwrap().is_some());
    }
    // The size the writer then sets makes the image whole again.
    fs.truncate(ino, 8192).unwrap();
    let data = pattern(3, 8192);
    assert_eq!(fs.write(ino, 0, &data).unwrap(), 8192);
    let free_before = fs.statfs().free_blocks;
    fs.reserve(ino, 0, 8192).unwrap();
    assert_eq!(
        fs.statfs().free_blocks,
        free_before,
        "mapped blocks cost nothing"
    );
    // Fill the volume through reserve: ENOSPC, and what failed is freed.
    let mut at = 8192u64;
    let err = loop {
        match fs.reserve(ino, at, 4096) {
            Ok(()) => {
                at += 4096;
                fs.truncate(ino, at).unwrap();
            }
            Err(e) => break e,
        }
        assert!(at < 16 << 20, "the volume never filled");
    };
    assert_eq!(err, Error::NoSpace);
    let inode = fs.read_inode(ino).unwrap();
    assert_eq!(inode.size, at, "the size did not move");
    assert!(
        fs.bmap(ino, at / 1024).unwrap().is_none(),
        "the failed page holds no block"
    );
    assert_eq!(read_all(&mut fs, ino).unwrap()[..8192], data[..]);
    assert_eq!(fs.reserve(ROOT_INO, 0, 1).err(), Some(Error::IsDir));
    fs.unmount().unwrap();
    assert_fsck_clean(&image);
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn a_deferred_inode_stays_usable_until_released() {
    let dir = scratch("orphan");
    let src = dir.join("src");
    fs::create_dir(&src).unwrap();
    let image = dir.join("image");
    mkfs(&src, &image, 1024, 128, 1024);
    let mut fs = mount_file(&image);
    fs.set_defer_release(true);
    let start = fs.statfs();
    let ino = fs.create(ROOT_INO, b"gone", 0o644, 0, 0).unwrap().ino;
    let data = pattern(5, 5000);
    fs.write(ino, 0, &data).unwrap();
    let d = fs.mkdir(ROOT_INO, b"dir", 0o755, 0, 0).unwrap().ino;
    fs.unlink(ROOT_INO, b"gone").unwrap();
    fs.rmdir(ROOT_INO, b"dir").unwrap();
    assert_eq!(fs.orphan_count(), 2);
    assert_eq!(fs.lookup(ROOT_INO, b"gone").err(), Some(Error::NotFound));
    // Still readable and writable, and its number is not handed out again.
    assert_eq!(read_all(&mut fs, ino).unwrap(), data);
    fs.write(ino, 5000, b"more").unwrap();
    let other = fs.create(ROOT_INO, b"other", 0o644, 0, 0).unwrap().ino;
    assert!(other != ino && other != d);
    assert!(fs.release_orphan(ino).unwrap());
    assert!(!fs.release_orphan(ino).unwrap(), "only once");
    assert!(
        !fs.release_orphan(other).unwrap(),
        "a linked inode is left alone"
    );
    assert_eq!(fs.read_inode(ino).err(), Some(Error::Invalid));
    fs.unlink(ROOT_INO, b"other").unwrap();
    fs.release_orphan(other).unwrap();
    // The directory is released at unmount.
    fs.unmount().unwrap();
    assert_fsck_clean(&image);
    let fs = mount_file(&image);
    let end = fs.statfs();
    assert_eq!(
        (end.free_blocks, end.free_inodes),
        (start.free_blocks, start.free_inodes)
    );
    let _ = fs::remove_dir_all(&dir);
}
