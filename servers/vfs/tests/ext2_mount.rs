//! ext2 mounted in the core (`vfs::ext2fs`) on images made by the host's
//! `mke2fs -t ext2 -d`: reads of what mke2fs put there, writes through the
//! page cache and writeback (`sync`, `fsync`, `umount`, the flusher),
//! namespace changes, unlinked open files, a full volume (`ENOSPC` at
//! `write` time, nothing lost), read-only mounts (`EROFS`), long names,
//! corrupt images (refused or `EUCLEAN`, never a panic) and a small page
//! cache that a big writer cannot exhaust. Every image written is judged
//! by `e2fsck -fn`, and one file is read back with `debugfs`.

mod common;

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::rc::Rc;

use ::vfs::ext2fs::{DeviceOpener, Ext2Type};
use ::vfs::types::*;
use ::vfs::{Errno, Io, Limits, Vfs};
use common::*;
use ext2::{BlockDevice, DeviceError};

/// An image in memory, shared between the test and the mounted volume.
#[derive(Clone)]
struct SharedDisk(Rc<RefCell<Vec<u8>>>);

impl BlockDevice for SharedDisk {
    fn sector_size(&self) -> usize {
        512
    }
    fn sector_count(&self) -> u64 {
        (self.0.borrow().len() / 512) as u64
    }
    fn read_sectors(&mut self, sector: u64, buf: &mut [u8]) -> Result<(), DeviceError> {
        let start = sector as usize * 512;
        let d = self.0.borrow();
        let src = d
            .get(start..start + buf.len())
            .ok_or(DeviceError::OutOfRange)?;
        buf.copy_from_slice(src);
        Ok(())
    }
    fn write_sectors(&mut self, sector: u64, buf: &[u8]) -> Result<(), DeviceError> {
        let start = sector as usize * 512;
        let mut d = self.0.borrow_mut();
        let dst = d
            .get_mut(start..start + buf.len())
            .ok_or(DeviceError::OutOfRange)?;
        dst.copy_from_slice(buf);
        Ok(())
    }
    fn flush(&mut self) -> Result<(), DeviceError> {
        Ok(())
    }
}

/// `/dev/sda` is the shared image; anything else is `ENXIO`.
struct Opener(SharedDisk);

impl DeviceOpener for Opener {
    fn open(&self, source: &[u8], _ro: bool) -> Result<Box<dyn BlockDevice>, Errno> {
        match source {
            b"/dev/sda" => Ok(Box::new(self.0.clone())),
            _ => Err(Errno::ENXIO),
        }
    }
}

fn tool(name: &str) -> PathBuf {
    for dir in ["/usr/sbin", "/sbin", "/usr/bin", "/bin"] {
        let p = Path::new(dir).join(name);
        if p.is_file() {
            return p;
        }
    }
    panic!("{name} not found: install e2fsprogs (make deps)");
}

/// An image file in a scratch directory of its own, removed with it
/// when the test is done (each left 8 MiB in /tmp before).
struct Image {
    dir: PathBuf,
    path: PathBuf,
}

impl std::ops::Deref for Image {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.path
    }
}

impl AsRef<Path> for Image {
    fn as_ref(&self) -> &Path {
        &self.path
    }
}

