//! tmpfs conformance, part 2: `mkdir`, `rmdir`, `unlink`, `rename`,
//! `link`, `symlink`, `readlink`, `truncate`/`ftruncate`, `chmod`,
//! `chown`, `umask`, `chdir`/`fchdir`/`getcwd` and `statfs`, with the
//! errnos of their man pages (and of Linux where the pages allow several).

mod common;
use common::*;
use vfs::types::*;
use vfs::{Errno, Io};

#[test]
fn mkdir_cases() {
    let mut v = vfs();
    v.mkdir(ROOT, b"/d", 0o777).unwrap();
    assert_eq!(v.stat(ROOT, b"/d").unwrap().st_mode, S_IFDIR | 0o755);
    let nlink = v.stat(ROOT, b"/").unwrap().st_nlink;
    v.mkdir(ROOT, b"/d/e/", 0o700).unwrap();
    assert_eq!(v.stat(ROOT, b"/d").unwrap().st_nlink, 3);
    assert_eq!(v.stat(ROOT, b"/").unwrap().st_nlink, nlink);
    assert_eq!(v.mkdir(ROOT, b"/d", 0o755), Err(Errno::EEXIST));
    assert_eq!(v.mkdir(ROOT, b"/", 0o755), Err(Errno::EEXIST));
    assert_eq!(v.mkdir(ROOT, b"/d/.", 0o755), Err(Errno::EEXIST));
    assert_eq!(v.mkdir(ROOT, b"/d/..", 0o755), Err(Errno::EEXIST));
    assert_eq!(v.mkdir(ROOT, b"/x/y", 0o755), Err(Errno::ENOENT));
    write_file(&mut v, ROOT, "/f", b"");
    assert_eq!(v.mkdir(ROOT, b"/f/y", 0o755), Err(Errno::ENOTDIR));
    assert_eq!(v.mkdir(ROOT, b"/f", 0o755), Err(Errno::EEXIST));
    assert_eq!(v.mkdir(USER, b"/u", 0o755), Err(Errno::EACCES));
    v.mkdir(ROOT, b"/sticky", 0o1777).unwrap();
    assert_eq!(
        v.stat(ROOT, b"/sticky").unwrap().st_mode & 0o7777,
        0o1755,
        "umask 022"
    );
    v.umask(ROOT, 0).unwrap();
    v.chmod(ROOT, b"/sticky", 0o1777).unwrap();
    v.mkdir(USER, b"/sticky/mine", 0o755).unwrap();
    let st = v.stat(USER, b"/sticky/mine").unwrap();
    assert_eq!((st.st_uid, st.st_gid), (1000, 1000));
}

#[test]
fn setgid_directories_pass_their_group_on() {
    let mut v = vfs();
    v.mkdir(ROOT, b"/shared", 0o777).unwrap();
    v.chown(ROOT, b"/shared", None, Some(77)).unwrap();
    v.chmod(ROOT, b"/shared", 0o2777).unwrap();
    v.mkdir(USER, b"/shared/sub", 0o755).unwrap();
    write_file(&mut v, USER, "/shared/f", b"");
    let sub = v.stat(ROOT, b"/shared/sub").unwrap();
    assert_eq!(sub.st_gid, 77);
    assert_ne!(sub.st_mode & S_ISGID, 0);
    assert_eq!(v.stat(ROOT, b"/shared/f").unwrap().st_gid, 77);
}

#[test]
fn rmdir_cases() {
    let mut v = vfs();
    mkdir(&mut v, ROOT, "/d", 0o755);
    mkdir(&mut v, ROOT, "/d/e", 0o755);
    write_file(&mut v, ROOT, "/f", b"");
    assert_eq!(v.rmdir(ROOT, b"/d"), Err(Errno::ENOTEMPTY));
    assert_eq!(v.rmdir(ROOT, b"/f"), Err(Errno::ENOTDIR));
    assert_eq!(v.rmdir(ROOT, b"/d/e/."), Err(Errno::EINVAL));
    assert_eq!(v.rmdir(ROOT, b"/d/e/.."), Err(Errno::ENOTEMPTY));
    assert_eq!(v.rmdir(ROOT, b"/"), Err(Errno::EBUSY));
    assert_eq!(v.rmdir(ROOT, b"/none"), Err(Errno::ENOENT));
    assert_eq!(v.rmdir(USER, b"/d/e"), Err(Errno::EACCES));
    v.rmdir(ROOT, b"/d/e/").unwrap();
    assert_eq!(v.stat(ROOT, b"/d").unwrap().st_nlink, 2);
    assert_eq!(v.stat(ROOT, b"/d/e"), Err(Errno::ENOENT));
    mkdir(&mut v, ROOT, "/m", 0o755);
    v.mount(ROOT, b"none", b"/m", "tmpfs", 0, b"").unwrap();
    assert_eq!(v.rmdir(ROOT, b"/m"), Err(Errno::EBUSY));
    v.rmdir(ROOT, b"/d").unwrap();
}

