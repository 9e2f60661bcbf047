//! The host tool as the Makefile runs it: `rootfs/initramfs.list` (the
//! real one) builds into an archive that holds the `rootfs/etc` files
//! byte for byte and the mount points with their modes; two builds give
//! the same bytes; `-t` lists it; a bad list fails naming its line and
//! leaves no output behind. Also checks the `rootfs/etc` files are what
//! their readers expect (fstab's mounts, passwd's users, rc's syntax).

use cpio::{Archive, Entry, FileType};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The top of the repository: list locations are relative to it.
fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn out_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mkinitramfs-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

fn mkinitramfs(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mkinitramfs"))
        .args(args)
        .current_dir(repo())
        .env_remove("SOURCE_DATE_EPOCH")
        .output()
        .unwrap()
}

fn build_rootfs(out: &Path) -> Vec<u8> {
    let done = mkinitramfs(&["-o", out.to_str().unwrap(), "rootfs/initramfs.list"]);
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    fs::read(out).unwrap()
}

fn find<'a>(entries: &'a [Entry<'a>], name: &str) -> &'a Entry<'a> {
    entries
        .iter()
        .find(|e| e.name == name)
        .unwrap_or_else(|| panic!("no {name} in the initramfs"))
}

#[test]
fn the_rootfs_list_builds_the_tree_the_system_expects() {
    let dir = out_dir("rootfs");
    let bytes = build_rootfs(&dir.join("initramfs.cpio"));
    let entries: Vec<Entry<'_>> = Archive::new(&bytes).entries().map(Result::unwrap).collect();
    for file in ["motd", "fstab", "passwd", "group", "rc"] {
        let entry = find(&entries, &format!("etc/{file}"));
        let want = fs::read(repo().join("rootfs/etc").join(file)).unwrap();
        assert_eq!(entry.data, want, "/etc/{file}");
        assert_eq!(entry.file_type, FileType::Regular);
    }
    assert_eq!(find(&entries, "etc/rc").perm, 0o755);
    for (name, perm) in [
        (".", 0o755),
        ("bin", 0o755),
        ("sbin", 0o755),
        ("dev", 0o755),
        ("proc", 0o555),
        ("sys", 0o555),
        ("mnt", 0o755),
        ("tmp", 0o1777),
        ("root", 0o700),
        ("usr/share/doc", 0o755),
    ] {
        let entry = find(&entries, name);
        assert_eq!(
            (entry.file_type, entry.perm),
            (FileType::Directory, perm),
            "/{name}"
        );
    }
    let console = find(&entries, "dev/console");
    assert_eq!(console.file_type, FileType::CharDevice);
    assert_eq!((console.rdev_major, console.rdev_minor), (5, 1));
    assert_eq!(
        (
            find(&entries, "home/user").uid,
            find(&entries, "home/user").gid
        ),
        (1000, 1000)
    );
    assert!(
        entries.iter().all(|e| e.mtime == 0),
        "mtime 0 without SOURCE_DATE_EPOCH"
    );
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn two_builds_give_the_same_bytes_and_t_lists_them() {
    let dir = out_dir("twice");
    let first = build_rootfs(&dir.join("a.cpio"));
    let second = build_rootfs(&dir.join("b.cpio"));
    assert!(first == second, "two builds differ");
    let listed = mkinitramfs(&["-t", dir.join("a.cpio").to_str().unwrap()]);
    assert!(listed.status.success());
    let text = String::from_utf8(listed.stdout).unwrap();
    assert!(
        text.lines()
            .any(|l| l.starts_with("drwxrwxrwt") && l.ends_with(" tmp")),
        "{text}"
    );
    assert!(text
        .lines()
        .any(|l| l.starts_with("crw-------") && l.ends_with(" 5, 1 dev/console")));
    let count = Archive::new(&first).check().unwrap();
    assert_eq!(text.lines().count(), count);
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn the_mtime_is_chosen_by_flag_or_source_date_epoch() {
    let dir = out_dir("mtime");
    let list = dir.join("list");
    fs::write(&list, "dir /x 0755 0 0\n").unwrap();
    let out = dir.join("out.cpio");
    let (list, out_s) = (list.to_str().unwrap(), out.to_str().unwrap());
    let mtime_of = |out: &Path| {
        let bytes = fs::read(out).unwrap();
        let entry = Archive::new(&bytes).entries().next().unwrap().unwrap();
        entry.mtime
    };
    assert!(mkinitramfs(&["--mtime", "1234", "-o", out_s, list])
        .status
        .success());
    assert_eq!(mtime_of(&out), 1234);
    let done = Command::new(env!("CARGO_BIN_EXE_mkinitramfs"))
        .args(["--crc", "-o", out_s, list])
        .env("SOURCE_DATE_EPOCH", "99")
        .output()
        .unwrap();
    assert!(done.status.success());
    assert_eq!(mtime_of(&out), 99);
    assert_eq!(&fs::read(&out).unwrap()[..6], b"070702");
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn a_bad_list_names_its_line_and_writes_nothing() {
    let dir = out_dir("bad");
    let out = dir.join("out.cpio");
    let out_s = out.to_str().unwrap();
    let cases = [
        (
            "dir /a 0755 0 0\nfrob /b\n",
            "line 2: unknown entry type \"frob\"",
        ),
        (
            "dir /a 0755 0 0\nfile /a/x /no/such/file 0644 0 0\n",
            "line 2: cannot read /no/such/file",
        ),
        (
            "file /a/x rootfs/etc/motd 0644 0 0\n",
            "line 1: the directory holding a/x",
        ),
        ("dir /../x 0755 0 0\n", "line 1: bad name"),
        (
            "dir /a 0755 0 0\ndir /a/ 0700 0 0\n",
            "line 2: a is listed twice",
        ),
    ];
    for (text, want) in cases {
        let list = dir.join("list");
        fs::write(&list, text).unwrap();
        let done = mkinitramfs(&["-o", out_s, list.to_str().unwrap()]);
        let stderr = String::from_utf8_lossy(&done.stderr);
        assert!(
            !done.status.success() && stderr.contains(want),
            "{text:?}: {stderr}"
        );
        assert!(!out.exists() && !dir.join("out.cpio.partial").exists());
    }
    let no_out = [dir.to_str().unwrap()];
    for args in [
        &["-o", out_s][..],
        &no_out,
        &["--mtime", "x", "-o", out_s, "l"],
        &["-t"],
    ] {
        let done = mkinitramfs(args);
        assert!(!done.status.success());
        assert!(
            String::from_utf8_lossy(&done.stderr).contains("usage"),
            "{args:?}"
        );
    }
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn the_etc_files_say_what_their_readers_expect() {
    let etc = repo().join("rootfs/etc");
    let fstab = fs::read_to_string(etc.join("fstab")).unwrap();
    let mounts: Vec<Vec<&str>> = fstab
        .lines()
        .filter(|l| !l.trim_start().starts_with('#') && !l.trim().is_empty())
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert!(
        mounts.iter().all(|m| m.len() == 6),
        "fstab(5) has six fields"
    );
    let points: Vec<(&str, &str, &str)> = mounts.iter().map(|m| (m[0], m[1], m[2])).collect();
    assert_eq!(
        points,
        [
            ("proc", "/proc", "proc"),
            ("sysfs", "/sys", "sysfs"),
            ("devfs", "/dev", "devfs"),
            ("/dev/vda", "/mnt", "ext2")
        ]
    );
    for (file, fields, names) in [
        ("passwd", 7, ["root", "user"]),
        ("group", 4, ["root", "user"]),
    ] {
        let text = fs::read_to_string(etc.join(file)).unwrap();
        let rows: Vec<Vec<&str>> = text.lines().map(|l| l.split(':').collect()).collect();
        assert!(rows.iter().all(|r| r.len() == fields), "{file}");
        assert_eq!(
            rows.iter().map(|r| r[0]).collect::<Vec<_>>(),
            names,
            "{file}"
        );
        assert_eq!((rows[0][2], rows[1][2]), ("0", "1000"), "{file}'s ids");
    }
    // rc is a shell script; the host's sh checks its syntax when there is one.
    let rc = etc.join("rc");
    match Command::new("sh").arg("-n").arg(&rc).status() {
        Ok(status) => assert!(status.success(), "sh -n rootfs/etc/rc"),
        Err(_) => eprintln!("note: no sh on this host: rootfs/etc/rc not syntax-checked"),
    }
}
