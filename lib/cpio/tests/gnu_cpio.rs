//! Our format against Debian's GNU cpio (`make deps` installs it): its
//! `cpio -o -H newc` and `-H crc` output read by our reader agrees with
//! the files it was made from; our archives listed by `cpio -t -v` show
//! our names, modes, link counts and sizes; `cpio -i` unpacks them into
//! the same files (and finds our `070702` checksums right, and a broken
//! one wrong). Without the `cpio` binary each test prints a note and
//! passes, as it cannot compare.

use cpio::header::ls_mode;
use cpio::{Archive, Entry, ErrorKind, FileType, Format, Meta, Node, Writer};
use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn have_cpio() -> bool {
    let found = Command::new("cpio")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        eprintln!(
            "note: GNU cpio is not installed (scripts/deps.sh installs it): comparison skipped"
        );
    }
    found
}

/// A fresh directory for one test, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let path = std::env::temp_dir().join(format!("cpio-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Runs `cpio args` in `dir` with `input` on its standard input; its
/// standard output and error.
fn cpio(dir: &Path, args: &[&str], input: &[u8]) -> (bool, Vec<u8>, String) {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(format!("umask 0; exec cpio {}", args.join(" ")))
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run cpio");
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let feeder = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let out = child.wait_with_output().unwrap();
    feeder.join().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out.status.success(), out.stdout, stderr)
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

/// A tree with every kind of file `find | cpio -o` can take unprivileged.
fn make_tree(root: &Path) {
    let d = root.join("d");
    fs::create_dir(&d).unwrap();
    fs::write(d.join("empty"), b"").unwrap();
    fs::write(d.join("small"), b"abc").unwrap();
    fs::write(d.join("big"), pattern(70_001)).unwrap();
    fs::write(d.join("setuid"), b"\x7fELF").unwrap();
    fs::set_permissions(d.join("setuid"), fs::Permissions::from_mode(0o4755)).unwrap();
    fs::create_dir(root.join("sticky")).unwrap();
    fs::set_permissions(root.join("sticky"), fs::Permissions::from_mode(0o1777)).unwrap();
    std::os::unix::fs::symlink("small", d.join("link")).unwrap();
    fs::write(root.join("h1"), b"shared by three names").unwrap();
    fs::hard_link(root.join("h1"), root.join("h2")).unwrap();
    fs::hard_link(root.join("h1"), d.join("h3")).unwrap();
    let made = Command::new("mkfifo").arg(root.join("fifo")).status();
    assert!(made.is_ok_and(|s| s.success()), "mkfifo");
}

fn check_gnu_archive(src: &Path, format: &str) {
    let find = Command::new("sh")
        .arg("-c")
        .arg(format!("find . | cpio -o -H {format} --quiet"))
        .current_dir(src)
        .output()
        .unwrap();
    assert!(
        find.status.success(),
        "{}",
        String::from_utf8_lossy(&find.stderr)
    );
    let archive = find.stdout;
    assert_eq!(
        &archive[..6],
        if format == "crc" {
            b"070702"
        } else {
            b"070701"
        }
    );
    let entries: Vec<Entry<'_>> = Archive::new(&archive)
        .entries()
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("GNU cpio -H {format}: {e}"));
    assert_eq!(entries.len(), 12, "., d and its 6, sticky, h1, h2, fifo");
    let mut shared: Vec<&Entry<'_>> = Vec::new();
    for entry in &entries {
        let path = src.join(&*entry.name);
        let meta = fs::symlink_metadata(&path).unwrap();
        let name = &entry.name;
        assert_eq!(entry.mode(), meta.mode(), "{name}");
        assert_eq!((entry.uid, entry.gid), (meta.uid(), meta.gid()), "{name}");
        assert_eq!(entry.nlink as u64, meta.nlink(), "{name}");
        assert_eq!(entry.mtime as i64, meta.mtime(), "{name}");
        match entry.file_type {
            FileType::Regular if meta.nlink() > 1 => shared.push(entry),
            FileType::Regular => assert_eq!(entry.data, fs::read(&path).unwrap(), "{name}"),
            FileType::Symlink => {
                let target = fs::read_link(&path).unwrap();
                assert_eq!(entry.symlink_target(), target.to_str(), "{name}");
            }
            _ => assert!(entry.data.is_empty()),
        }
    }
    // The three names of one inode: the first is the inode, the others
    // link to it, and one of them (GNU: the last) carries the data.
    assert_eq!(shared.len(), 3);
    assert!(shared[0].link.is_none());
    assert!(shared[1..]
        .iter()
        .all(|e| e.link == Some(shared[0].name.clone())));
    let with_data: Vec<_> = shared.iter().filter(|e| !e.data.is_empty()).collect();
    assert_eq!(with_data.len(), 1);
    assert_eq!(with_data[0].data, b"shared by three names");
}

#[test]
fn gnu_cpio_output_reads_as_the_files_it_was_made_from() {
    if !have_cpio() {
        return;
    }
    let tmp = TempDir::new("gnu-out");
    make_tree(&tmp.0);
    check_gnu_archive(&tmp.0, "newc");
    check_gnu_archive(&tmp.0, "crc");
}

const DIR: Meta = Meta {
    perm: 0o755,
    uid: 0,
    gid: 0,
};