#[test]
fn removing_the_working_directory() {
    let mut v = vfs();
    mkdir(&mut v, ROOT, "/gone", 0o755);
    v.chdir(USER, b"/gone").unwrap();
    v.rmdir(ROOT, b"/gone").unwrap();
    assert_eq!(v.getcwd(USER, 100), Err(Errno::ENOENT));
    assert_eq!(
        v.open(USER, b"new", O_CREAT | O_RDWR, 0o644),
        Err(Errno::EACCES)
    );
    assert_eq!(v.stat(USER, b".").unwrap().st_nlink, 0);
    v.chdir(ROOT, b"/").unwrap();
    mkdir(&mut v, ROOT, "/gone2", 0o755);
    v.chdir(ROOT, b"/gone2").unwrap();
    v.rmdir(ROOT, b"/gone2").unwrap();
    assert_eq!(
        v.open(ROOT, b"new", O_CREAT | O_RDWR, 0o644),
        Err(Errno::ENOENT)
    );
    assert_eq!(v.mkdir(ROOT, b"sub", 0o755), Err(Errno::ENOENT));
    assert_eq!(list_dir(&mut v, ROOT, "."), [".", ".."]);
    v.chdir(USER, b"/").unwrap();
    assert_eq!(v.getcwd(USER, 100).unwrap(), b"/");
}

#[test]
fn unlink_cases_and_open_unlinked_files() {
    let mut v = vfs();
    mkdir(&mut v, ROOT, "/d", 0o755);
    write_file(&mut v, ROOT, "/d/f", b"still here");
    assert_eq!(v.unlink(ROOT, b"/d"), Err(Errno::EISDIR));
    assert_eq!(v.unlink(ROOT, b"/d/none"), Err(Errno::ENOENT));
    assert_eq!(v.unlink(ROOT, b"/d/f/"), Err(Errno::ENOTDIR));
    assert_eq!(v.unlink(ROOT, b"/d/."), Err(Errno::EISDIR));
    assert_eq!(v.unlink(USER, b"/d/f"), Err(Errno::EACCES));
    assert_eq!(v.unlinkat(ROOT, AT_FDCWD, b"/d/f", 0x1), Err(Errno::EINVAL));
    let fd = v.open(ROOT, b"/d/f", O_RDWR, 0).unwrap();
    v.unlink(ROOT, b"/d/f").unwrap();
    assert_eq!(v.stat(ROOT, b"/d/f"), Err(Errno::ENOENT));
    assert_eq!(v.fstat(ROOT, fd).unwrap().st_nlink, 0);
    let mut buf = [0u8; 32];
    assert_eq!(v.pread(ROOT, fd, &mut buf, 0).unwrap(), Io::Done(10));
    v.write(ROOT, fd, b"!").unwrap();
    let cached = v.pcache.stats().cached;
    v.close(ROOT, fd).unwrap();
    assert!(
        v.pcache.stats().cached < cached,
        "the last close frees the pages"
    );
    // The name can be made again, as a new file.
    write_file(&mut v, ROOT, "/d/f", b"new");
    assert_eq!(read_file(&mut v, ROOT, "/d/f").unwrap(), b"new");
    assert_eq!(
        v.unlinkat(ROOT, AT_FDCWD, b"/d/f", AT_REMOVEDIR),
        Err(Errno::ENOTDIR)
    );
}

