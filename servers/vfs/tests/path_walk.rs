//! Path walk: dots, repeated and trailing slashes, the working directory,
//! symbolic links (relative, absolute, chains, loops → ELOOP after 40),
//! name and path limits, search permission, and mount points crossed both
//! ways.

mod common;
use common::*;
use vfs::types::*;
use vfs::Errno;

#[test]
fn dots_and_slashes() {
    let mut v = vfs();
    mkdir(&mut v, ROOT, "/a", 0o755);
    mkdir(&mut v, ROOT, "/a/b", 0o755);
    let b = v.stat(ROOT, b"/a/b").unwrap();
    for p in [
        "/a/./b",
        "/a/b/../b",
        "//a///b//",
        "/a/b/.",
        "/../a/../../a/b",
        "/./a/b/",
    ] {
        assert_eq!(v.stat(ROOT, p.as_bytes()).unwrap().st_ino, b.st_ino, "{p}");
    }
    let root = v.stat(ROOT, b"/").unwrap();
    assert_eq!(v.stat(ROOT, b"/..").unwrap().st_ino, root.st_ino);
    assert_eq!(v.stat(ROOT, b"/a/b/../..").unwrap().st_ino, root.st_ino);
    assert_eq!(v.stat(ROOT, b"///").unwrap().st_ino, root.st_ino);
}

#[test]
fn relative_to_cwd_and_dirfd() {
    let mut v = vfs();
    mkdir(&mut v, ROOT, "/a", 0o755);
    write_file(&mut v, ROOT, "/a/f", b"x");
    v.chdir(ROOT, b"/a").unwrap();
    assert_eq!(v.stat(ROOT, b"f").unwrap().st_size, 1);
    assert_eq!(v.stat(ROOT, b"./f").unwrap().st_size, 1);
    assert_eq!(v.stat(ROOT, b"../a/f").unwrap().st_size, 1);
    v.chdir(ROOT, b"/").unwrap();
    let dfd = v.open(ROOT, b"/a", O_RDONLY | O_DIRECTORY, 0).unwrap();
    assert_eq!(v.fstatat(ROOT, dfd, b"f", 0).unwrap().st_size, 1);
    let ffd = v.open(ROOT, b"/a/f", O_RDONLY, 0).unwrap();
    assert_eq!(v.fstatat(ROOT, ffd, b"f", 0), Err(Errno::ENOTDIR));
    assert_eq!(v.fstatat(ROOT, 99, b"f", 0), Err(Errno::EBADF));
    // An absolute path ignores dirfd, even a bad one.
    assert!(v.fstatat(ROOT, 99, b"/a/f", 0).is_ok());
}

#[test]
fn missing_and_not_directories() {
    let mut v = vfs();
    write_file(&mut v, ROOT, "/f", b"");
    assert_eq!(v.stat(ROOT, b"/nope"), Err(Errno::ENOENT));
    assert_eq!(v.stat(ROOT, b"/nope/x"), Err(Errno::ENOENT));
    assert_eq!(v.stat(ROOT, b"/f/x"), Err(Errno::ENOTDIR));
    assert_eq!(v.stat(ROOT, b"/f/"), Err(Errno::ENOTDIR));
    assert_eq!(v.stat(ROOT, b"/f/."), Err(Errno::ENOTDIR));
    assert_eq!(v.stat(ROOT, b""), Err(Errno::ENOENT));
}

#[test]
fn name_and_path_limits() {
    let mut v = vfs();
    let name255 = "n".repeat(NAME_MAX);
    let name256 = "n".repeat(NAME_MAX + 1);
    assert_eq!(
        v.stat(ROOT, format!("/{name255}").as_bytes()),
        Err(Errno::ENOENT)
    );
    assert_eq!(
        v.stat(ROOT, format!("/{name256}").as_bytes()),
        Err(Errno::ENAMETOOLONG)
    );
    assert_eq!(
        v.stat(ROOT, format!("/{name256}/x").as_bytes()),
        Err(Errno::ENAMETOOLONG)
    );
    write_file(&mut v, ROOT, &format!("/{name255}"), b"ok");
    // 4095 bytes fit with the NUL; 4096 do not.
    let long_ok = format!("/{}", "./".repeat(2046)) + "xx";
    assert_eq!(long_ok.len(), PATH_MAX - 1);
    assert_eq!(v.stat(ROOT, long_ok.as_bytes()), Err(Errno::ENOENT));
    let too_long = format!("{long_ok}x");
    assert_eq!(v.stat(ROOT, too_long.as_bytes()), Err(Errno::ENAMETOOLONG));
    assert_eq!(
        v.mkdir(ROOT, format!("/{name256}").as_bytes(), 0o755),
        Err(Errno::ENAMETOOLONG)
    );
}

