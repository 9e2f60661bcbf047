//! tmpfs conformance, part 1: `open` in all its flag combinations, `read`,
//! `write`, `pread`, `pwrite`, `lseek` (with `SEEK_DATA`/`SEEK_HOLE`),
//! `stat` and `getdents64` — each expected errno as open(2), read(2),
//! write(2), lseek(2), stat(2) and getdents64(2) give it.

mod common;
use common::*;
use vfs::dirent::{dirent64_reclen, parse_dirents};
use vfs::types::*;
use vfs::{Errno, Io};

#[test]
fn open_create_exclusive_and_missing() {
    let mut v = vfs();
    assert_eq!(v.open(ROOT, b"/f", O_RDONLY, 0), Err(Errno::ENOENT));
    let fd = v.open(ROOT, b"/f", O_CREAT | O_WRONLY, 0o666).unwrap();
    assert_eq!(fd, 0);
    let st = v.fstat(ROOT, fd).unwrap();
    assert_eq!(st.st_mode, S_IFREG | 0o644, "umask 022 applies");
    assert_eq!((st.st_uid, st.st_nlink, st.st_size), (0, 1, 0));
    assert_eq!(
        v.open(ROOT, b"/f", O_CREAT | O_EXCL | O_RDWR, 0o600),
        Err(Errno::EEXIST)
    );
    assert_eq!(v.open(ROOT, b"/f", O_CREAT | O_RDWR, 0o600).unwrap(), 1);
    assert_eq!(
        v.open(ROOT, b"/nodir/f", O_CREAT | O_RDWR, 0o600),
        Err(Errno::ENOENT)
    );
    assert_eq!(
        v.open(ROOT, b"/f/g", O_CREAT | O_RDWR, 0o600),
        Err(Errno::ENOTDIR)
    );
    assert_eq!(v.open(ROOT, b"", O_RDONLY, 0), Err(Errno::ENOENT));
}

#[test]
fn open_directories() {
    let mut v = vfs();
    mkdir(&mut v, ROOT, "/d", 0o755);
    write_file(&mut v, ROOT, "/f", b"");
    assert!(v.open(ROOT, b"/d", O_RDONLY, 0).is_ok());
    assert_eq!(v.open(ROOT, b"/d", O_WRONLY, 0), Err(Errno::EISDIR));
    assert_eq!(v.open(ROOT, b"/d", O_RDWR, 0), Err(Errno::EISDIR));
    assert_eq!(
        v.open(ROOT, b"/d", O_RDONLY | O_TRUNC, 0),
        Err(Errno::EISDIR)
    );
    assert_eq!(
        v.open(ROOT, b"/d", O_CREAT | O_RDONLY, 0o644),
        Err(Errno::EISDIR)
    );
    assert_eq!(
        v.open(ROOT, b"/f", O_RDONLY | O_DIRECTORY, 0),
        Err(Errno::ENOTDIR)
    );
    assert_eq!(
        v.open(ROOT, b"/d", O_CREAT | O_DIRECTORY, 0o644),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        v.open(ROOT, b"/new/", O_CREAT | O_RDWR, 0o644),
        Err(Errno::EISDIR)
    );
    assert_eq!(v.open(ROOT, b"/f/", O_RDONLY, 0), Err(Errno::ENOTDIR));
    assert_eq!(
        v.open(ROOT, b"/", O_CREAT | O_RDONLY, 0o644),
        Err(Errno::EISDIR)
    );
    assert_eq!(
        v.open(ROOT, b"/d/.", O_CREAT | O_RDONLY, 0o644),
        Err(Errno::EISDIR)
    );
    let fd = v.open(ROOT, b"/d", O_RDONLY | O_DIRECTORY, 0).unwrap();
    let mut buf = [0u8; 8];
    assert_eq!(v.read(ROOT, fd, &mut buf), Err(Errno::EISDIR));
    assert_eq!(v.write(ROOT, fd, b"x"), Err(Errno::EBADF));
}