#[test]
fn sticky_directories() {
    let mut v = vfs();
    v.umask(ROOT, 0).unwrap();
    v.mkdir(ROOT, b"/tmp", 0o1777).unwrap();
    write_file(&mut v, USER, "/tmp/users", b"");
    assert_eq!(v.unlink(OTHER, b"/tmp/users"), Err(Errno::EPERM));
    assert_eq!(
        v.rename(OTHER, b"/tmp/users", b"/tmp/stolen"),
        Err(Errno::EPERM)
    );
    write_file(&mut v, OTHER, "/tmp/others", b"");
    assert_eq!(
        v.rename(OTHER, b"/tmp/others", b"/tmp/users"),
        Err(Errno::EPERM)
    );
    v.unlink(USER, b"/tmp/users").unwrap();
    v.unlink(ROOT, b"/tmp/others").unwrap();
    // Without the sticky bit anyone with write permission may remove.
    v.mkdir(ROOT, b"/open", 0o777).unwrap();
    write_file(&mut v, USER, "/open/f", b"");
    v.unlink(OTHER, b"/open/f").unwrap();
}

#[test]
fn rename_files() {
    let mut v = vfs();
    mkdir(&mut v, ROOT, "/a", 0o755);
    mkdir(&mut v, ROOT, "/b", 0o755);
    write_file(&mut v, ROOT, "/a/f", b"one");
    write_file(&mut v, ROOT, "/b/g", b"two");
    let ino = v.stat(ROOT, b"/a/f").unwrap().st_ino;
    v.rename(ROOT, b"/a/f", b"/a/f2").unwrap();
    assert_eq!(v.stat(ROOT, b"/a/f"), Err(Errno::ENOENT));
    assert_eq!(v.stat(ROOT, b"/a/f2").unwrap().st_ino, ino);
    v.rename(ROOT, b"/a/f2", b"/b/g").unwrap();
    assert_eq!(read_file(&mut v, ROOT, "/b/g").unwrap(), b"one");
    assert_eq!(list_dir(&mut v, ROOT, "/a"), [".", ".."]);
    assert_eq!(list_dir(&mut v, ROOT, "/b"), [".", "..", "g"]);
    assert_eq!(v.rename(ROOT, b"/a/none", b"/a/x"), Err(Errno::ENOENT));
    assert_eq!(v.rename(ROOT, b"/b/g", b"/none/x"), Err(Errno::ENOENT));
    assert_eq!(v.rename(ROOT, b"/b/g/", b"/b/h"), Err(Errno::ENOTDIR));
    assert_eq!(v.rename(USER, b"/b/g", b"/b/h"), Err(Errno::EACCES));
    // Hard links of one inode: nothing happens.
    v.link(ROOT, b"/b/g", b"/b/g2").unwrap();
    v.rename(ROOT, b"/b/g", b"/b/g2").unwrap();
    assert!(v.stat(ROOT, b"/b/g").is_ok());
    assert_eq!(v.stat(ROOT, b"/b/g").unwrap().st_nlink, 2);
}

#[test]
fn rename_directories() {
    let mut v = vfs();
    mkdir(&mut v, ROOT, "/a", 0o755);
    mkdir(&mut v, ROOT, "/a/sub", 0o755);
    mkdir(&mut v, ROOT, "/b", 0o755);
    mkdir(&mut v, ROOT, "/full", 0o755);
    write_file(&mut v, ROOT, "/full/x", b"");
    mkdir(&mut v, ROOT, "/empty", 0o755);
    write_file(&mut v, ROOT, "/file", b"");
    assert_eq!(v.rename(ROOT, b"/a", b"/a/sub/a"), Err(Errno::EINVAL));
    assert_eq!(v.rename(ROOT, b"/a", b"/a/x"), Err(Errno::EINVAL));
    assert_eq!(v.rename(ROOT, b"/a/sub", b"/a"), Err(Errno::ENOTEMPTY));
    assert_eq!(v.rename(ROOT, b"/a", b"/full"), Err(Errno::ENOTEMPTY));
    assert_eq!(v.rename(ROOT, b"/a", b"/file"), Err(Errno::ENOTDIR));
    assert_eq!(v.rename(ROOT, b"/file", b"/empty"), Err(Errno::EISDIR));
    assert_eq!(v.rename(ROOT, b"/a/.", b"/b/x"), Err(Errno::EBUSY));
    assert_eq!(v.rename(ROOT, b"/a", b"/b/.."), Err(Errno::EBUSY));
    let root_links = v.stat(ROOT, b"/").unwrap().st_nlink;
    v.rename(ROOT, b"/a", b"/empty").unwrap();
    assert_eq!(
        v.stat(ROOT, b"/").unwrap().st_nlink,
        root_links - 1,
        "the replaced directory's .. is gone"
    );
    assert!(v.stat(ROOT, b"/empty/sub").is_ok());
    v.rename(ROOT, b"/empty/sub", b"/b/sub").unwrap();
    assert_eq!(v.stat(ROOT, b"/b").unwrap().st_nlink, 3);
    assert_eq!(v.stat(ROOT, b"/empty").unwrap().st_nlink, 2);
    assert_eq!(
        v.stat(ROOT, b"/b/sub/..").unwrap().st_ino,
        v.stat(ROOT, b"/b").unwrap().st_ino
    );
    // A working directory moves with its directory.
    v.chdir(USER, b"/b/sub").unwrap();
    v.rename(ROOT, b"/b", b"/moved").unwrap();
    assert_eq!(v.getcwd(USER, 100).unwrap(), b"/moved/sub");
}