impl Drop for Image {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn scratch(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("vfs-ext2-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// An image of `kib` KiB with `block`-byte blocks holding `files`.
fn image(tag: &str, kib: u64, block: u32, files: &[(&str, &[u8])]) -> (Image, Vec<u8>) {
    let dir = scratch(tag);
    let src = dir.join("src");
    std::fs::create_dir(&src).unwrap();
    for (name, data) in files {
        let path = src.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, data).unwrap();
    }
    let img = dir.join("image");
    let out = Command::new(tool("mke2fs"))
        .args(["-q", "-F", "-t", "ext2", "-b", &block.to_string(), "-d"])
        .arg(&src)
        .arg(&img)
        .arg(format!("{kib}k"))
        .output()
        .unwrap();
    assert!(out.status.success(), "mke2fs: {out:?}");
    let bytes = std::fs::read(&img).unwrap();
    (Image { dir, path: img }, bytes)
}

fn fsck_clean(img: &Path, bytes: &[u8]) {
    std::fs::write(img, bytes).unwrap();
    let out = Command::new(tool("e2fsck"))
        .arg("-fn")
        .arg(img)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "e2fsck -fn:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn debugfs_cat(img: &Path, path: &str) -> Vec<u8> {
    let out = Command::new(tool("debugfs"))
        .args(["-R", &format!("cat {path}")])
        .arg(img)
        .output()
        .unwrap();
    out.stdout
}

/// A core with tmpfs as `/`, ext2 registered over `disk`, `/mnt` made.
fn vfs_on(disk: &SharedDisk, pages: usize) -> Vfs {
    let mut v = vfs_with(pages, Limits::default());
    v.register_filesystem(Box::new(Ext2Type::new(Box::new(Opener(disk.clone())))))
        .unwrap();
    mkdir(&mut v, ROOT, "/mnt", 0o755);
    v
}

fn pattern(seed: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

#[test]
fn reads_mke2fs_files_and_writes_that_e2fsck_accepts() {
    let big = pattern(1, 300_000);
    let (img, bytes) = image(
        "rw",
        4096,
        1024,
        &[("README", b"hello from the disk\n"), ("sub/big", &big)],
    );
    let disk = SharedDisk(Rc::new(RefCell::new(bytes)));
    let mut v = vfs_on(&disk, 4096);
    assert_eq!(
        v.mount(ROOT, b"/dev/nope", b"/mnt", "ext2", 0, b""),
        Err(Errno::ENXIO)
    );
    assert_eq!(
        v.mount(USER, b"/dev/sda", b"/mnt", "ext2", 0, b""),
        Err(Errno::EPERM)
    );
    v.mount(ROOT, b"/dev/sda", b"/mnt", "ext2", 0, b"").unwrap();
    assert!(String::from_utf8(v.mounts_text())
        .unwrap()
        .contains("/dev/sda /mnt ext2 rw"));
    mkdir(&mut v, ROOT, "/other", 0o755);
    assert_eq!(
        v.mount(ROOT, b"/dev/sda", b"/other", "ext2", 0, b""),
        Err(Errno::EBUSY),
        "one device, one mount"
    );
    let mut names = list_dir(&mut v, ROOT, "/mnt");
    names.sort();
    assert_eq!(names, [".", "..", "README", "lost+found", "sub"]);
    assert_eq!(
        read_file(&mut v, ROOT, "/mnt/README").unwrap(),
        b"hello from the disk\n"
    );
    assert_eq!(read_file(&mut v, ROOT, "/mnt/sub/big").unwrap(), big);
    let st = v.stat(ROOT, b"/mnt/sub/big").unwrap();
    assert_eq!(st.st_size, big.len() as i64);
    let fs = v.statfs(ROOT, b"/mnt").unwrap();
    assert_eq!(fs.f_type, 0xEF53);
    assert_eq!(fs.f_bsize, 1024);

    // Writes: small, several pages, sparse, then names.
    v.set_time(Timespec {
        sec: 1_700_000_000,
        nsec: 0,
    });
    ::vfs::ext2fs::set_clock(1_700_000_000);
    write_file(&mut v, ROOT, "/mnt/hello.txt", b"written by the vfs\n");
    let data = pattern(7, 3 * 4096 + 100);
    write_file(&mut v, ROOT, "/mnt/sub/pages", &data);
    let fd = v
        .open(ROOT, b"/mnt/sparse", O_WRONLY | O_CREAT, 0o600)
        .unwrap();
    assert_eq!(v.pwrite(ROOT, fd, b"end", 1 << 20).unwrap(), Io::Done(3));
    v.fsync(ROOT, fd).unwrap();
    v.close(ROOT, fd).unwrap();
    mkdir(&mut v, ROOT, "/mnt/d1", 0o755);
    mkdir(&mut v, ROOT, "/mnt/d1/d2", 0o700);
    v.rename(ROOT, b"/mnt/hello.txt", b"/mnt/d1/d2/moved.txt")
        .unwrap();
    v.link(ROOT, b"/mnt/sub/pages", b"/mnt/d1/pages-link")
        .unwrap();
    v.symlink(ROOT, b"d1/d2/moved.txt", b"/mnt/sym").unwrap();
    write_file(&mut v, ROOT, "/mnt/victim", b"to be removed");
    v.unlink(ROOT, b"/mnt/victim").unwrap();
    mkdir(&mut v, ROOT, "/mnt/gone", 0o755);
    v.rmdir(ROOT, b"/mnt/gone").unwrap();
    v.truncate(ROOT, b"/mnt/sub/big", 5000).unwrap();
    assert_eq!(
        read_file(&mut v, ROOT, "/mnt/sym").unwrap(),
        b"written by the vfs\n"
    );
    let st = v.stat(ROOT, b"/mnt/d1/d2/moved.txt").unwrap();
    assert_eq!(st.st_mtime.sec, 1_700_000_000, "times from the clock");
    assert_eq!(st.st_nlink, 1);
    assert_eq!(v.stat(ROOT, b"/mnt/sub/pages").unwrap().st_nlink, 2);
    // Long names and the disk staying busy while used.
    let long = format!("/mnt/{}", "n".repeat(256));
    assert_eq!(
        v.open(ROOT, long.as_bytes(), O_CREAT | O_WRONLY, 0o644),
        Err(Errno::ENAMETOOLONG)
    );
    v.chdir(ROOT, b"/mnt/d1").unwrap();
    assert_eq!(v.umount(ROOT, b"/mnt", 0), Err(Errno::EBUSY));
    v.chdir(ROOT, b"/").unwrap();
    // The dirty pages reach the disk at unmount.
    v.umount(ROOT, b"/mnt", 0).unwrap();
    let after = disk.0.borrow().clone();
    fsck_clean(&img, &after);
    assert_eq!(
        debugfs_cat(&img, "/d1/d2/moved.txt"),
        b"written by the vfs\n"
    );
    assert_eq!(debugfs_cat(&img, "/sub/pages"), data);

    // Mounted again, everything reads back.
    v.mount(ROOT, b"/dev/sda", b"/mnt", "ext2", 0, b"").unwrap();
    assert_eq!(read_file(&mut v, ROOT, "/mnt/d1/pages-link").unwrap(), data);
    let sparse = read_file(&mut v, ROOT, "/mnt/sparse").unwrap();
    assert_eq!(sparse.len(), (1 << 20) + 3);
    assert!(sparse[..1 << 20].iter().all(|&b| b == 0));
    assert_eq!(
        v.stat(ROOT, b"/mnt/sparse").unwrap().st_blocks,
        6,
        "a hole stays a hole: data, indirect and double indirect blocks"
    );
    assert_eq!(
        read_file(&mut v, ROOT, "/mnt/sub/big").unwrap(),
        big[..5000]
    );
    assert_eq!(v.stat(ROOT, b"/mnt/victim"), Err(Errno::ENOENT));
    v.umount(ROOT, b"/mnt", 0).unwrap();
    fsck_clean(&img, &disk.0.borrow());
}

#[test]
fn an_unlinked_open_file_lives_until_its_last_close() {
    let (img, bytes) = image("orphan", 2048, 1024, &[]);
    let disk = SharedDisk(Rc::new(RefCell::new(bytes)));
    let mut v = vfs_on(&disk, 4096);
    v.mount(ROOT, b"/dev/sda", b"/mnt", "ext2", 0, b"").unwrap();
    let free = v.statfs(ROOT, b"/mnt").unwrap();
    let fd = v.open(ROOT, b"/mnt/tmp", O_RDWR | O_CREAT, 0o600).unwrap();
    let data = pattern(3, 10_000);
    assert_eq!(v.write(ROOT, fd, &data).unwrap(), Io::Done(data.len()));
    v.sync().unwrap();
    v.unlink(ROOT, b"/mnt/tmp").unwrap();
    // A new file does not get its number while it is open.
    write_file(&mut v, ROOT, "/mnt/new", b"new");
    let ino = v.fstat(ROOT, fd).unwrap().st_ino;
    assert_ne!(v.stat(ROOT, b"/mnt/new").unwrap().st_ino, ino);
    assert_eq!(v.pwrite(ROOT, fd, b"more", 10_000).unwrap(), Io::Done(4));
    v.sync().unwrap();
    let mut back = vec![0u8; 10_004];
    assert_eq!(v.pread(ROOT, fd, &mut back, 0).unwrap(), Io::Done(10_004));
    assert_eq!(&back[..10_000], &data[..]);
    v.close(ROOT, fd).unwrap();
    v.unlink(ROOT, b"/mnt/new").unwrap();
    v.sync().unwrap();
    let end = v.statfs(ROOT, b"/mnt").unwrap();
    assert_eq!(
        (end.f_bfree, end.f_ffree),
        (free.f_bfree, free.f_ffree),
        "all freed"
    );
    v.umount(ROOT, b"/mnt", 0).unwrap();
    fsck_clean(&img, &disk.0.borrow());
}

#[test]
fn a_full_volume_is_enospc_at_write_time_and_loses_nothing() {
    let (img, bytes) = image("full", 1024, 1024, &[]);
    let disk = SharedDisk(Rc::new(RefCell::new(bytes)));
    let mut v = vfs_on(&disk, 4096);
    v.mount(ROOT, b"/dev/sda", b"/mnt", "ext2", 0, b"").unwrap();
    let fd = v
        .open(ROOT, b"/mnt/fill", O_WRONLY | O_CREAT, 0o644)
        .unwrap();
    let chunk = pattern(9, 5000);
    let mut written = 0usize;
    let err = loop {
        match v.write(ROOT, fd, &chunk) {
            Ok(Io::Done(n)) => written += n,
            Ok(other) => panic!("{other:?}"),
            Err(e) => break e,
        }
        assert!(written < 2 << 20, "never filled");
    };
    assert_eq!(err, Errno::ENOSPC);
    assert!(written > 500_000);
    // Writeback has nothing left to fail on.
    v.fsync(ROOT, fd).unwrap();
    v.close(ROOT, fd).unwrap();
    v.sync().unwrap();
    // At most the blocks one more page would need with its indirect one.
    assert!(v.statfs(ROOT, b"/mnt").unwrap().f_bfree < 3);
    v.umount(ROOT, b"/mnt", 0).unwrap();
    fsck_clean(&img, &disk.0.borrow());
    v.mount(ROOT, b"/dev/sda", b"/mnt", "ext2", 0, b"").unwrap();
    let back = read_file(&mut v, ROOT, "/mnt/fill").unwrap();
    assert_eq!(back.len(), written);
    for (i, piece) in back.chunks(5000).enumerate() {
        assert!(piece == &chunk[..piece.len()], "chunk {i} damaged");
    }
    v.unlink(ROOT, b"/mnt/fill").unwrap();
    v.umount(ROOT, b"/mnt", 0).unwrap();
    fsck_clean(&img, &disk.0.borrow());
}

#[test]
fn read_only_mounts_refuse_changes_and_keep_the_image() {
    let (img, bytes) = image("ro", 1024, 4096, &[("f", b"data")]);
    let disk = SharedDisk(Rc::new(RefCell::new(bytes.clone())));
    let mut v = vfs_on(&disk, 4096);
    assert_eq!(
        v.mount(ROOT, b"/dev/sda", b"/mnt", "ext2", 0, b"bogus"),
        Err(Errno::EINVAL)
    );
    v.mount(ROOT, b"/dev/sda", b"/mnt", "ext2", MS_RDONLY, b"")
        .unwrap();
    assert!(String::from_utf8(v.mounts_text())
        .unwrap()
        .contains("/mnt ext2 ro"));
    assert_eq!(read_file(&mut v, ROOT, "/mnt/f").unwrap(), b"data");
    assert_eq!(v.open(ROOT, b"/mnt/f", O_WRONLY, 0), Err(Errno::EROFS));
    assert_eq!(
        v.open(ROOT, b"/mnt/g", O_WRONLY | O_CREAT, 0o644),
        Err(Errno::EROFS)
    );
    assert_eq!(v.mkdir(ROOT, b"/mnt/d", 0o755), Err(Errno::EROFS));
    assert_eq!(v.unlink(ROOT, b"/mnt/f"), Err(Errno::EROFS));
    v.sync().unwrap();
    v.umount(ROOT, b"/mnt", 0).unwrap();
    assert!(*disk.0.borrow() == bytes, "a read-only mount wrote nothing");
    fsck_clean(&img, &disk.0.borrow());
}

#[test]
fn corrupt_images_are_refused_or_eio_never_a_panic() {
    let (_, bytes) = image("bad", 1024, 1024, &[("d/f", b"x")]);
    // A bad magic: refused.
    let mut bad = bytes.clone();
    bad[1024 + 56] = 0;
    let disk = SharedDisk(Rc::new(RefCell::new(bad)));
    let mut v = vfs_on(&disk, 4096);
    let e = v
        .mount(ROOT, b"/dev/sda", b"/mnt", "ext2", 0, b"")
        .unwrap_err();
    assert!(matches!(e, Errno::EUCLEAN | Errno::EINVAL), "{e:?}");
    // A device too small for the volume: refused.
    disk.0
        .borrow_mut()
        .clone_from(&bytes[..512 * 1024].to_vec());
    assert!(v.mount(ROOT, b"/dev/sda", b"/mnt", "ext2", 0, b"").is_err());
    // Garbage in every inode-table and directory block: mounts (the
    // superblock is good), and each operation fails with an errno.
    let mut junk = bytes.clone();
    for (i, b) in junk.iter_mut().enumerate().skip(8 * 1024) {
        *b = (i as u8).wrapping_mul(97) ^ 0x5a;
    }
    *disk.0.borrow_mut() = junk;
    if v.mount(ROOT, b"/dev/sda", b"/mnt", "ext2", 0, b"").is_ok() {
        let _ = list_dir_result(&mut v, "/mnt");
        let _ = v.stat(ROOT, b"/mnt/d/f");
        let _ = v.open(ROOT, b"/mnt/new", O_CREAT | O_WRONLY, 0o644);
        let _ = v.mkdir(ROOT, b"/mnt/x", 0o755);
        let _ = v.sync();
        let _ = v.umount(ROOT, b"/mnt", 0);
    }
    // The core still serves.
    write_file(&mut v, ROOT, "/tmpfile", b"still here");
    assert_eq!(read_file(&mut v, ROOT, "/tmpfile").unwrap(), b"still here");
}

fn list_dir_result(v: &mut Vfs, path: &str) -> Result<Vec<u8>, Errno> {
    let fd = v.open(ROOT, path.as_bytes(), O_RDONLY | O_DIRECTORY, 0)?;
    let r = v.getdents64(ROOT, fd, 4096);
    v.close(ROOT, fd)?;
    r
}

#[test]
fn a_big_writer_cannot_exhaust_a_small_page_cache() {
    let (img, bytes) = image("cache", 8192, 4096, &[]);
    let disk = SharedDisk(Rc::new(RefCell::new(bytes)));
    // 64 pages: the tmpfs root uses a few; 2 MiB go through the rest.
    let mut v = vfs_on(&disk, 64);
    v.mount(ROOT, b"/dev/sda", b"/mnt", "ext2", 0, b"").unwrap();
    let data = pattern(4, 2 << 20);
    write_file(&mut v, ROOT, "/mnt/big", &data);
    assert!(v.page_cache_stats().cached <= 64);
    assert_eq!(read_file(&mut v, ROOT, "/mnt/big").unwrap(), data);
    // tmpfs still gets pages: ext2's clean ones are reclaimed for it.
    write_file(&mut v, ROOT, "/small", &[1u8; 8192]);
    v.umount(ROOT, b"/mnt", 0).unwrap();
    fsck_clean(&img, &disk.0.borrow());
}

#[test]
fn fsync_and_the_flusher_reach_the_disk_without_umount() {
    let (img, bytes) = image("flush", 2048, 1024, &[]);
    let disk = SharedDisk(Rc::new(RefCell::new(bytes)));
    let mut v = vfs_on(&disk, 4096);
    let t0 = 1_700_000_000;
    v.set_time(Timespec { sec: t0, nsec: 0 });
    v.mount(ROOT, b"/dev/sda", b"/mnt", "ext2", 0, b"").unwrap();
    // fsync: the data is on the device when it returns.
    let fd = v
        .open(ROOT, b"/mnt/synced", O_WRONLY | O_CREAT, 0o644)
        .unwrap();
    assert_eq!(v.write(ROOT, fd, b"fsynced data").unwrap(), Io::Done(12));
    v.fsync(ROOT, fd).unwrap();
    v.close(ROOT, fd).unwrap();
    std::fs::write(&img, &*disk.0.borrow()).unwrap();
    assert_eq!(debugfs_cat(&img, "/synced"), b"fsynced data");
    // A write left alone: not before dirty_expire (30 s), then the
    // flusher's two passes put it on the disk.
    write_file(&mut v, ROOT, "/mnt/later", b"written back by the flusher");
    v.set_time(Timespec {
        sec: t0 + 10,
        nsec: 0,
    });
    assert_eq!(v.flush(), 0, "not expired yet");
    v.sync_filesystems().unwrap();
    std::fs::write(&img, &*disk.0.borrow()).unwrap();
    // The metadata (name, size, the block reserved) is there; the data
    // waits in the page cache (ext2 orders nothing: zeros meanwhile).
    assert_eq!(
        debugfs_cat(&img, "/later"),
        [0u8; 27],
        "the data waits in the cache"
    );
    v.set_time(Timespec {
        sec: t0 + 31,
        nsec: 0,
    });
    assert_eq!(v.flush(), 1, "one inode written back");
    assert_eq!(v.page_cache_stats().dirty, 0);
    v.sync_filesystems().unwrap();
    std::fs::write(&img, &*disk.0.borrow()).unwrap();
    assert_eq!(debugfs_cat(&img, "/later"), b"written back by the flusher");
    // An idle volume: the metadata pass writes nothing.
    let before = disk.0.borrow().clone();
    v.sync_filesystems().unwrap();
    assert!(*disk.0.borrow() == before, "nothing written when idle");
    v.umount(ROOT, b"/mnt", 0).unwrap();
    fsck_clean(&img, &disk.0.borrow());
}