#[test]
fn open_symlinks() {
    let mut v = vfs();
    write_file(&mut v, ROOT, "/f", b"abc");
    v.symlink(ROOT, b"/f", b"/l").unwrap();
    v.symlink(ROOT, b"/made", b"/dangling").unwrap();
    assert_eq!(
        v.open(ROOT, b"/l", O_RDONLY | O_NOFOLLOW, 0),
        Err(Errno::ELOOP)
    );
    assert_eq!(
        v.open(ROOT, b"/l", O_CREAT | O_EXCL | O_RDWR, 0o644),
        Err(Errno::EEXIST)
    );
    assert_eq!(
        v.open(ROOT, b"/dangling", O_CREAT | O_EXCL | O_RDWR, 0o644),
        Err(Errno::EEXIST)
    );
    assert_eq!(
        v.open(ROOT, b"/dangling", O_CREAT | O_NOFOLLOW | O_RDWR, 0o644),
        Err(Errno::ELOOP)
    );
    // O_CREAT through a dangling link creates its target.
    let fd = v.open(ROOT, b"/dangling", O_CREAT | O_RDWR, 0o644).unwrap();
    v.write(ROOT, fd, b"via link").unwrap();
    assert_eq!(read_file(&mut v, ROOT, "/made").unwrap(), b"via link");
    assert_eq!(read_file(&mut v, ROOT, "/l").unwrap(), b"abc");
}

#[test]
fn open_permissions_and_trunc() {
    let mut v = vfs();
    write_file(&mut v, ROOT, "/f", b"secret");
    v.chmod(ROOT, b"/f", 0o640).unwrap();
    assert_eq!(v.open(USER, b"/f", O_RDONLY, 0), Err(Errno::EACCES));
    v.chmod(ROOT, b"/f", 0o644).unwrap();
    assert!(v.open(USER, b"/f", O_RDONLY, 0).is_ok());
    assert_eq!(v.open(USER, b"/f", O_WRONLY, 0), Err(Errno::EACCES));
    assert_eq!(
        v.open(USER, b"/f", O_RDONLY | O_TRUNC, 0),
        Err(Errno::EACCES)
    );
    assert_eq!(
        v.open(USER, b"/new", O_CREAT | O_WRONLY, 0o644),
        Err(Errno::EACCES),
        "/ is 755 root"
    );
    // O_TRUNC empties the file, even with O_RDONLY (Linux does).
    let fd = v.open(ROOT, b"/f", O_RDONLY | O_TRUNC, 0).unwrap();
    assert_eq!(v.fstat(ROOT, fd).unwrap().st_size, 0);
    write_file(&mut v, ROOT, "/f", b"0123456789");
    let fd = v.open(ROOT, b"/f", O_WRONLY | O_TRUNC, 0).unwrap();
    assert_eq!(v.fstat(ROOT, fd).unwrap().st_size, 0);
    assert_eq!(read_file(&mut v, ROOT, "/f").unwrap(), b"");
}

