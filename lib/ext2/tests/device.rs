//! The mount state and device errors: a mounted volume is marked in use on
//! disk and clean again after unmount, timestamps come from `set_time`,
//! and a device that fails gives `EIO`-style errors, never a panic.

mod common;

use common::*;
use ext2::{BlockDevice, DeviceError, Error, Ext2, MemDisk, MountOptions, ROOT_INO};
use std::fs;

/// `s_state` of an image's primary superblock.
fn state(bytes: &[u8]) -> u16 {
    u16::from_le_bytes([bytes[1024 + 58], bytes[1024 + 59]])
}

fn image() -> Vec<u8> {
    let dir = scratch("device");
    let src = dir.join("src");
    fs::create_dir(&src).unwrap();
    fs::write(src.join("f"), pattern(1, 50_000)).unwrap();
    let img = dir.join("image");
    mkfs(&src, &img, 1024, 128, 4096);
    let bytes = fs::read(&img).unwrap();
    let _ = fs::remove_dir_all(&dir);
    bytes
}

#[test]
fn mount_marks_in_use_and_unmount_clean() {
    let bytes = image();
    assert_eq!(state(&bytes), 1, "mke2fs leaves the volume clean");
    let mut fs = mount_mem(bytes, false).unwrap();
    fs.set_time(1_900_000_000);
    let ino = fs.create(ROOT_INO, b"timed", 0o644, 0, 0).unwrap().ino;
    fs.write(ino, 0, b"x").unwrap();
    let inode = fs.read_inode(ino).unwrap();
    assert_eq!(
        (inode.atime, inode.mtime, inode.ctime),
        (1_900_000_000, 1_900_000_000, 1_900_000_000)
    );
    assert_eq!(fs.read_inode(ROOT_INO).unwrap().mtime, 1_900_000_000);
    fs.sync().unwrap();
    let disk = fs.unmount().unwrap();
    assert_eq!(state(disk.bytes()), 1);
    let mut bytes = disk.into_bytes();
    // While mounted read-write the on-disk state says "not clean".
    let fs = mount_mem(bytes.clone(), false).unwrap();
    assert_eq!(state(fs.device().bytes()), 0);
    // A volume not clean at mount stays marked so after unmount.
    bytes[1024 + 58] = 0;
    let fs = mount_mem(bytes, false).unwrap();
    let disk = fs.unmount().unwrap();
    assert_eq!(
        state(disk.bytes()),
        0,
        "a volume not clean at mount stays so"
    );
}

/// A device that fails every read or write past a count.
struct Failing {
    inner: MemDisk,
    reads_left: u32,
    writes_left: u32,
}

impl BlockDevice for Failing {
    fn sector_size(&self) -> usize {
        512
    }
    fn sector_count(&self) -> u64 {
        self.inner.sector_count()
    }
    fn read_sectors(&mut self, sector: u64, buf: &mut [u8]) -> Result<(), DeviceError> {
        if self.reads_left == 0 {
            return Err(DeviceError::Io);
        }
        self.reads_left -= 1;
        self.inner.read_sectors(sector, buf)
    }
    fn write_sectors(&mut self, sector: u64, buf: &[u8]) -> Result<(), DeviceError> {
        if self.writes_left == 0 {
            return Err(DeviceError::Io);
        }
        self.writes_left -= 1;
        self.inner.write_sectors(sector, buf)
    }
    fn flush(&mut self) -> Result<(), DeviceError> {
        Ok(())
    }
}

#[test]
fn device_errors_are_eio() {
    let bytes = image();
    let mut saw_error = 0;
    for reads_left in [0, 1, 3, 5, 8, 13, 40] {
        for writes_left in [0, 1, 2, 5, 1000] {
            let dev = Failing {
                inner: MemDisk::new(bytes.clone()),
                reads_left,
                writes_left,
            };
            let result = Ext2::mount(
                dev,
                MountOptions {
                    cache_blocks: 8,
                    ..Default::default()
                },
            )
            .and_then(|mut fs| {
                let f = resolve(&mut fs, "f")?;
                read_all(&mut fs, f)?;
                let g = fs.create(ROOT_INO, b"g", 0o644, 0, 0)?;
                fs.write(g.ino, 0, &pattern(2, 30_000))?;
                fs.unmount().map(drop)
            });
            if let Err(e) = result {
                assert_eq!(e, Error::Device(DeviceError::Io));
                assert_eq!(e.errno(), 5);
                saw_error += 1;
            }
        }
    }
    assert!(
        saw_error > 20,
        "only {saw_error} runs met the failing device"
    );
}