#[test]
fn symlinks_followed_and_not() {
    let mut v = vfs();
    mkdir(&mut v, ROOT, "/d", 0o755);
    write_file(&mut v, ROOT, "/d/f", b"data");
    v.symlink(ROOT, b"/d", b"/abs").unwrap();
    v.symlink(ROOT, b"d/f", b"/rel").unwrap();
    v.symlink(ROOT, b"../d/f", b"/d/up").unwrap();
    v.symlink(ROOT, b"/nowhere", b"/dangling").unwrap();
    assert_eq!(read_file(&mut v, ROOT, "/abs/f").unwrap(), b"data");
    assert_eq!(read_file(&mut v, ROOT, "/rel").unwrap(), b"data");
    assert_eq!(read_file(&mut v, ROOT, "/d/up").unwrap(), b"data");
    assert!(is_lnk(v.lstat(ROOT, b"/rel").unwrap().st_mode));
    assert!(is_reg(v.stat(ROOT, b"/rel").unwrap().st_mode));
    assert_eq!(v.lstat(ROOT, b"/rel").unwrap().st_size, 3);
    assert_eq!(v.stat(ROOT, b"/dangling"), Err(Errno::ENOENT));
    assert!(v.lstat(ROOT, b"/dangling").is_ok());
    // A trailing slash follows even for lstat, and needs a directory.
    assert!(is_dir(v.lstat(ROOT, b"/abs/").unwrap().st_mode));
    assert_eq!(v.lstat(ROOT, b"/rel/"), Err(Errno::ENOTDIR));
    // `..` after a symlink is the link target's parent (physical walk).
    v.symlink(ROOT, b"/d", b"/d/self").unwrap();
    assert_eq!(
        v.stat(ROOT, b"/d/self/..").unwrap().st_ino,
        v.stat(ROOT, b"/").unwrap().st_ino
    );
}

#[test]
fn symlink_loops_and_the_limit_of_40() {
    let mut v = vfs();
    v.symlink(ROOT, b"/b", b"/a").unwrap();
    v.symlink(ROOT, b"/a", b"/b").unwrap();
    v.symlink(ROOT, b"self", b"/self").unwrap();
    assert_eq!(v.stat(ROOT, b"/a"), Err(Errno::ELOOP));
    assert_eq!(v.stat(ROOT, b"/self"), Err(Errno::ELOOP));
    assert_eq!(v.stat(ROOT, b"/a/x"), Err(Errno::ELOOP));
    assert!(v.lstat(ROOT, b"/a").is_ok());
    // A chain of exactly 40 links resolves; 41 do not.
    write_file(&mut v, ROOT, "/target", b"t");
    v.symlink(ROOT, b"/target", b"/l0").unwrap();
    for i in 1..41 {
        v.symlink(
            ROOT,
            format!("/l{}", i - 1).as_bytes(),
            format!("/l{i}").as_bytes(),
        )
        .unwrap();
    }
    assert!(v.stat(ROOT, b"/l39").is_ok());
    assert_eq!(v.stat(ROOT, b"/l40"), Err(Errno::ELOOP));
}

#[test]
fn search_permission() {
    let mut v = vfs();
    mkdir(&mut v, ROOT, "/private", 0o700);
    write_file(&mut v, ROOT, "/private/f", b"");
    assert_eq!(v.stat(USER, b"/private/f"), Err(Errno::EACCES));
    assert!(v.stat(ROOT, b"/private/f").is_ok());
    // Reading the directory itself needs no search permission for stat.
    assert!(v.stat(USER, b"/private").is_ok());
    mkdir(&mut v, ROOT, "/xonly", 0o711);
    write_file(&mut v, ROOT, "/xonly/f", b"");
    assert!(v.stat(USER, b"/xonly/f").is_ok());
    assert_eq!(v.open(USER, b"/xonly", O_RDONLY, 0), Err(Errno::EACCES));
    v.chdir(ROOT, b"/").unwrap();
    assert_eq!(v.chdir(USER, b"/private"), Err(Errno::EACCES));
}

