//! Writing: every operation is done twice, on an image through this crate
//! and on a host directory through `std::fs` (the mirror). Afterwards the
//! image must pass `e2fsck -fn`, and read back equal to the mirror through
//! this crate and through `ext4-view`, an independent reader. Also: 1,200
//! files in one directory, a hash-indexed directory losing its index flag,
//! the errors Linux gives, and a full volume (`ENOSPC`, nothing lost).

mod common;

use common::*;
use ext2::inode::EXT2_INDEX_FL;
use ext2::superblock::COMPAT_DIR_INDEX;
use ext2::{BlockDevice, Error, Ext2, SetAttr, ROOT_INO};
use std::fs;
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

const BIG_CHUNKS: &[u64] = &[0, 70 << 20, 9 << 29, 5 << 30];

/// One file system and its host mirror.
struct Pair<D: BlockDevice> {
    fs: Ext2<D>,
    host: PathBuf,
}

fn split(path: &str) -> (&str, &str) {
    path.rsplit_once('/').unwrap_or(("", path))
}

impl<D: BlockDevice> Pair<D> {
    fn ino(&mut self, path: &str) -> u32 {
        resolve(&mut self.fs, path).unwrap_or_else(|e| panic!("resolve {path}: {e:?}"))
    }
    fn parent(&mut self, path: &str) -> (u32, String) {
        let (dir, name) = split(path);
        (self.ino(dir), name.to_string())
    }
    fn create(&mut self, path: &str) -> u32 {
        let (dir, name) = self.parent(path);
        let inode = self.fs.create(dir, name.as_bytes(), 0o644, 0, 0).unwrap();
        fs::File::create(self.host.join(path)).unwrap();
        inode.ino
    }
    fn write(&mut self, path: &str, offset: u64, data: &[u8]) {
        let ino = self.ino(path);
        assert_eq!(self.fs.write(ino, offset, data).unwrap(), data.len());
        let mut f = fs::OpenOptions::new()
            .write(true)
            .open(self.host.join(path))
            .unwrap();
        f.seek(SeekFrom::Start(offset)).unwrap();
        f.write_all(data).unwrap();
    }
    fn truncate(&mut self, path: &str, size: u64) {
        let ino = self.ino(path);
        self.fs.truncate(ino, size).unwrap();
        fs::OpenOptions::new()
            .write(true)
            .open(self.host.join(path))
            .unwrap()
            .set_len(size)
            .unwrap();
    }
    fn mkdir(&mut self, path: &str) {
        let (dir, name) = self.parent(path);
        self.fs.mkdir(dir, name.as_bytes(), 0o755, 0, 0).unwrap();
        fs::create_dir(self.host.join(path)).unwrap();
    }
    fn rmdir(&mut self, path: &str) {
        let (dir, name) = self.parent(path);
        self.fs.rmdir(dir, name.as_bytes()).unwrap();
        fs::remove_dir(self.host.join(path)).unwrap();
    }
    fn unlink(&mut self, path: &str) {
        let (dir, name) = self.parent(path);
        self.fs.unlink(dir, name.as_bytes()).unwrap();
        fs::remove_file(self.host.join(path)).unwrap();
    }
    fn rename(&mut self, from: &str, to: &str) {
        let (d1, n1) = self.parent(from);
        let (d2, n2) = self.parent(to);
        self.fs
            .rename(d1, n1.as_bytes(), d2, n2.as_bytes())
            .unwrap();
        fs::rename(self.host.join(from), self.host.join(to)).unwrap();
    }
    fn link(&mut self, from: &str, to: &str) {
        let ino = self.ino(from);
        let (dir, name) = self.parent(to);
        self.fs.link(ino, dir, name.as_bytes()).unwrap();
        fs::hard_link(self.host.join(from), self.host.join(to)).unwrap();
    }
    fn symlink(&mut self, target: &str, path: &str) {
        let (dir, name) = self.parent(path);
        self.fs
            .symlink(dir, name.as_bytes(), target.as_bytes(), 0, 0)
            .unwrap();
        std::os::unix::fs::symlink(target, self.host.join(path)).unwrap();
    }
}