/// An archive of ours; `devices` adds nodes only root may unpack.
fn our_archive(format: Format, devices: bool) -> Vec<u8> {
    let mut w = Writer::new(format).with_mtime(86_400 * 365);
    w.add(".", Node::Directory, DIR).unwrap();
    w.add("bin", Node::Directory, DIR).unwrap();
    w.add("bin/prog", Node::File(&pattern(5000)), DIR).unwrap();
    let user = Meta {
        perm: 0o4750,
        uid: 1000,
        gid: 100,
    };
    w.add("bin/su", Node::File(b"su"), user).unwrap();
    w.add("bin/sh", Node::Symlink("prog"), Meta { perm: 0o777, ..DIR })
        .unwrap();
    w.add_hard_links(&["bin/a", "bin/b"], b"two names", DIR)
        .unwrap();
    w.add(
        "tmp",
        Node::Directory,
        Meta {
            perm: 0o1777,
            ..DIR
        },
    )
    .unwrap();
    w.add("etc", Node::Directory, DIR).unwrap();
    w.add("etc/empty", Node::File(b""), Meta { perm: 0o644, ..DIR })
        .unwrap();
    w.add("etc/fifo", Node::Fifo, Meta { perm: 0o600, ..DIR })
        .unwrap();
    if devices {
        w.add("dev", Node::Directory, DIR).unwrap();
        let tty = Meta {
            perm: 0o620,
            uid: 0,
            gid: 5,
        };
        w.add("dev/console", Node::CharDevice { major: 5, minor: 1 }, tty)
            .unwrap();
        w.add(
            "dev/vda",
            Node::BlockDevice {
                major: 254,
                minor: 0,
            },
            tty,
        )
        .unwrap();
    }
    w.finish()
}

#[test]
fn cpio_t_lists_our_names_modes_and_sizes() {
    if !have_cpio() {
        return;
    }
    let tmp = TempDir::new("gnu-t");
    for format in [Format::Newc, Format::Crc] {
        let archive = our_archive(format, true);
        let (ok, out, err) = cpio(&tmp.0, &["-t", "-v", "-n", "--quiet"], &archive);
        assert!(ok && err.is_empty(), "cpio -t: {err}");
        let out = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = out.lines().collect();
        let entries: Vec<Entry<'_>> = Archive::new(&archive)
            .entries()
            .map(Result::unwrap)
            .collect();
        assert_eq!(lines.len(), entries.len(), "{out}");
        for (line, entry) in lines.iter().zip(&entries) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            assert_eq!(fields[0], ls_mode(entry.file_type, entry.perm), "{line}");
            assert_eq!(fields[1], entry.nlink.to_string(), "{line}");
            assert_eq!(
                fields[2..4],
                [entry.uid.to_string(), entry.gid.to_string()],
                "{line}"
            );
            let device = matches!(
                entry.file_type,
                FileType::CharDevice | FileType::BlockDevice
            );
            let (size, rest) = if device {
                let rdev = format!("{}, {}", entry.rdev_major, entry.rdev_minor);
                (
                    format!("{}, {}", fields[4].trim_end_matches(','), fields[5]),
                    (rdev, 9),
                )
            } else {
                (fields[4].to_string(), (entry.data.len().to_string(), 8))
            };
            assert_eq!(size, rest.0, "{line}");
            // Three fields of date, then the name (and ` -> target`).
            let name = fields[rest.1..].join(" ");
            let want = match entry.symlink_target() {
                Some(target) => format!("{} -> {target}", entry.name),
                None => entry.name.to_string(),
            };
            assert_eq!(name, want, "{line}");
        }
    }
}

#[test]
fn cpio_i_unpacks_ours_into_the_same_files() {
    if !have_cpio() {
        return;
    }
    for format in [Format::Newc, Format::Crc] {
        let tmp = TempDir::new(&format!("gnu-i-{format:?}"));
        let archive = our_archive(format, false);
        let args = ["-i", "-d", "-m", "--no-absolute-filenames", "--quiet"];
        let (ok, _, err) = cpio(&tmp.0, &args, &archive);
        assert!(ok && err.is_empty(), "cpio -i: {err}");
        let mut inodes: HashMap<String, u64> = HashMap::new();
        for entry in Archive::new(&archive).entries().map(Result::unwrap) {
            let path = tmp.0.join(&*entry.name);
            let meta = fs::symlink_metadata(&path).unwrap();
            let name = &entry.name;
            assert_eq!(meta.mode(), entry.mode(), "{name}");
            inodes.insert(name.to_string(), meta.ino());
            match entry.file_type {
                FileType::Regular if entry.link.is_none() && entry.nlink == 1 => {
                    assert_eq!(fs::read(&path).unwrap(), entry.data, "{name}");
                    assert_eq!(meta.mtime(), entry.mtime as i64, "{name}");
                }
                FileType::Symlink => {
                    assert_eq!(
                        fs::read_link(&path).unwrap().to_str(),
                        entry.symlink_target()
                    );
                }
                _ => {}
            }
        }
        assert_eq!(
            inodes["bin/a"], inodes["bin/b"],
            "hard links share an inode"
        );
        assert_eq!(fs::read(tmp.0.join("bin/a")).unwrap(), b"two names");
    }
}

#[test]
fn a_bad_checksum_is_bad_for_both_readers() {
    if !have_cpio() {
        return;
    }
    let tmp = TempDir::new("gnu-crc");
    let mut archive = our_archive(Format::Crc, false);
    let prog = Archive::new(&archive)
        .entries()
        .map(Result::unwrap)
        .find(|e| e.name == "bin/prog")
        .unwrap();
    let at = prog.data.as_ptr() as usize - archive.as_ptr() as usize + 10;
    let offset = prog.offset;
    archive[at] ^= 0x40;
    let err = Archive::new(&archive).check().unwrap_err();
    assert_eq!(err.offset, offset);
    assert!(matches!(err.kind, ErrorKind::BadChecksum { .. }), "{err}");
    let (_, _, stderr) = cpio(&tmp.0, &["-i", "-d", "--no-absolute-filenames"], &archive);
    assert!(stderr.contains("checksum error"), "GNU cpio said: {stderr}");
}