#[test]
fn read_write_offsets_and_append() {
    let mut v = vfs();
    let fd = v.open(ROOT, b"/f", O_CREAT | O_RDWR, 0o644).unwrap();
    assert_eq!(v.write(ROOT, fd, b"hello world").unwrap(), Io::Done(11));
    assert_eq!(v.lseek(ROOT, fd, 0, SEEK_CUR).unwrap(), 11);
    let mut buf = [0u8; 5];
    assert_eq!(
        v.read(ROOT, fd, &mut buf).unwrap(),
        Io::Done(0),
        "at end of file"
    );
    v.lseek(ROOT, fd, 6, SEEK_SET).unwrap();
    assert_eq!(v.read(ROOT, fd, &mut buf).unwrap(), Io::Done(5));
    assert_eq!(&buf, b"world");
    assert_eq!(v.pread(ROOT, fd, &mut buf, 0).unwrap(), Io::Done(5));
    assert_eq!(&buf, b"hello");
    assert_eq!(
        v.lseek(ROOT, fd, 0, SEEK_CUR).unwrap(),
        11,
        "pread keeps the offset"
    );
    assert_eq!(v.pwrite(ROOT, fd, b"J", 0).unwrap(), Io::Done(1));
    assert_eq!(v.pread(ROOT, fd, &mut buf, -1), Err(Errno::EINVAL));
    assert_eq!(v.pwrite(ROOT, fd, b"x", -5), Err(Errno::EINVAL));
    let ap = v.open(ROOT, b"/f", O_WRONLY | O_APPEND, 0).unwrap();
    v.write(ROOT, ap, b"!").unwrap();
    // pwrite on O_APPEND appends anyway (Linux's documented bug).
    v.pwrite(ROOT, ap, b"?", 0).unwrap();
    assert_eq!(read_file(&mut v, ROOT, "/f").unwrap(), b"Jello world!?");
    let ro = v.open(ROOT, b"/f", O_RDONLY, 0).unwrap();
    assert_eq!(v.write(ROOT, ro, b"x"), Err(Errno::EBADF));
    assert_eq!(v.pwrite(ROOT, ro, b"x", 0), Err(Errno::EBADF));
    let wo = v.open(ROOT, b"/f", O_WRONLY, 0).unwrap();
    assert_eq!(v.read(ROOT, wo, &mut buf), Err(Errno::EBADF));
    assert_eq!(v.read(ROOT, 77, &mut buf), Err(Errno::EBADF));
    assert_eq!(v.read(ROOT, -1, &mut buf), Err(Errno::EBADF));
    assert_eq!(v.write(ROOT, wo, b"").unwrap(), Io::Done(0));
}

#[test]
fn large_and_sparse_files() {
    let mut v = vfs();
    let fd = v.open(ROOT, b"/big", O_CREAT | O_RDWR, 0o644).unwrap();
    let data: Vec<u8> = (0..20000u32).map(|i| (i % 251) as u8).collect();
    assert_eq!(v.write(ROOT, fd, &data).unwrap(), Io::Done(20000));
    assert_eq!(read_file(&mut v, ROOT, "/big").unwrap(), data);
    let sp = v.open(ROOT, b"/sparse", O_CREAT | O_RDWR, 0o644).unwrap();
    v.pwrite(ROOT, sp, b"end", 1 << 20).unwrap();
    let st = v.fstat(ROOT, sp).unwrap();
    assert_eq!(st.st_size, (1 << 20) + 3);
    assert_eq!(st.st_blocks, 8, "one page allocated");
    let mut buf = vec![1u8; 4096];
    assert_eq!(v.pread(ROOT, sp, &mut buf, 4096).unwrap(), Io::Done(4096));
    assert!(buf.iter().all(|&b| b == 0), "holes read as zeros");
    assert_eq!(v.lseek(ROOT, sp, 0, SEEK_DATA).unwrap(), 1 << 20);
    assert_eq!(v.lseek(ROOT, sp, 0, SEEK_HOLE).unwrap(), 0);
    assert_eq!(
        v.lseek(ROOT, sp, (1 << 20) + 1, SEEK_HOLE).unwrap(),
        (1 << 20) + 3
    );
    assert_eq!(
        v.lseek(ROOT, sp, (1 << 20) + 3, SEEK_DATA),
        Err(Errno::ENXIO)
    );
    assert_eq!(v.lseek(ROOT, sp, -1, SEEK_HOLE), Err(Errno::ENXIO));
    assert_eq!(v.pwrite(ROOT, sp, b"x", i64::MAX), Err(Errno::EFBIG));
}