/// The starting tree: a few files, a hard link, a symlink, an indexed
/// directory.
fn seed_tree(root: &Path) {
    fs::write(root.join("small.txt"), b"small\n").unwrap();
    fs::hard_link(root.join("small.txt"), root.join("link_to_small")).unwrap();
    fs::write(root.join("medium.bin"), pattern(3, 70_000)).unwrap();
    fs::create_dir_all(root.join("sub/inner")).unwrap();
    fs::write(root.join("sub/inner/leaf"), b"leaf").unwrap();
    std::os::unix::fs::symlink("../small.txt", root.join("sub/up")).unwrap();
    fs::create_dir(root.join("many")).unwrap();
    for i in 0..400 {
        fs::write(
            root.join(format!("many/indexed_entry_name_{i:04}")),
            format!("{i}"),
        )
        .unwrap();
    }
}

fn do_file_ops<D: BlockDevice>(p: &mut Pair<D>) {
    p.create("new.txt");
    p.write("new.txt", 0, b"0123456789");
    p.write("new.txt", 10, &pattern(4, 5000));
    p.write("new.txt", 3, b"XYZ");
    p.create("grow.bin");
    for i in 0..75u32 {
        p.write("grow.bin", u64::from(i) * 4096, &pattern(100 + i, 4096));
    }
    p.create("big.sparse");
    for (i, &off) in BIG_CHUNKS.iter().enumerate() {
        p.write("big.sparse", off, &pattern(200 + i as u32, 5000));
    }
    p.truncate("big.sparse", 80 << 20);
    p.truncate("grow.bin", 1000);
    p.truncate("grow.bin", 200_000);
    p.write("grow.bin", 150_000, b"after the hole");
    let ino = p.ino("new.txt");
    let inode =
        p.fs.setattr(
            ino,
            SetAttr {
                mode: Some(0o600),
                uid: Some(1000),
                gid: Some(100),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(inode.mode, 0o100600);
    assert_eq!((inode.uid, inode.gid), (1000, 100));
    fs::set_permissions(p.host.join("new.txt"), fs::Permissions::from_mode(0o600)).unwrap();
}

fn do_name_ops<D: BlockDevice>(p: &mut Pair<D>) {
    p.mkdir("d1");
    p.mkdir("d1/d2");
    p.create("d1/d2/f");
    let d1 = p.ino("d1");
    assert_eq!(p.fs.rmdir(ROOT_INO, b"d1"), Err(Error::NotEmpty));
    p.unlink("d1/d2/f");
    p.rmdir("d1/d2");
    p.unlink("small.txt");
    p.rename("new.txt", "d1/moved.txt");
    p.rename("sub", "d1/sub");
    let moved = p.ino("d1/sub");
    assert_eq!(p.fs.lookup(moved, b"..").unwrap(), d1);
    p.create("victim");
    p.rename("medium.bin", "victim");
    p.mkdir("e1");
    p.mkdir("e2");
    p.rename("e1", "e2");
    let sub = p.ino("d1/sub");
    assert_eq!(p.fs.rename(ROOT_INO, b"d1", sub, b"x"), Err(Error::Invalid));
    p.link("d1/moved.txt", "hard.txt");
    p.symlink("d1/moved.txt", "sym_fast");
    p.symlink(&"long/".repeat(40), "sym_slow");
    // A directory over an empty one in another directory, and a name onto
    // another link of the same inode (nothing happens).
    p.mkdir("x1");
    p.create("x1/inside");
    p.mkdir("d1/x2");
    p.rename("x1", "d1/x2");
    p.rename("hard.txt", "d1/moved.txt");
    check_errnos(p);
}

/// Errors, with the errno Linux gives.
fn check_errnos<D: BlockDevice>(p: &mut Pair<D>) {
    let e2 = p.ino("e2");
    let f = p.ino("hard.txt");
    assert_eq!(
        p.fs.create(ROOT_INO, b"hard.txt", 0o644, 0, 0).err(),
        Some(Error::Exists)
    );
    assert_eq!(p.fs.lookup(ROOT_INO, b"nope"), Err(Error::NotFound));
    assert_eq!(p.fs.lookup(f, b"x"), Err(Error::NotDir));
    assert_eq!(p.fs.write(e2, 0, b"x"), Err(Error::IsDir));
    assert_eq!(
        p.fs.create(ROOT_INO, &[b'n'; 256], 0o644, 0, 0)
            .err()
            .map(Error::errno),
        Some(36)
    );
    assert_eq!(p.fs.rmdir(ROOT_INO, b"hard.txt"), Err(Error::NotDir));
    assert_eq!(p.fs.unlink(ROOT_INO, b"e2"), Err(Error::IsDir));
    assert_eq!(
        p.fs.rename(ROOT_INO, b"hard.txt", ROOT_INO, b"e2"),
        Err(Error::IsDir)
    );
    assert_eq!(
        p.fs.rename(ROOT_INO, b"e2", ROOT_INO, b"hard.txt"),
        Err(Error::NotDir)
    );
    assert_eq!(
        p.fs.rename(ROOT_INO, b"e2", ROOT_INO, b"d1"),
        Err(Error::NotEmpty)
    );
    assert_eq!(
        p.fs.symlink(ROOT_INO, b"s", b"", 0, 0).err(),
        Some(Error::Invalid)
    );
    assert_eq!(p.fs.link(e2, ROOT_INO, b"dirlink"), Err(Error::IsDir));
    assert_eq!(p.fs.truncate(f, u64::MAX), Err(Error::FileTooBig));
}

fn do_directory_ops<D: BlockDevice>(p: &mut Pair<D>) {
    let many = p.ino("many");
    if p.fs.superblock().has_compat(COMPAT_DIR_INDEX) {
        let flags = p.fs.read_inode(many).unwrap().flags;
        assert_ne!(flags & EXT2_INDEX_FL, 0, "no index to start from");
    }
    for i in 0..50 {
        p.create(&format!("many/added_{i}"));
    }
    for i in (0..400).step_by(4) {
        p.unlink(&format!("many/indexed_entry_name_{i:04}"));
    }
    assert_eq!(
        p.fs.read_inode(many).unwrap().flags & EXT2_INDEX_FL,
        0,
        "changed directory kept its index flag"
    );
    p.mkdir("thousand");
    for i in 0..1200 {
        let path = format!("thousand/file_number_{i}");
        p.create(&path);
        p.write(&path, 0, format!("{i}\n").as_bytes());
    }
    for i in (0..1200).step_by(3) {
        p.unlink(&format!("thousand/file_number_{i}"));
    }
}

/// `n` bytes at `off` of a host file.
fn read_at(path: &Path, off: u64, n: usize) -> Vec<u8> {
    let mut f = fs::File::open(path).unwrap();
    let mut buf = vec![0u8; n];
    f.seek(SeekFrom::Start(off)).unwrap();
    f.read_exact(&mut buf).unwrap();
    buf
}

/// `n` bytes at `off` of a file in the image, dumped by `debugfs`.
fn debugfs_read(image: &Path, img_path: &str, off: u64, n: usize) -> Vec<u8> {
    let out = image.with_extension("dump");
    let status = std::process::Command::new(tool("debugfs"))
        .arg("-R")
        .arg(format!("dump {img_path} {}", out.display()))
        .arg(image)
        .output()
        .expect("running debugfs");
    assert!(status.status.success(), "debugfs dump {img_path} failed");
    let bytes = read_at(&out, off, n);
    fs::remove_file(&out).unwrap();
    bytes
}

/// Compares the image with the mirror through ext4-view (and debugfs for
/// the files ext4-view cannot read); returns the entries compared and the
/// files that needed debugfs.
fn compare_second_reader(image: &Path, host: &Path) -> (usize, Vec<String>) {
    let e4 = ext4_view::Ext4::load_from_path(image).expect("ext4-view loads the image");
    let mut via_debugfs = Vec::new();
    let mut checked = 0;
    let mut stack = vec![(PathBuf::new(), host.to_path_buf())];
    while let Some((rel, dir)) = stack.pop() {
        let abs = format!("/{}", rel.display());
        let mut names: Vec<String> = e4
            .read_dir(abs.as_str())
            .unwrap()
            .map(|e| e.unwrap().file_name().as_str().unwrap().to_string())
            .filter(|n| n != "." && n != ".." && !(rel.as_os_str().is_empty() && n == "lost+found"))
            .collect();
        names.sort();
        let mut want: Vec<String> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        want.sort();
        assert_eq!(names, want, "ext4-view listing of {abs}");
        for name in want {
            let host_path = dir.join(&name);
            let img_path = format!("/{}", rel.join(&name).display());
            let meta = fs::symlink_metadata(&host_path).unwrap();
            checked += 1;
            if meta.is_dir() {
                stack.push((rel.join(&name), host_path));
            } else if meta.file_type().is_symlink() {
                let got = e4.read_link(img_path.as_str()).unwrap();
                assert_eq!(
                    got.as_ref(),
                    fs::read_link(&host_path)
                        .unwrap()
                        .as_os_str()
                        .as_encoded_bytes()
                );
            } else if !second_reader_file(&e4, image, &img_path, &host_path) {
                via_debugfs.push(img_path);
            }
        }
    }
    (checked, via_debugfs)
}

/// Compares one file through ext4-view, falling back to debugfs where
/// ext4-view 1.0 fails: it reads a hole in place of a whole indirect block
/// as block 0 and calls that corrupt (or panics after a seek past one).
/// Returns whether ext4-view alone sufficed.
fn second_reader_file(
    e4: &ext4_view::Ext4,
    image: &Path,
    img_path: &str,
    host_path: &Path,
) -> bool {
    let len = fs::metadata(host_path).unwrap().len();
    let mut file = e4.open(img_path).unwrap();
    assert_eq!(file.metadata().len(), len, "ext4-view size of {img_path}");
    let offsets: Vec<u64> = if len <= 1 << 20 {
        vec![0]
    } else {
        BIG_CHUNKS.to_vec()
    };
    let mut alone = true;
    for off in offsets.into_iter().filter(|&o| o < len) {
        let n = (len - off).min(1 << 20) as usize;
        let mut got = vec![0u8; n];
        let tried = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            file.seek(SeekFrom::Start(off))
                .and_then(|_| file.read_exact(&mut got))
        }));
        if !matches!(tried, Ok(Ok(()))) {
            if let Ok(Err(e)) = &tried {
                assert!(
                    e.to_string().contains("from block 0"),
                    "ext4-view reading {img_path} at {off}: {e}"
                );
            }
            file = e4.open(img_path).unwrap();
            alone = false;
            got = debugfs_read(image, img_path, off, n);
        }
        assert!(
            got == read_at(host_path, off, n),
            "second reader: contents of {img_path} at {off}"
        );
    }
    alone
}

