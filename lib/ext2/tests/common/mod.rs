//! Shared helpers of the ext2 host tests: finding e2fsprogs (in PATH or
//! in /usr/sbin and /sbin, which a non-root PATH may lack), making images
//! with `mke2fs -t ext2 -d`, checking them with `e2fsck -fn`, a file-backed
//! block device, and tree walks.
#![allow(dead_code)]

use ext2::{BlockDevice, DeviceError, Ext2, FileType, MemDisk, MountOptions};
use std::fs;
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

/// The path of an e2fsprogs tool; panics with what to install if missing.
pub fn tool(name: &str) -> PathBuf {
    let path_dirs = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default();
    for dir in path_dirs
        .iter()
        .map(PathBuf::as_path)
        .chain([Path::new("/usr/sbin"), Path::new("/sbin")])
    {
        let candidate = dir.join(name);
        if candidate.is_file() {
            return candidate;
        }
    }
    panic!("{name} not found in PATH, /usr/sbin or /sbin: install e2fsprogs (`make deps`, or apt-get install e2fsprogs)");
}

/// A fresh scratch directory under the system temp dir.
pub fn scratch(tag: &str) -> PathBuf {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("ext2-test-{}-{tag}-{n}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs `mke2fs -t ext2` with `-d src` into a new image of `size_kib`.
pub fn mkfs(src: &Path, image: &Path, block_size: u32, inode_size: u32, size_kib: u64) {
    mkfs_with(src, image, block_size, inode_size, size_kib, &[]);
}

/// `mkfs` with extra mke2fs arguments (`-O ^filetype`, …).
pub fn mkfs_with(
    src: &Path,
    image: &Path,
    block_size: u32,
    inode_size: u32,
    size_kib: u64,
    extra: &[&str],
) {
    let out = Command::new(tool("mke2fs"))
        .args([
            "-q",
            "-F",
            "-t",
            "ext2",
            "-b",
            &block_size.to_string(),
            "-I",
            &inode_size.to_string(),
        ])
        .args(extra)
        .arg("-d")
        .arg(src)
        .arg(image)
        .arg(format!("{size_kib}k"))
        .output()
        .expect("running mke2fs");
    assert!(
        out.status.success(),
        "mke2fs failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Builds hash-tree indexes for the image's large directories (`e2fsck -fyD`).
pub fn index_dirs(image: &Path) {
    let out = Command::new(tool("e2fsck"))
        .args(["-fyD"])
        .arg(image)
        .output()
        .expect("running e2fsck");
    let code = out.status.code().unwrap_or(-1);
    assert!(
        code == 0 || code == 1,
        "e2fsck -fyD failed ({code}): {}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// Asserts that `e2fsck -fn` finds the image clean (exit 0).
pub fn assert_fsck_clean(image: &Path) {
    let out = Command::new(tool("e2fsck"))
        .args(["-fn"])
        .arg(image)
        .output()
        .expect("running e2fsck");
    assert!(
        out.status.code() == Some(0),
        "e2fsck -fn {} exited {:?}:\n{}\n{}",
        image.display(),
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A block device over an image file, 512-byte sectors.
pub struct FileDisk {
    file: fs::File,
    sectors: u64,
}

impl FileDisk {
    pub fn open(path: &Path) -> FileDisk {
        let file = fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .unwrap();
        let sectors = file.metadata().unwrap().len() / 512;
        FileDisk { file, sectors }
    }
}

impl BlockDevice for FileDisk {
    fn sector_size(&self) -> usize {
        512
    }
    fn sector_count(&self) -> u64 {
        self.sectors
    }
    fn read_sectors(&mut self, sector: u64, buf: &mut [u8]) -> Result<(), DeviceError> {
        if sector + (buf.len() as u64).div_ceil(512) > self.sectors {
            return Err(DeviceError::OutOfRange);
        }
        self.file
            .seek(SeekFrom::Start(sector * 512))
            .map_err(|_| DeviceError::Io)?;
        self.file.read_exact(buf).map_err(|_| DeviceError::Io)
    }
    fn write_sectors(&mut self, sector: u64, buf: &[u8]) -> Result<(), DeviceError> {
        if sector + (buf.len() as u64).div_ceil(512) > self.sectors {
            return Err(DeviceError::OutOfRange);
        }
        self.file
            .seek(SeekFrom::Start(sector * 512))
            .map_err(|_| DeviceError::Io)?;
        self.file.write_all(buf).map_err(|_| DeviceError::Io)
    }
    fn flush(&mut self) -> Result<(), DeviceError> {
        self.file.flush().map_err(|_| DeviceError::Io)
    }
}

/// Mounts an image file read-write.
pub fn mount_file(image: &Path) -> Ext2<FileDisk> {
    Ext2::mount(FileDisk::open(image), MountOptions::default()).expect("mount")
}

/// Mounts image bytes in memory.
pub fn mount_mem(bytes: Vec<u8>, read_only: bool) -> ext2::Result<Ext2<MemDisk>> {
    Ext2::mount(
        MemDisk::new(bytes),
        MountOptions {
            read_only,
            ..Default::default()
        },
    )
}

/// Resolves a `/`-separated path (no symlinks followed) to an inode.
pub fn resolve<D: BlockDevice>(fs: &mut Ext2<D>, path: &str) -> ext2::Result<u32> {
    let mut ino = ext2::ROOT_INO;
    for part in path.split('/').filter(|p| !p.is_empty()) {
        ino = fs.lookup(ino, part.as_bytes())?;
    }
    Ok(ino)
}

/// Reads a whole file through the library.
pub fn read_all<D: BlockDevice>(fs: &mut Ext2<D>, ino: u32) -> ext2::Result<Vec<u8>> {
    let size = fs.read_inode(ino)?.size;
    let mut out = vec![0u8; size as usize];
    let mut done = 0;
    while done < out.len() {
        let n = fs.read(ino, done as u64, &mut out[done..])?;
        if n == 0 {
            break;
        }
        done += n;
    }
    out.truncate(done);
    Ok(out)
}

/// The names in a directory (without `.` and `..`), via readdir with a
/// small batch size so the cookie is exercised.
pub fn list<D: BlockDevice>(fs: &mut Ext2<D>, dir: u32) -> ext2::Result<Vec<(String, u32)>> {
    let mut names = Vec::new();
    let mut pos = 0;
    loop {
        let mut batch = 0;
        let mut seen_end = true;
        let next = fs.readdir(dir, pos, |e| {
            if batch == 7 {
                seen_end = false;
                return false;
            }
            batch += 1;
            if e.name != b"." && e.name != b".." {
                names.push((String::from_utf8_lossy(e.name).into_owned(), e.ino));
            }
            true
        })?;
        if seen_end {
            break;
        }
        pos = next;
    }
    names.sort();
    Ok(names)
}

/// A deterministic byte pattern for file contents.
pub fn pattern(seed: u32, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2654435761).wrapping_add(12345);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

/// Bytes compared on each side of an interesting offset of a big file.
const WINDOW: usize = 5000;

/// Compares file contents: whole for small files, windows around every
/// chunk and some samples for sparse giants.
pub fn compare_contents<D: BlockDevice>(
    fs: &mut Ext2<D>,
    ino: u32,
    host: &Path,
    size: u64,
    chunks: &[u64],
) {
    use std::io::{Read, Seek, SeekFrom};
    let mut windows: Vec<u64> = if size <= 16 << 20 {
        vec![0]
    } else {
        let mut w: Vec<u64> = chunks.to_vec();
        w.extend((1..20).map(|i| size / 20 * i));
        w
    };
    windows.retain(|&o| o < size);
    let len = if size <= 16 << 20 {
        size as usize
    } else {
        3 * WINDOW
    };
    let mut f = fs::File::open(host).unwrap();
    for off in windows {
        let off = off.saturating_sub(WINDOW as u64).min(size);
        let n = len.min((size - off) as usize);
        let mut want = vec![0u8; n];
        f.seek(SeekFrom::Start(off)).unwrap();
        f.read_exact(&mut want).unwrap();
        let mut got = vec![0xAAu8; n];
        let mut done = 0;
        while done < n {
            let r = fs.read(ino, off + done as u64, &mut got[done..]).unwrap();
            assert!(
                r > 0,
                "short read of {} at {}",
                host.display(),
                off + done as u64
            );
            done += r;
        }
        assert!(
            got == want,
            "contents of {} differ in the window at {off}",
            host.display()
        );
    }
}

/// Walks the host tree and checks the image against it.
pub fn compare_tree<D: BlockDevice>(
    fs: &mut Ext2<D>,
    host: &Path,
    dir_ino: u32,
    chunks: &[u64],
    meta_too: bool,
) -> usize {
    let mut host_names: Vec<String> = fs::read_dir(host)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    host_names.sort();
    let mut listed = list(fs, dir_ino).unwrap();
    if dir_ino == ext2::ROOT_INO {
        // mke2fs adds lost+found; the host tree has none.
        let at = listed
            .iter()
            .position(|(n, _)| n == "lost+found")
            .expect("lost+found");
        let (_, lf) = listed.remove(at);
        assert!(fs.read_inode(lf).unwrap().is_dir());
    }
    let names: Vec<String> = listed.iter().map(|(n, _)| n.clone()).collect();
    assert_eq!(names, host_names, "listing of {}", host.display());
    let mut checked = 0;
    for (name, ino) in listed {
        let path = host.join(&name);
        let meta = fs::symlink_metadata(&path).unwrap();
        assert_eq!(fs.lookup(dir_ino, name.as_bytes()).unwrap(), ino);
        let inode = fs.read_inode(ino).unwrap();
        assert_eq!(
            u64::from(inode.links_count),
            meta.nlink(),
            "links of {name}"
        );
        if meta_too {
            assert_eq!(u32::from(inode.mode), meta.mode(), "mode of {name}");
            assert_eq!(
                (inode.uid, inode.gid),
                (meta.uid(), meta.gid()),
                "owner of {name}"
            );
            assert_eq!(i64::from(inode.mtime), meta.mtime(), "mtime of {name}");
        }
        checked += 1;
        if meta.is_dir() {
            assert_eq!(inode.file_type(), FileType::Directory);
            assert_eq!(fs.lookup(ino, b"..").unwrap(), dir_ino);
            checked += compare_tree(fs, &path, ino, chunks, meta_too);
        } else if meta.file_type().is_symlink() {
            let target = fs::read_link(&path).unwrap();
            assert_eq!(
                fs.readlink(ino).unwrap(),
                target.as_os_str().as_encoded_bytes()
            );
        } else {
            assert_eq!(inode.size, meta.len(), "size of {name}");
            compare_contents(fs, ino, &path, meta.len(), chunks);
        }
    }
    checked
}
