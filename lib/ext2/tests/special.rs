//! Special files: device nodes (old and new device-number encodings),
//! FIFOs and sockets made by `mknod` pass `e2fsck -fn`, read back through
//! this crate, `debugfs` and `ext4-view`, and are released without
//! touching blocks when unlinked.

mod common;

use common::*;
use ext2::inode::{S_IFBLK, S_IFCHR, S_IFIFO, S_IFSOCK};
use ext2::{Error, FileType, ROOT_INO};
use std::fs;
use std::process::Command;

/// Userspace `makedev` for the 32-bit `dev_t` layout.
fn makedev(major: u32, minor: u32) -> u32 {
    (minor & 0xFF) | (major << 8) | ((minor & !0xFF) << 12)
}

#[test]
fn device_nodes_fifos_and_sockets() {
    let dir = scratch("special");
    let src = dir.join("src");
    fs::create_dir(&src).unwrap();
    let image = dir.join("image");
    mkfs(&src, &image, 1024, 256, 4096);
    let mut fs = mount_file(&image);
    let free = fs.statfs();
    let nodes = [
        ("null", S_IFCHR | 0o666, makedev(1, 3), FileType::CharDevice),
        (
            "sda1",
            S_IFBLK | 0o660,
            makedev(8, 1),
            FileType::BlockDevice,
        ),
        (
            "wide",
            S_IFCHR | 0o600,
            makedev(300, 70_000),
            FileType::CharDevice,
        ),
        ("pipe", S_IFIFO | 0o644, 0, FileType::Fifo),
        ("sock", S_IFSOCK | 0o755, 0, FileType::Socket),
    ];
    for (name, mode, rdev, _) in nodes {
        fs.mknod(ROOT_INO, name.as_bytes(), mode, rdev, 0, 0)
            .unwrap();
    }
    assert_eq!(
        fs.mknod(ROOT_INO, b"reg", 0o100644, 0, 0, 0).err(),
        Some(Error::Invalid)
    );
    fs.mknod(ROOT_INO, b"gone", S_IFCHR | 0o600, makedev(4, 64), 0, 0)
        .unwrap();
    fs.unlink(ROOT_INO, b"gone").unwrap();
    assert_eq!(
        fs.statfs().free_blocks,
        free.free_blocks,
        "device nodes own no blocks"
    );
    fs.unmount().unwrap();
    assert_fsck_clean(&image);

    let mut fs = mount_file(&image);
    for (name, mode, rdev, ft) in nodes {
        let ino = fs.lookup(ROOT_INO, name.as_bytes()).unwrap();
        let inode = fs.read_inode(ino).unwrap();
        assert_eq!(
            (inode.mode, inode.rdev(), inode.file_type()),
            (mode, rdev, ft),
            "{name}"
        );
    }
    let out = Command::new(tool("debugfs"))
        .arg("-R")
        .arg("stat /wide")
        .arg(&image)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Device major/minor number: 300:70000"),
        "debugfs says:\n{text}"
    );
    let e4 = ext4_view::Ext4::load_from_path(&image).unwrap();
    let kind = |p: &str| e4.symlink_metadata(p).unwrap().file_type();
    assert!(kind("/null").is_char_dev() && kind("/sda1").is_block_dev());
    assert!(kind("/pipe").is_fifo() && kind("/sock").is_socket());
    let _ = fs::remove_dir_all(&dir);
}