fn write_test(block_size: u32, inode_size: u32, features: &[&str]) {
    let dir = scratch("write");
    let host = dir.join("mirror");
    fs::create_dir(&host).unwrap();
    seed_tree(&host);
    let image = dir.join("image");
    mkfs_with(&host, &image, block_size, inode_size, 32 << 10, features);
    index_dirs(&image);
    let mut fs = mount_file(&image);
    fs.set_time(1_800_000_000);
    let mut p = Pair {
        fs,
        host: host.clone(),
    };
    do_file_ops(&mut p);
    do_name_ops(&mut p);
    do_directory_ops(&mut p);
    p.fs.unmount().unwrap();
    assert_fsck_clean(&image);
    let mut fs = Ext2::mount(
        FileDisk::open(&image),
        ext2::MountOptions {
            read_only: true,
            ..Default::default()
        },
    )
    .unwrap();
    let ours = compare_tree(&mut fs, &host, ROOT_INO, BIG_CHUNKS, false);
    // ext4-view requires the filetype feature; without it e2fsck and our
    // own reader are the judges.
    if !features.iter().any(|f| f.contains("^filetype")) {
        let (theirs, via_debugfs) = compare_second_reader(&image, &host);
        assert_eq!(ours, theirs);
        assert_eq!(
            via_debugfs,
            ["/big.sparse"],
            "only the file with indirect holes may need debugfs"
        );
    }
    assert!(ours > 1000, "compared only {ours} entries");
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn writes_1k_blocks() {
    write_test(1024, 128, &[]);
}

#[test]
fn writes_without_filetype_and_dir_index() {
    write_test(1024, 256, &["-O", "^filetype,^dir_index"]);
}

#[test]
fn writes_4k_blocks() {
    write_test(4096, 256, &[]);
}
