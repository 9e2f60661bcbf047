//! Goal-directed allocation: a file written sequentially gets consecutive
//! blocks (with its indirect blocks in line), in its inode's group; a new
//! file lands in its directory's group.

mod common;

use common::*;
use ext2::ROOT_INO;
use std::fs;

#[test]
fn sequential_writes_get_consecutive_blocks() {
    let dir = scratch("alloc");
    let src = dir.join("src");
    fs::create_dir(&src).unwrap();
    let image = dir.join("image");
    mkfs(&src, &image, 1024, 128, 32 << 10);
    let mut fs = mount_mem(fs::read(&image).unwrap(), false).unwrap();
    let _ = fs::remove_dir_all(&dir);
    let sb = fs.superblock().clone();
    let sub = fs.mkdir(ROOT_INO, b"sub", 0o755, 0, 0).unwrap().ino;
    let file = fs.create(sub, b"seq", 0o644, 0, 0).unwrap().ino;
    let group = (file - 1) / sb.inodes_per_group;
    assert_eq!(
        group,
        (sub - 1) / sb.inodes_per_group,
        "a file lands in its directory's group"
    );
    for i in 0..300u64 {
        fs.write(file, i * 4096, &pattern(i as u32, 4096)).unwrap();
    }
    let blocks: Vec<u32> = (0..1200)
        .map(|l| fs.bmap(file, l).unwrap().unwrap())
        .collect();
    for pair in blocks.windows(2) {
        let gap = pair[1] - pair[0];
        // 1 between data blocks; 2 or 3 where indirect blocks sit between.
        assert!(
            (1..=3).contains(&gap),
            "blocks {} then {}",
            pair[0],
            pair[1]
        );
    }
    let first_of_group = sb.group_first_block(group);
    assert!(blocks[0] >= first_of_group && blocks[0] < first_of_group + sb.blocks_per_group);
}