#[test]
fn rename_and_link_across_mounts_is_exdev() {
    let mut v = vfs();
    mkdir(&mut v, ROOT, "/m", 0o755);
    v.mount(ROOT, b"none", b"/m", "tmpfs", 0, b"").unwrap();
    write_file(&mut v, ROOT, "/f", b"");
    assert_eq!(v.rename(ROOT, b"/f", b"/m/f"), Err(Errno::EXDEV));
    assert_eq!(v.link(ROOT, b"/f", b"/m/f"), Err(Errno::EXDEV));
    assert_eq!(v.rename(ROOT, b"/m", b"/m2"), Err(Errno::EBUSY));
}

#[test]
fn link_cases() {
    let mut v = vfs();
    write_file(&mut v, ROOT, "/f", b"shared");
    mkdir(&mut v, ROOT, "/d", 0o755);
    v.link(ROOT, b"/f", b"/d/g").unwrap();
    assert_eq!(v.stat(ROOT, b"/f").unwrap().st_nlink, 2);
    assert_eq!(
        v.stat(ROOT, b"/f").unwrap().st_ino,
        v.stat(ROOT, b"/d/g").unwrap().st_ino
    );
    write_file(&mut v, ROOT, "/d/g", b"changed");
    assert_eq!(read_file(&mut v, ROOT, "/f").unwrap(), b"changed");
    assert_eq!(v.link(ROOT, b"/d", b"/d2"), Err(Errno::EPERM));
    assert_eq!(v.link(ROOT, b"/f", b"/d/g"), Err(Errno::EEXIST));
    assert_eq!(v.link(ROOT, b"/none", b"/x"), Err(Errno::ENOENT));
    assert_eq!(v.link(ROOT, b"/f", b"/none/x"), Err(Errno::ENOENT));
    assert_eq!(v.link(ROOT, b"/f", b"/x/"), Err(Errno::ENOENT));
    assert_eq!(v.link(USER, b"/f", b"/x"), Err(Errno::EACCES));
    v.unlink(ROOT, b"/f").unwrap();
    assert_eq!(v.stat(ROOT, b"/d/g").unwrap().st_nlink, 1);
    // link does not follow a symlink unless asked.
    v.symlink(ROOT, b"/d/g", b"/sl").unwrap();
    v.link(ROOT, b"/sl", b"/sl2").unwrap();
    assert!(is_lnk(v.lstat(ROOT, b"/sl2").unwrap().st_mode));
    v.linkat(
        ROOT,
        AT_FDCWD,
        b"/sl",
        AT_FDCWD,
        b"/hard",
        AT_SYMLINK_FOLLOW,
    )
    .unwrap();
    assert!(is_reg(v.lstat(ROOT, b"/hard").unwrap().st_mode));
}

