//! Reading images made by the host's `mke2fs -t ext2 -d`: every file, link
//! and directory of the source tree is found and compares equal (contents,
//! size, type, mode, owner, mtime, link count, symlink targets, directory
//! listings), at 1 KiB and 4 KiB blocks and both inode sizes, including
//! sparse files reaching double and triple indirect blocks and past 4 GiB
//! (`i_size_high`), fast and slow symlinks, hard links and a directory with
//! a hash-tree index (made by `e2fsck -D`).

mod common;

use common::*;
use ext2::inode::EXT2_INDEX_FL;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// Offsets of the data chunks written into the sparse files.
const DOUBLE_CHUNKS: &[u64] = &[0, 300 << 10, 3 << 20];
const TRIPLE_CHUNKS: &[u64] = &[0, 70 << 20, 9 << 29, (5 << 30) - 100];
const CHUNK: usize = 5000;

/// Where the sparse files hold data: the windows to compare.
fn windows() -> Vec<u64> {
    DOUBLE_CHUNKS.iter().chain(TRIPLE_CHUNKS).copied().collect()
}

fn write_sparse(path: &Path, chunks: &[u64], seed: u32) {
    use std::io::{Seek, SeekFrom, Write};
    let mut f = fs::File::create(path).unwrap();
    for (i, &off) in chunks.iter().enumerate() {
        f.seek(SeekFrom::Start(off)).unwrap();
        f.write_all(&pattern(seed + i as u32, CHUNK)).unwrap();
    }
}

/// The source tree every read test images.
pub fn build_source(root: &Path) {
    fs::write(root.join("small.txt"), b"hello, ext2\n").unwrap();
    fs::write(root.join("empty"), b"").unwrap();
    fs::write(root.join("medium.bin"), pattern(1, 100_000)).unwrap();
    fs::write(root.join("name with spaces"), b"spaces").unwrap();
    fs::write(root.join("ünïcödé"), b"utf8").unwrap();
    write_sparse(&root.join("sparse_double"), DOUBLE_CHUNKS, 10);
    write_sparse(&root.join("sparse_triple"), TRIPLE_CHUNKS, 20);
    fs::set_permissions(root.join("small.txt"), fs::Permissions::from_mode(0o640)).unwrap();
    fs::hard_link(root.join("small.txt"), root.join("link_to_small")).unwrap();
    fs::create_dir_all(root.join("sub/deeper")).unwrap();
    fs::write(root.join("sub/deeper/file"), pattern(2, 4096)).unwrap();
    fs::hard_link(root.join("medium.bin"), root.join("sub/medium_link")).unwrap();
    std::os::unix::fs::symlink("small.txt", root.join("fast_link")).unwrap();
    let long_target = format!("{}/target", "a".repeat(100));
    std::os::unix::fs::symlink(long_target, root.join("sub/slow_link")).unwrap();
    fs::create_dir(root.join("many")).unwrap();
    for i in 0..600 {
        fs::write(
            root.join(format!("many/entry_with_a_longish_name_{i:04}")),
            format!("{i}\n"),
        )
        .unwrap();
    }
}

fn read_image(block_size: u32, inode_size: u32) {
    let dir = scratch("read");
    let src = dir.join("src");
    fs::create_dir(&src).unwrap();
    build_source(&src);
    let image = dir.join("image");
    mkfs(&src, &image, block_size, inode_size, 24 << 10);
    index_dirs(&image);
    assert_fsck_clean(&image);
    let bytes = fs::read(&image).unwrap();
    let mut fs = mount_mem(bytes.clone(), true).unwrap();
    assert_eq!(fs.block_size(), block_size);
    let checked = compare_tree(&mut fs, &src, ext2::ROOT_INO, &windows(), true);
    assert!(checked > 600, "walked only {checked} entries");
    // The big directory carries a hash-tree index that we read linearly.
    let many = resolve(&mut fs, "many").unwrap();
    assert_ne!(
        fs.read_inode(many).unwrap().flags & EXT2_INDEX_FL,
        0,
        "e2fsck -D built no index"
    );
    // Hard links share an inode, across directories too.
    assert_eq!(
        resolve(&mut fs, "small.txt").unwrap(),
        resolve(&mut fs, "link_to_small").unwrap()
    );
    assert_eq!(
        resolve(&mut fs, "medium.bin").unwrap(),
        resolve(&mut fs, "sub/medium_link").unwrap()
    );
    // Past 4 GiB: i_size_high is read.
    let triple = resolve(&mut fs, "sparse_triple").unwrap();
    assert_eq!(
        fs.read_inode(triple).unwrap().size,
        (5 << 30) - 100 + CHUNK as u64
    );
    // bmap agrees with the bytes on the image.
    let small = resolve(&mut fs, "small.txt").unwrap();
    let blk = fs.bmap(small, 0).unwrap().expect("small.txt has a block") as usize;
    let at = blk * block_size as usize;
    assert_eq!(&bytes[at..at + 12], b"hello, ext2\n");
    assert_eq!(
        fs.bmap(triple, 1000).unwrap(),
        None,
        "a hole maps to nothing"
    );
    assert_eq!(
        fs.lookup(ext2::ROOT_INO, b"missing"),
        Err(ext2::Error::NotFound)
    );
    assert_eq!(
        fs.create(ext2::ROOT_INO, b"x", 0o644, 0, 0).err(),
        Some(ext2::Error::ReadOnly)
    );
    let st = fs.statfs();
    assert!(
        st.free_blocks > 0 && st.free_inodes > 0 && st.blocks == (24 << 20) / u64::from(block_size)
    );
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn reads_1k_blocks_128_byte_inodes() {
    read_image(1024, 128);
}

#[test]
fn reads_1k_blocks_256_byte_inodes() {
    read_image(1024, 256);
}

#[test]
fn reads_4k_blocks_256_byte_inodes() {
    read_image(4096, 256);
}