#[test]
fn lseek_errors() {
    let mut v = vfs();
    write_file(&mut v, ROOT, "/f", b"12345");
    let fd = v.open(ROOT, b"/f", O_RDONLY, 0).unwrap();
    assert_eq!(v.lseek(ROOT, fd, -2, SEEK_END).unwrap(), 3);
    assert_eq!(
        v.lseek(ROOT, fd, 100, SEEK_SET).unwrap(),
        100,
        "past the end is allowed"
    );
    assert_eq!(v.lseek(ROOT, fd, -1, SEEK_SET), Err(Errno::EINVAL));
    assert_eq!(v.lseek(ROOT, fd, -200, SEEK_CUR), Err(Errno::EINVAL));
    assert_eq!(v.lseek(ROOT, fd, 0, 7), Err(Errno::EINVAL));
    assert_eq!(v.lseek(ROOT, fd, i64::MAX, SEEK_END), Err(Errno::EINVAL));
    assert_eq!(v.lseek(ROOT, 42, 0, SEEK_SET), Err(Errno::EBADF));
}

#[test]
fn stat_fields_and_layout() {
    let mut v = vfs();
    v.set_time(Timespec {
        sec: 1_700_000_000,
        nsec: 5,
    });
    mkdir(&mut v, ROOT, "/d", 0o750);
    mkdir(&mut v, ROOT, "/d/sub", 0o755);
    write_file(&mut v, ROOT, "/d/f", b"xyz");
    let d = v.stat(ROOT, b"/d").unwrap();
    assert_eq!(d.st_mode, S_IFDIR | 0o750);
    assert_eq!(d.st_nlink, 3, "., its name, sub/..");
    let f = v.stat(ROOT, b"/d/f").unwrap();
    assert_eq!(
        (f.st_size, f.st_nlink, f.st_blksize, f.st_blocks),
        (3, 1, 4096, 8)
    );
    assert_eq!(
        f.st_mtime,
        Timespec {
            sec: 1_700_000_000,
            nsec: 5
        }
    );
    assert_ne!(f.st_ino, d.st_ino);
    let b = f.to_bytes();
    assert_eq!(b.len(), 144);
    assert_eq!(u64::from_le_bytes(b[8..16].try_into().unwrap()), f.st_ino);
    assert_eq!(
        u32::from_le_bytes(b[24..28].try_into().unwrap()),
        S_IFREG | 0o644
    );
    assert_eq!(i64::from_le_bytes(b[48..56].try_into().unwrap()), 3);
    assert_eq!(
        i64::from_le_bytes(b[88..96].try_into().unwrap()),
        1_700_000_000,
        "st_mtime"
    );
    assert_eq!(v.fstatat(ROOT, AT_FDCWD, b"/d", 0x8000), Err(Errno::EINVAL));
    let fd = v.open(ROOT, b"/d/f", O_RDONLY, 0).unwrap();
    assert_eq!(v.fstatat(ROOT, fd, b"", AT_EMPTY_PATH).unwrap(), f);
    assert_eq!(v.fstatat(ROOT, fd, b"", 0), Err(Errno::ENOENT));
}