#[test]
fn root_needs_an_execute_bit_to_execute() {
    let mut v = vfs();
    write_file(&mut v, ROOT, "/plain", b"");
    write_file(&mut v, ROOT, "/script", b"");
    v.chmod(ROOT, b"/plain", 0o644).unwrap();
    v.chmod(ROOT, b"/script", 0o700).unwrap();
    assert_eq!(v.access(ROOT, b"/plain", 1), Err(Errno::EACCES));
    assert!(v.access(ROOT, b"/script", 1).is_ok());
    v.chmod(ROOT, b"/plain", 0o001).unwrap();
    assert!(v.access(ROOT, b"/plain", 1).is_ok());
    assert!(v.access(ROOT, b"/plain", 6).is_ok());
    assert_eq!(v.access(USER, b"/script", 4), Err(Errno::EACCES));
}

#[test]
fn group_and_owner_classes() {
    let mut v = vfs();
    write_file(&mut v, ROOT, "/g", b"");
    v.chown(ROOT, b"/g", Some(1000), Some(50)).unwrap();
    // The owner class applies to the owner even when it grants less.
    v.chmod(ROOT, b"/g", 0o044).unwrap();
    assert_eq!(v.access(USER, b"/g", 4), Err(Errno::EACCES));
    let mut member = Cred::user(1001, 1001);
    member.groups.push(50);
    v.set_cred(OTHER, member).unwrap();
    assert!(v.access(OTHER, b"/g", 4).is_ok());
    assert_eq!(v.access(OTHER, b"/g", 2), Err(Errno::EACCES));
}

#[test]
fn mount_points_crossed_both_ways() {
    let mut v = vfs();
    mkdir(&mut v, ROOT, "/mnt", 0o755);
    write_file(&mut v, ROOT, "/mnt/hidden", b"under");
    let root_dev = v.stat(ROOT, b"/").unwrap().st_dev;
    v.mount(ROOT, b"none", b"/mnt", "tmpfs", 0, b"").unwrap();
    let mnt = v.stat(ROOT, b"/mnt").unwrap();
    assert_ne!(mnt.st_dev, root_dev);
    assert_eq!(v.stat(ROOT, b"/mnt/hidden"), Err(Errno::ENOENT));
    mkdir(&mut v, ROOT, "/mnt/sub", 0o755);
    assert_eq!(
        v.stat(ROOT, b"/mnt/sub/../..").unwrap().st_ino,
        v.stat(ROOT, b"/").unwrap().st_ino
    );
    assert_eq!(v.stat(ROOT, b"/mnt/..").unwrap().st_dev, root_dev);
    v.chdir(ROOT, b"/mnt/sub").unwrap();
    assert_eq!(v.getcwd(ROOT, 100).unwrap(), b"/mnt/sub");
    assert_eq!(v.stat(ROOT, b"../../mnt/sub").unwrap().st_dev, mnt.st_dev);
    v.chdir(ROOT, b"/").unwrap();
    v.umount(ROOT, b"/mnt", 0).unwrap();
    assert_eq!(read_file(&mut v, ROOT, "/mnt/hidden").unwrap(), b"under");
}

#[test]
fn dotdot_stops_at_the_clients_root() {
    let mut v = vfs();
    mkdir(&mut v, ROOT, "/a", 0o755);
    v.chdir(ROOT, b"/a").unwrap();
    assert_eq!(
        v.stat(ROOT, b"../../../..").unwrap().st_ino,
        v.stat(ROOT, b"/").unwrap().st_ino
    );
    assert_eq!(v.getcwd(ROOT, 10).unwrap(), b"/a");
}

#[test]
fn last_components_short_and_long() {
    use vfs::namei::Name;
    for len in [1, 30, 31, NAME_MAX] {
        let bytes = vec![b'n'; len];
        let name = Name::new(&bytes).unwrap();
        assert_eq!(&*name, &bytes[..]);
        assert_eq!(matches!(name, Name::Short { .. }), len <= 30);
    }
    assert_eq!(Name::new(&[b'n'; NAME_MAX + 1]), Err(Errno::ENAMETOOLONG));
    // Names on either side of the inline size make, find and remove files.
    let mut v = vfs();
    for len in [30, 31, NAME_MAX] {
        let path = format!("/{}", "x".repeat(len));
        write_file(&mut v, ROOT, &path, b"data");
        assert_eq!(read_file(&mut v, ROOT, &path).unwrap(), b"data");
        v.unlink(ROOT, path.as_bytes()).unwrap();
        assert_eq!(read_file(&mut v, ROOT, &path), Err(Errno::ENOENT));
    }
}