#[test]
fn symlink_and_readlink() {
    let mut v = vfs();
    v.symlink(ROOT, b"some/where", b"/l").unwrap();
    assert_eq!(v.readlink(ROOT, b"/l", 100).unwrap(), b"some/where");
    assert_eq!(v.readlink(ROOT, b"/l", 4).unwrap(), b"some");
    assert_eq!(v.readlink(ROOT, b"/l", 0), Err(Errno::EINVAL));
    assert_eq!(v.readlink(ROOT, b"/", 100), Err(Errno::EINVAL));
    assert_eq!(v.readlink(ROOT, b"/none", 100), Err(Errno::ENOENT));
    assert_eq!(v.symlink(ROOT, b"", b"/e"), Err(Errno::ENOENT));
    assert_eq!(v.symlink(ROOT, b"x", b"/l"), Err(Errno::EEXIST));
    assert_eq!(v.symlink(USER, b"x", b"/u"), Err(Errno::EACCES));
    let st = v.lstat(ROOT, b"/l").unwrap();
    assert_eq!((st.st_mode, st.st_size), (S_IFLNK | 0o777, 10));
}

#[test]
fn truncate_cases() {
    let mut v = vfs();
    write_file(&mut v, ROOT, "/f", &[9u8; 6000]);
    v.truncate(ROOT, b"/f", 100).unwrap();
    assert_eq!(v.stat(ROOT, b"/f").unwrap().st_size, 100);
    v.truncate(ROOT, b"/f", 5000).unwrap();
    let data = read_file(&mut v, ROOT, "/f").unwrap();
    assert_eq!(data.len(), 5000);
    assert!(data[..100].iter().all(|&b| b == 9));
    assert!(
        data[100..].iter().all(|&b| b == 0),
        "shrinking zeroed the rest"
    );
    mkdir(&mut v, ROOT, "/d", 0o755);
    assert_eq!(v.truncate(ROOT, b"/d", 0), Err(Errno::EISDIR));
    assert_eq!(v.truncate(ROOT, b"/f", -1), Err(Errno::EINVAL));
    assert_eq!(v.truncate(ROOT, b"/none", 0), Err(Errno::ENOENT));
    assert_eq!(v.truncate(USER, b"/f", 0), Err(Errno::EACCES));
    assert_eq!(v.truncate(ROOT, b"/f", i64::MAX).map(|_| ()), Ok(()));
    let ro = v.open(ROOT, b"/f", O_RDONLY, 0).unwrap();
    assert_eq!(v.ftruncate(ROOT, ro, 0), Err(Errno::EINVAL));
    let dir = v.open(ROOT, b"/d", O_RDONLY, 0).unwrap();
    assert_eq!(v.ftruncate(ROOT, dir, 0), Err(Errno::EINVAL));
    assert_eq!(v.ftruncate(ROOT, 50, 0), Err(Errno::EBADF));
    let rw = v.open(ROOT, b"/f", O_RDWR, 0).unwrap();
    assert_eq!(v.ftruncate(ROOT, rw, -5), Err(Errno::EINVAL));
    v.ftruncate(ROOT, rw, 3).unwrap();
    assert_eq!(v.fstat(ROOT, rw).unwrap().st_size, 3);
    let (r, _) = v.pipe2(ROOT, 0).unwrap();
    assert_eq!(v.ftruncate(ROOT, r, 0), Err(Errno::EINVAL));
}