#[test]
fn getdents64_records_are_byte_exact() {
    let mut v = vfs();
    mkdir(&mut v, ROOT, "/d", 0o755);
    write_file(&mut v, ROOT, "/d/a", b"");
    mkdir(&mut v, ROOT, "/d/dir", 0o755);
    v.symlink(ROOT, b"a", b"/d/link").unwrap();
    let fd = v.open(ROOT, b"/d", O_RDONLY | O_DIRECTORY, 0).unwrap();
    let buf = v.getdents64(ROOT, fd, 4096).unwrap();
    let recs = parse_dirents(&buf).unwrap();
    let names: Vec<&[u8]> = recs.iter().map(|r| r.name.as_slice()).collect();
    assert_eq!(names, [&b"."[..], b"..", b"a", b"dir", b"link"]);
    assert_eq!(recs[0].ino, v.stat(ROOT, b"/d").unwrap().st_ino);
    assert_eq!(recs[1].ino, v.stat(ROOT, b"/").unwrap().st_ino);
    assert_eq!(recs[2].ino, v.stat(ROOT, b"/d/a").unwrap().st_ino);
    let types: Vec<u8> = recs.iter().map(|r| r.dtype).collect();
    assert_eq!(types, [DT_DIR, DT_DIR, DT_REG, DT_DIR, DT_LNK]);
    // 19-byte header + name + NUL, rounded up to 8.
    assert_eq!(recs[0].reclen, 24);
    assert_eq!(recs[4].reclen as usize, dirent64_reclen(4));
    assert_eq!(
        buf.len(),
        recs.iter().map(|r| r.reclen as usize).sum::<usize>()
    );
    assert_eq!(&buf[0..8], &recs[0].ino.to_le_bytes());
    assert_eq!(buf[18], DT_DIR);
    assert_eq!(&buf[19..21], b".\0");
    // d_off resumes after each entry.
    let fd2 = v.open(ROOT, b"/d", O_RDONLY, 0).unwrap();
    v.lseek(ROOT, fd2, recs[2].off as i64, SEEK_SET).unwrap();
    let rest = parse_dirents(&v.getdents64(ROOT, fd2, 4096).unwrap()).unwrap();
    assert_eq!(rest.len(), 2);
    assert_eq!(rest[0].name, b"dir");
    assert!(
        v.getdents64(ROOT, fd, 4096).unwrap().is_empty(),
        "end of directory"
    );
}

#[test]
fn getdents64_small_buffers_and_errors() {
    let mut v = vfs();
    mkdir(&mut v, ROOT, "/d", 0o755);
    for i in 0..50 {
        write_file(&mut v, ROOT, &format!("/d/file{i:02}"), b"");
    }
    let fd = v.open(ROOT, b"/d", O_RDONLY, 0).unwrap();
    assert_eq!(v.getdents64(ROOT, fd, 10), Err(Errno::EINVAL));
    let mut names = Vec::new();
    loop {
        let buf = v.getdents64(ROOT, fd, 64).unwrap();
        if buf.is_empty() {
            break;
        }
        assert!(buf.len() <= 64);
        names.extend(parse_dirents(&buf).unwrap().into_iter().map(|r| r.name));
    }
    assert_eq!(names.len(), 52);
    // Entries removed and added between calls: no entry is listed twice.
    let fd = v.open(ROOT, b"/d", O_RDONLY, 0).unwrap();
    let first = parse_dirents(&v.getdents64(ROOT, fd, 200).unwrap()).unwrap();
    v.unlink(ROOT, b"/d/file00").unwrap();
    write_file(&mut v, ROOT, "/d/zzz", b"");
    let mut seen: Vec<Vec<u8>> = first.into_iter().map(|r| r.name).collect();
    loop {
        let buf = v.getdents64(ROOT, fd, 4096).unwrap();
        if buf.is_empty() {
            break;
        }
        seen.extend(parse_dirents(&buf).unwrap().into_iter().map(|r| r.name));
    }
    let mut dedup = seen.clone();
    dedup.sort();
    dedup.dedup();
    assert_eq!(dedup.len(), seen.len());
    assert!(seen.contains(&b"zzz".to_vec()));
    let f = v.open(ROOT, b"/d/file01", O_RDONLY, 0).unwrap();
    assert_eq!(v.getdents64(ROOT, f, 4096), Err(Errno::ENOTDIR));
    assert_eq!(v.getdents64(ROOT, 99, 4096), Err(Errno::EBADF));
}

