//! The file-system registry and the mount table: registering, mounting by
//! type name, the errors of mount and umount (EPERM, ENODEV, ENOTDIR,
//! EINVAL, EBUSY for open files, working directories, child mounts and
//! `/`), stacking, `/proc/mounts` and `/proc/filesystems` contents.

mod common;
use common::*;
use std::cell::RefCell;
use std::rc::Rc;
use vfs::tmpfs::TmpfsType;
use vfs::types::*;
use vfs::{Errno, Io, Limits, VecPageProvider, Vfs};

#[test]
fn registry() {
    let mut v = vfs();
    assert_eq!(
        v.register_filesystem(Box::new(TmpfsType)),
        Err(Errno::EBUSY)
    );
    v.register_filesystem(Box::new(DiskFsType(Rc::new(RefCell::new(Disk::default())))))
        .unwrap();
    assert_eq!(v.filesystems(), [("tmpfs", false), ("diskfs", true)]);
    mkdir(&mut v, ROOT, "/m", 0o755);
    assert_eq!(
        v.mount(ROOT, b"x", b"/m", "ext9", 0, b""),
        Err(Errno::ENODEV)
    );
    let mut bare = Vfs::new(Box::new(VecPageProvider::new(8)), Limits::default());
    assert_eq!(bare.mount_root("tmpfs", b""), Err(Errno::ENODEV));
    assert_eq!(
        bare.new_client(1, Cred::root()),
        Err(Errno::ENOENT),
        "no root yet"
    );
    bare.register_filesystem(Box::new(TmpfsType)).unwrap();
    bare.mount_root("tmpfs", b"").unwrap();
    assert_eq!(bare.mount_root("tmpfs", b""), Err(Errno::EBUSY));
}

#[test]
fn mount_errors() {
    let mut v = vfs();
    mkdir(&mut v, ROOT, "/m", 0o755);
    write_file(&mut v, ROOT, "/f", b"");
    assert_eq!(
        v.mount(USER, b"x", b"/m", "tmpfs", 0, b""),
        Err(Errno::EPERM)
    );
    assert_eq!(
        v.mount(ROOT, b"x", b"/f", "tmpfs", 0, b""),
        Err(Errno::ENOTDIR)
    );
    assert_eq!(
        v.mount(ROOT, b"x", b"/none", "tmpfs", 0, b""),
        Err(Errno::ENOENT)
    );
    assert_eq!(v.umount(USER, b"/m", 0), Err(Errno::EPERM));
    assert_eq!(v.umount(ROOT, b"/m", 0), Err(Errno::EINVAL), "not a mount");
    assert_eq!(v.umount(ROOT, b"/", 0), Err(Errno::EBUSY));
    assert_eq!(v.umount(ROOT, b"/m", 0x10), Err(Errno::EINVAL));
    v.mount(ROOT, b"x", b"/m", "tmpfs", 0, b"").unwrap();
    mkdir(&mut v, ROOT, "/m/sub", 0o755);
    assert_eq!(v.umount(ROOT, b"/m/sub", 0), Err(Errno::EINVAL));
}

#[test]
fn busy_mounts() {
    let mut v = vfs();
    mkdir(&mut v, ROOT, "/m", 0o755);
    v.mount(ROOT, b"x", b"/m", "tmpfs", 0, b"").unwrap();
    write_file(&mut v, ROOT, "/m/f", b"");
    let fd = v.open(USER, b"/m/f", O_RDONLY, 0).unwrap();
    assert_eq!(v.umount(ROOT, b"/m", 0), Err(Errno::EBUSY), "an open file");
    v.close(USER, fd).unwrap();
    mkdir(&mut v, ROOT, "/m/d", 0o755);
    v.chdir(USER, b"/m/d").unwrap();
    assert_eq!(
        v.umount(ROOT, b"/m", 0),
        Err(Errno::EBUSY),
        "a working directory"
    );
    v.chdir(USER, b"/").unwrap();
    v.mount(ROOT, b"y", b"/m/d", "tmpfs", 0, b"").unwrap();
    assert_eq!(v.umount(ROOT, b"/m", 0), Err(Errno::EBUSY), "a mount below");
    v.umount(ROOT, b"/m/d", 0).unwrap();
    let (mounts, cached) = (v.mounts.len(), v.pcache.stats().cached);
    v.umount(ROOT, b"/m", 0).unwrap();
    assert_eq!(v.mounts.len(), mounts - 1);
    assert_eq!(v.pcache.stats().cached, cached);
    assert_eq!(v.stat(ROOT, b"/m/f"), Err(Errno::ENOENT));
    // The mount point is an ordinary directory again.
    v.rmdir(ROOT, b"/m").unwrap();
}

#[test]
fn stacked_mounts_and_proc_mounts() {
    let mut v = vfs();
    mkdir(&mut v, ROOT, "/m", 0o755);
    v.mount(ROOT, b"first", b"/m", "tmpfs", 0, b"").unwrap();
    write_file(&mut v, ROOT, "/m/one", b"");
    v.mount(ROOT, b"second", b"/m", "tmpfs", MS_RDONLY, b"")
        .unwrap();
    assert_eq!(
        v.stat(ROOT, b"/m/one"),
        Err(Errno::ENOENT),
        "the top mount shows"
    );
    let text = String::from_utf8(v.mounts_text()).unwrap();
    assert_eq!(
        text,
        "rootfs / tmpfs rw 0 0\nfirst /m tmpfs rw 0 0\nsecond /m tmpfs ro 0 0\n"
    );
    v.umount(ROOT, b"/m", 0).unwrap();
    assert!(v.stat(ROOT, b"/m/one").is_ok());
    v.umount(ROOT, b"/m", 0).unwrap();
    assert_eq!(
        String::from_utf8(v.mounts_text()).unwrap(),
        "rootfs / tmpfs rw 0 0\n"
    );
}

#[test]
fn open_files_keep_working_across_unrelated_umounts() {
    let mut v = vfs();
    mkdir(&mut v, ROOT, "/a", 0o755);
    mkdir(&mut v, ROOT, "/b", 0o755);
    v.mount(ROOT, b"a", b"/a", "tmpfs", 0, b"").unwrap();
    v.mount(ROOT, b"b", b"/b", "tmpfs", 0, b"").unwrap();
    write_file(&mut v, ROOT, "/a/f", b"data");
    let fd = v.open(ROOT, b"/a/f", O_RDONLY, 0).unwrap();
    v.umount(ROOT, b"/b", 0).unwrap();
    let mut buf = [0u8; 4];
    assert_eq!(v.pread(ROOT, fd, &mut buf, 0).unwrap(), Io::Done(4));
    assert_eq!(&buf, b"data");
}