#[test]
fn chmod_and_chown() {
    let mut v = vfs();
    write_file(&mut v, ROOT, "/f", b"");
    assert_eq!(v.chmod(USER, b"/f", 0o777), Err(Errno::EPERM));
    v.chown(ROOT, b"/f", Some(1000), Some(1000)).unwrap();
    v.chmod(USER, b"/f", 0o4755).unwrap();
    assert_eq!(v.stat(ROOT, b"/f").unwrap().st_mode, S_IFREG | 0o4755);
    // Setting set-group-ID on a file of a group one is not in drops it.
    v.chown(ROOT, b"/f", None, Some(5)).unwrap();
    v.chmod(USER, b"/f", 0o2755).unwrap();
    assert_eq!(v.stat(ROOT, b"/f").unwrap().st_mode & 0o7777, 0o755);
    assert_eq!(v.chown(USER, b"/f", Some(0), None), Err(Errno::EPERM));
    assert_eq!(v.chown(USER, b"/f", None, Some(6)), Err(Errno::EPERM));
    v.chown(USER, b"/f", None, Some(1000)).unwrap();
    v.chown(USER, b"/f", Some(1000), None).unwrap();
    assert_eq!(v.chown(OTHER, b"/f", None, Some(1001)), Err(Errno::EPERM));
    // chown clears set-user-ID (also for root).
    v.chmod(ROOT, b"/f", 0o6755).unwrap();
    v.chown(ROOT, b"/f", Some(7), None).unwrap();
    assert_eq!(v.stat(ROOT, b"/f").unwrap().st_mode & 0o7777, 0o755);
    v.chmod(ROOT, b"/f", 0o170777).unwrap();
    assert_eq!(
        v.stat(ROOT, b"/f").unwrap().st_mode,
        S_IFREG | 0o777,
        "the type stays"
    );
    v.symlink(ROOT, b"/f", b"/l").unwrap();
    v.lchown(ROOT, b"/l", Some(3), None).unwrap();
    assert_eq!(v.lstat(ROOT, b"/l").unwrap().st_uid, 3);
    assert_eq!(v.stat(ROOT, b"/l").unwrap().st_uid, 7);
    let fd = v.open(ROOT, b"/f", O_RDONLY, 0).unwrap();
    v.fchmod(ROOT, fd, 0o600).unwrap();
    v.fchown(ROOT, fd, Some(9), Some(9)).unwrap();
    let st = v.fstat(ROOT, fd).unwrap();
    assert_eq!((st.st_mode & 0o777, st.st_uid, st.st_gid), (0o600, 9, 9));
    assert_eq!(v.fchmod(ROOT, 33, 0o600), Err(Errno::EBADF));
}

#[test]
fn writes_by_others_clear_setuid() {
    let mut v = vfs();
    write_file(&mut v, ROOT, "/prog", b"");
    v.chmod(ROOT, b"/prog", 0o6777).unwrap();
    let fd = v.open(USER, b"/prog", O_WRONLY, 0).unwrap();
    v.write(USER, fd, b"x").unwrap();
    assert_eq!(v.stat(ROOT, b"/prog").unwrap().st_mode & 0o7777, 0o777);
}

#[test]
fn umask_chdir_getcwd_statfs() {
    let mut v = vfs();
    assert_eq!(v.umask(USER, 0o077).unwrap(), 0o022);
    assert_eq!(v.umask(USER, 0o7777).unwrap(), 0o077);
    assert_eq!(v.umask(USER, 0o027).unwrap(), 0o777);
    mkdir(&mut v, ROOT, "/tmp", 0o777);
    v.chmod(ROOT, b"/tmp", 0o777).unwrap();
    write_file(&mut v, USER, "/tmp/f", b"");
    assert_eq!(v.stat(ROOT, b"/tmp/f").unwrap().st_mode & 0o777, 0o640);
    assert_eq!(v.chdir(ROOT, b"/tmp/f"), Err(Errno::ENOTDIR));
    assert_eq!(v.chdir(ROOT, b"/none"), Err(Errno::ENOENT));
    v.chdir(ROOT, b"/tmp").unwrap();
    assert_eq!(v.getcwd(ROOT, 5).unwrap(), b"/tmp");
    assert_eq!(v.getcwd(ROOT, 4), Err(Errno::ERANGE));
    let fd = v.open(ROOT, b"/", O_RDONLY, 0).unwrap();
    v.fchdir(ROOT, fd).unwrap();
    assert_eq!(v.getcwd(ROOT, 2).unwrap(), b"/");
    let ffd = v.open(ROOT, b"/tmp/f", O_RDONLY, 0).unwrap();
    assert_eq!(v.fchdir(ROOT, ffd), Err(Errno::ENOTDIR));
    assert_eq!(v.fchdir(ROOT, 99), Err(Errno::EBADF));
    let st = v.statfs(ROOT, b"/tmp").unwrap();
    assert_eq!(
        (st.f_type, st.f_bsize, st.f_namelen),
        (TMPFS_MAGIC, 4096, 255)
    );
    assert!(st.f_ffree < st.f_files);
    assert_eq!(v.fstatfs(ROOT, fd).unwrap().f_type, TMPFS_MAGIC);
    assert_eq!(v.statfs(ROOT, b"/none"), Err(Errno::ENOENT));
    assert_eq!(v.write(ROOT, ffd, b"x"), Err(Errno::EBADF));
}