#[test]
fn out_of_pages_and_inodes_is_enospc() {
    let mut v = vfs_with(4, Default::default());
    let fd = v.open(ROOT, b"/f", O_CREAT | O_RDWR, 0o644).unwrap();
    let data = vec![7u8; 6 * 4096];
    assert_eq!(
        v.write(ROOT, fd, &data).unwrap(),
        Io::Done(4 * 4096),
        "a partial write"
    );
    assert_eq!(v.write(ROOT, fd, b"more"), Err(Errno::ENOSPC));
    assert_eq!(
        v.fstat(ROOT, fd).unwrap().st_size,
        4 * 4096,
        "nothing written is lost"
    );
    mkdir(&mut v, ROOT, "/small", 0o755);
    v.mount(ROOT, b"none", b"/small", "tmpfs", 0, b"nr_inodes=3")
        .unwrap();
    write_file(&mut v, ROOT, "/small/a", b"");
    v.mkdir(ROOT, b"/small/b", 0o755).unwrap();
    assert_eq!(v.mkdir(ROOT, b"/small/c", 0o755), Err(Errno::ENOSPC));
    assert_eq!(
        v.open(ROOT, b"/small/c", O_CREAT | O_RDWR, 0o644),
        Err(Errno::ENOSPC)
    );
    assert_eq!(
        v.mount(ROOT, b"none", b"/small", "tmpfs", 0, b"bogus"),
        Err(Errno::EINVAL)
    );
}

#[test]
fn read_only_mounts() {
    let mut v = vfs();
    mkdir(&mut v, ROOT, "/ro", 0o755);
    v.mount(ROOT, b"none", b"/ro", "tmpfs", MS_RDONLY, b"")
        .unwrap();
    assert_eq!(
        v.open(ROOT, b"/ro/f", O_CREAT | O_RDWR, 0o644),
        Err(Errno::EROFS)
    );
    assert_eq!(v.mkdir(ROOT, b"/ro/d", 0o755), Err(Errno::EROFS));
    assert_eq!(
        v.open(ROOT, b"/ro", O_RDONLY | O_DIRECTORY, 0).map(|_| ()),
        Ok(())
    );
    assert_eq!(v.chmod(ROOT, b"/ro", 0o700), Err(Errno::EROFS));
    assert_eq!(v.access(ROOT, b"/ro", 2), Err(Errno::EROFS));
    assert_eq!(v.statfs(ROOT, b"/ro").unwrap().f_flags & 1, 1);
}

#[test]
fn readv_and_writev() {
    let mut v = vfs();
    let fd = v.open(ROOT, b"/f", O_CREAT | O_RDWR, 0o644).unwrap();
    assert_eq!(
        v.writev(ROOT, fd, &[b"abc", b"", b"defg"]).unwrap(),
        Io::Done(7)
    );
    v.lseek(ROOT, fd, 0, SEEK_SET).unwrap();
    let (mut a, mut b, mut c) = ([0u8; 2], [0u8; 3], [0u8; 10]);
    let n = v.readv(ROOT, fd, &mut [&mut a, &mut b, &mut c]).unwrap();
    assert_eq!(n, Io::Done(7));
    assert_eq!((&a, &b, &c[..2]), (b"ab", b"cde", &b"fg"[..]));
    let many: Vec<&[u8]> = vec![b"x"; 1025];
    assert_eq!(v.writev(ROOT, fd, &many), Err(Errno::EINVAL));
    // To a pipe: a small vector is one atomic write; a dry pipe after some
    // bytes returns them.
    let (r, w) = v.pipe2(ROOT, O_NONBLOCK).unwrap();
    v.write(ROOT, w, &vec![0u8; 65536 - 3]).unwrap();
    assert_eq!(v.writev(ROOT, w, &[b"12", b"34"]), Err(Errno::EAGAIN));
    let mut sink = vec![0u8; 65536];
    v.read(ROOT, r, &mut sink).unwrap();
    v.writev(ROOT, w, &[b"12", b"34"]).unwrap();
    let (mut p, mut q) = ([0u8; 3], [0u8; 3]);
    assert_eq!(
        v.readv(ROOT, r, &mut [&mut p, &mut q]).unwrap(),
        Io::Done(4)
    );
    assert_eq!(v.readv(ROOT, r, &mut [&mut p]), Err(Errno::EAGAIN));
    assert_eq!(v.readv(ROOT, 40, &mut [&mut p]), Err(Errno::EBADF));
}
