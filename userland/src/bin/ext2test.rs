//! ext2 on the virtio disk, from a client's side (posix entry, after
//! fstest): vfs mounted the harness's fresh ext2 image (`/dev/vda`) on
//! `/mnt` from `/etc/fstab` at start. The test reads what `mke2fs -d` put
//! there, then creates, writes (through single and double indirect
//! blocks), renames, links and deletes files and directories; checks
//! `statfs`, timestamps from the clock, `EBUSY` on a busy unmount,
//! `umount` and a read-only remount (`EROFS`), `ENAMETOOLONG`, `ENOSPC`
//! on a full disk with nothing lost, a refused mount of a device without
//! ext2 (`ram0`), and the tools (`mount`, `umount`, `sync`, `df`) with
//! good and bad arguments. It leaves [`WRITTEN`] holding [`CONTENT`] and
//! `sync`s: after QEMU exits, the harness runs the host's `e2fsck -fn` on
//! the image and reads that file back with `debugfs`. Exits with
//! `passed << 16 | failed`. The flusher is checked first: a file
//! written without `sync` must appear on the raw disk (read through the
//! block server) within seconds.
//!
//! Last, the partitions of the harness's second disk (`vdb`, an MBR with
//! two primary partitions and a logical one; tests/src/partdisk.rs):
//! their `/dev` nodes, made from devmgr's uevents, with Linux's numbers;
//! `/sys/class/block` and `/sys/block/vdb/vdb1`; reads at partition
//! offsets; a read past a partition's end refused; `mount /dev/vdb1`
//! (ext2); `lsblk`'s tree; and a re-read of a changed table (`Reread`,
//! Linux's `BLKRRPART`) whose dropped partition's node goes away.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;

use alloc::string::String;
use alloc::vec::Vec;
use libsys::errno::Errno;
use libsys::posix::{self, FileAction, Pgroup, WaitStatus};
use userland::Tally;

libsys::entry!(main);

/// What the harness's image holds in `/README` (tests/src/main.rs).
const README: &[u8] = b"ext2 disk of the posix suite\n";
/// The file the harness reads back with debugfs after the run.
const WRITTEN: &str = "/mnt/guest/kept/written.txt";
/// Its content (tests/src/main.rs checks the same bytes).
const CONTENT: &[u8] = b"written by ext2test in the guest, renamed, synced\n";
const EXT2_SUPER_MAGIC: u64 = 0xEF53;
const MS_RDONLY: u64 = 1;
const O_WRONLY: u32 = 1;
const O_CREAT: u32 = 0o100;
const O_TRUNC: u32 = 0o1000;
const O_APPEND: u32 = 0o2000;

/// Bytes `seed`-patterned.
fn pattern(seed: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| {
            (i as u8)
                .wrapping_mul(7)
                .wrapping_add(seed ^ (i >> 12) as u8)
        })
        .collect()
}

fn write_file(path: &str, data: &[u8]) -> Result<(), Errno> {
    let fd = posix::open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)?;
    let mut done = 0;
    while done < data.len() {
        match posix::write(fd, &data[done..]) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(e) => {
                let _ = posix::close(fd);
                return Err(e);
            }
        }
    }
    posix::close(fd)
}

fn read_file(path: &str) -> Result<Vec<u8>, Errno> {
    let fd = posix::open(path, posix::O_RDONLY, 0)?;
    let data = posix::read_to_end(fd, 4 << 20);
    posix::close(fd)?;
    data
}

/// Runs `path argv…` with its output on a pipe: (output, how it ended).
fn run(path: &str, argv: &[&str]) -> Result<(String, WaitStatus), Errno> {
    let (r, w) = posix::pipe2(posix::O_CLOEXEC)?;
    let actions = [
        FileAction::Dup2 { from: w, to: 1 },
        FileAction::Dup2 { from: w, to: 2 },
        FileAction::Close { fd: w },
        FileAction::Close { fd: r },
    ];
    let spawned = posix::spawn(path, argv, &["PATH=/bin"], &actions, Pgroup::Inherit);
    let _ = posix::close(w);
    let pid = match spawned {
        Ok(pid) => pid,
        Err(e) => {
            let _ = posix::close(r);
            return Err(e);
        }
    };
    let output = posix::read_to_end(r, 64 * 1024);
    let _ = posix::close(r);
    let (_, status) = posix::waitpid(pid as i64, 0)?.ok_or(Errno::ECHILD)?;
    Ok((
        String::from_utf8_lossy(&output?).into_owned(),
        WaitStatus::decode(status),
    ))
}

/// `tool argv…` exits with `code` and its output contains `want`.
fn tool(t: &mut Tally, argv: &[&str], code: i32, want: &str) {
    let path = alloc::format!("/bin/{}", argv[0]);
    let name = alloc::format!("{argv:?} exits {code}, prints {want:?}");
    match run(&path, argv) {
        Ok((out, status)) => t.expect_eq(
            &name,
            (status, out.contains(want)),
            (WaitStatus::Exited(code), true),
        ),
        Err(e) => t.record(&name, Err(e)),
    }
}

fn main(_: &str) -> u64 {
    let mut t = Tally::new();
    // Descriptors 0-2 on /dev/null first (see shtest).
    for want in 0..3 {
        let got = posix::open("/dev/null", posix::O_RDWR, 0);
        t.expect_eq(&alloc::format!("fd {want} on /dev/null"), got, Ok(want));
    }
    let table = posix::mounts().unwrap_or_default();
    t.expect_eq(
        "/etc/fstab mounted /dev/vda on /mnt at start",
        table.contains("/dev/vda /mnt ext2 rw"),
        true,
    );
    if !table.contains("/mnt ext2") {
        libsys::println!("ext2test: no ext2 on /mnt; mount table:\n{table}");
        return t.status();
    }
    reads(&mut t);
    flusher(&mut t);
    writes(&mut t);
    errors(&mut t);
    full_disk(&mut t);
    remounts(&mut t);
    tools(&mut t);
    partitions(&mut t);
    // What the harness checks after the run.
    t.expect_eq(
        "the kept file is there",
        read_file(WRITTEN),
        Ok(CONTENT.to_vec()),
    );
    t.expect_eq("sync", posix::sync(), Ok(()));
    t.status()
}

/// What mke2fs -d put on the image.
fn reads(t: &mut Tally) {
    t.expect_eq(
        "read /mnt/README",
        read_file("/mnt/README"),
        Ok(README.to_vec()),
    );
    let s = posix::statfs("/mnt");
    t.expect_eq(
        "statfs /mnt: ext2, 1 KiB blocks",
        s.map(|s| (s.fs_type, s.bsize)),
        Ok((EXT2_SUPER_MAGIC, 1024)),
    );
    let names: Vec<String> = match posix::read_dir("/mnt") {
        Ok(dir) => dir.filter_map(Result::ok).map(|e| e.name).collect(),
        Err(_) => Vec::new(),
    };
    t.expect_eq(
        "ls /mnt: README and lost+found",
        (
            names.iter().any(|n| n == "README"),
            names.iter().any(|n| n == "lost+found"),
        ),
        (true, true),
    );
}

/// The flusher (manifest.posix: every second, data dirty for a second):
/// a file written without `sync` or `fsync` reaches the disk by itself —
/// found by reading the raw disk through the block server.
fn flusher(t: &mut Tally) {
    let marker: Vec<u8> = b"flusher-marker:written-back-without-sync;"
        .iter()
        .cycle()
        .take(1024)
        .copied()
        .collect();
    t.expect_eq(
        "write a file, no sync",
        write_file("/mnt/flushed", &marker),
        Ok(()),
    );
    let Ok(blk) = libsys::proto::blk::Client::connect() else {
        return t.record("the block server", Err("not found"));
    };
    let sectors = blk.info("vda").map(|i| i.sectors).unwrap_or(0);
    let mut buf = alloc::vec![0u8; 64 * 1024];
    let mut found = false;
    // Up to 10 s; the flusher needs about 2.
    for _ in 0..20 {
        libsys::time::sleep_ms(500);
        let mut sector = 0;
        while sector < sectors && !found {
            if blk.read("vda", sector, &mut buf).is_err() {
                break;
            }
            // Its one 1 KiB block sits at a multiple of 1 KiB.
            found = buf.chunks(1024).any(|c| c == &marker[..]);
            sector += (buf.len() / 512) as u64;
        }
        if found {
            break;
        }
    }
    t.expect_eq("the flusher wrote it to the disk", found, true);
    t.expect_eq("unlink it", posix::unlink("/mnt/flushed"), Ok(()));
}

/// Files and directories made, written, renamed, linked and removed.
fn writes(t: &mut Tally) {
    let before = posix::statfs("/mnt").map(|s| s.bfree).unwrap_or(0);
    t.expect_eq(
        "mkdir /mnt/guest",
        posix::mkdir("/mnt/guest", 0o755),
        Ok(()),
    );
    t.expect_eq(
        "mkdir /mnt/guest/kept",
        posix::mkdir("/mnt/guest/kept", 0o755),
        Ok(()),
    );
    t.expect_eq(
        "write draft.txt",
        write_file("/mnt/guest/draft.txt", CONTENT),
        Ok(()),
    );
    t.expect_eq(
        "rename into kept/written.txt",
        posix::rename("/mnt/guest/draft.txt", WRITTEN),
        Ok(()),
    );
    t.expect_eq(
        "the old name is gone",
        posix::stat("/mnt/guest/draft.txt").err(),
        Some(Errno::ENOENT),
    );
    let st = posix::stat(WRITTEN);
    t.expect_eq(
        "stat: its size, and an mtime from the clock (after 2020)",
        st.map(|s| (s.size, s.mtime.0 > 1_577_836_800)),
        Ok((CONTENT.len() as i64, true)),
    );
    // 300 KiB: past the 12 direct blocks and the single indirect block's
    // 256 (1 KiB blocks) into the double indirect one.
    let big = pattern(3, 300 * 1024);
    t.expect_eq(
        "write a 300 KiB file",
        write_file("/mnt/guest/big", &big),
        Ok(()),
    );
    t.expect_eq(
        "read it back",
        read_file("/mnt/guest/big").map(|d| d == big),
        Ok(true),
    );
    let fd = posix::open("/mnt/guest/big", posix::O_RDONLY, 0);
    t.expect_eq(
        "fsync",
        fd.and_then(|fd| posix::fsync(fd).and(posix::close(fd))),
        Ok(()),
    );
    let after = posix::statfs("/mnt").map(|s| s.bfree).unwrap_or(0);
    t.expect_eq(
        "statfs: at least 300 blocks fewer free",
        before >= after + 300,
        true,
    );
    let fd = posix::open("/mnt/guest/log", O_WRONLY | O_CREAT | O_APPEND, 0o644);
    if let Ok(fd) = fd {
        for line in [&b"one\n"[..], b"two\n"] {
            let _ = posix::write(fd, line);
        }
        let _ = posix::close(fd);
    }
    t.expect_eq(
        "appended",
        read_file("/mnt/guest/log"),
        Ok(b"one\ntwo\n".to_vec()),
    );
    t.expect_eq("unlink log", posix::unlink("/mnt/guest/log"), Ok(()));
    t.expect_eq(
        "mkdir d/e",
        posix::mkdir("/mnt/guest/d", 0o700).and(posix::mkdir("/mnt/guest/d/e", 0o700)),
        Ok(()),
    );
    t.expect_eq(
        "rmdir of a non-empty dir",
        posix::rmdir("/mnt/guest/d"),
        Err(Errno::ENOTEMPTY),
    );
    t.expect_eq(
        "rmdir d/e, d",
        posix::rmdir("/mnt/guest/d/e").and(posix::rmdir("/mnt/guest/d")),
        Ok(()),
    );
    t.expect_eq("unlink big", posix::unlink("/mnt/guest/big"), Ok(()));
    t.expect_eq("sync", posix::sync(), Ok(()));
    let back = posix::statfs("/mnt").map(|s| s.bfree).unwrap_or(0);
    t.expect_eq("the blocks came back", back + 4 >= before, true);
}

/// Errnos of the bad cases.
fn errors(t: &mut Tally) {
    let long = alloc::format!("/mnt/guest/{}", "x".repeat(256));
    t.expect_eq(
        "a 256-byte name: ENAMETOOLONG",
        posix::open(&long, O_WRONLY | O_CREAT, 0o644).err(),
        Some(Errno::ENAMETOOLONG),
    );
    t.expect_eq(
        "rename across mounts: EXDEV",
        posix::rename(WRITTEN, "/tmp/x").err(),
        Some(Errno::EXDEV),
    );
    let fd = posix::open("/mnt/README", posix::O_RDONLY, 0);
    t.expect_eq(
        "umount with a file open: EBUSY",
        posix::umount("/mnt").err(),
        Some(Errno::EBUSY),
    );
    if let Ok(fd) = fd {
        let _ = posix::close(fd);
    }
    t.expect_eq(
        "mount of ram0 (no ext2 on it): refused",
        posix::mount("/dev/ram0", "/tmp", "ext2", 0).is_err(),
        true,
    );
    t.expect_eq(
        "mount of a missing device: ENXIO",
        posix::mount("/dev/vdz", "/tmp", "ext2", 0).err(),
        Some(Errno::ENXIO),
    );
    t.expect_eq(
        "a second mount of the mounted disk: EBUSY",
        posix::mount("/dev/vda", "/tmp", "ext2", 0).err(),
        Some(Errno::EBUSY),
    );
    t.expect_eq(
        "mount of an unknown type: ENODEV",
        posix::mount("/dev/vda", "/tmp", "nofs", 0).err(),
        Some(Errno::ENODEV),
    );
    t.expect_eq(
        "reading a block node through vfs: ENXIO",
        posix::open("/dev/vda", posix::O_RDONLY, 0).and_then(|fd| {
            let mut b = [0u8; 16];
            let r = posix::read(fd, &mut b);
            let _ = posix::close(fd);
            r
        }),
        Err(Errno::ENXIO),
    );
}

/// A full disk: `ENOSPC` from `write` itself, what was written kept.
fn full_disk(t: &mut Tally) {
    let chunk = pattern(9, 60 * 1024);
    let fd = match posix::open("/mnt/guest/fill", O_WRONLY | O_CREAT, 0o644) {
        Ok(fd) => fd,
        Err(e) => return t.record("open fill", Err(e)),
    };
    let mut written = 0usize;
    let err = loop {
        match posix::write(fd, &chunk) {
            Ok(n) => written += n,
            Err(e) => break Some(e),
        }
        if written > 64 << 20 {
            break None;
        }
    };
    t.expect_eq(
        "filling the disk ends with ENOSPC",
        err,
        Some(Errno::ENOSPC),
    );
    t.expect_eq("fsync after ENOSPC", posix::fsync(fd), Ok(()));
    let _ = posix::close(fd);
    let back = read_file("/mnt/guest/fill").unwrap_or_default();
    let intact = back.len() == written && back.chunks(chunk.len()).all(|c| c == &chunk[..c.len()]);
    t.expect_eq("every byte written reads back", intact, true);
    t.expect_eq("unlink fill", posix::unlink("/mnt/guest/fill"), Ok(()));
    t.expect_eq("sync", posix::sync(), Ok(()));
}

/// umount, a read-only mount, and back.
fn remounts(t: &mut Tally) {
    t.expect_eq("umount /mnt", posix::umount("/mnt"), Ok(()));
    t.expect_eq(
        "/mnt is empty tmpfs again",
        posix::stat("/mnt/README").err(),
        Some(Errno::ENOENT),
    );
    t.expect_eq(
        "mount -r",
        posix::mount("/dev/vda", "/mnt", "ext2", MS_RDONLY),
        Ok(()),
    );
    t.expect_eq(
        "read-only: the file reads",
        read_file(WRITTEN),
        Ok(CONTENT.to_vec()),
    );
    t.expect_eq(
        "read-only: create is EROFS",
        posix::open("/mnt/new", O_WRONLY | O_CREAT, 0o644).err(),
        Some(Errno::EROFS),
    );
    t.expect_eq(
        "read-only: mkdir is EROFS",
        posix::mkdir("/mnt/d", 0o755).err(),
        Some(Errno::EROFS),
    );
    t.expect_eq(
        "the table says ro",
        posix::mounts().map(|m| m.contains("/dev/vda /mnt ext2 ro")),
        Ok(true),
    );
    t.expect_eq("umount", posix::umount("/mnt"), Ok(()));
    t.expect_eq(
        "mount rw again",
        posix::mount("/dev/vda", "/mnt", "ext2", 0),
        Ok(()),
    );
}

/// The tools, good and bad.
fn tools(t: &mut Tally) {
    tool(t, &["mount"], 0, "/dev/vda /mnt ext2 rw");
    tool(t, &["mount", "-t"], 1, "usage");
    tool(
        t,
        &["mount", "-t", "ext2", "/dev/vdz", "/tmp"],
        1,
        "mount: /dev/vdz",
    );
    tool(t, &["umount"], 1, "usage");
    tool(t, &["umount", "/tmp"], 1, "umount: /tmp");
    tool(t, &["sync"], 0, "");
    tool(t, &["sync", "extra"], 1, "usage");
    tool(t, &["df", "/mnt"], 0, "/dev/vda");
    tool(t, &["df", "-x"], 1, "usage");
    tool(t, &["df", "/nope"], 1, "df: /nope");
    // Unmount and mount back through the tools.
    tool(t, &["umount", "/mnt"], 0, "");
    tool(t, &["mount", "-a"], 0, "");
    t.expect_eq(
        "mount -a mounted /etc/fstab's disk again",
        posix::mounts().map(|m| m.contains("/dev/vda /mnt ext2 rw")),
        Ok(true),
    );
}

/// How long the partition checks wait for a node to come or go (vfs
/// applies devmgr's uevents from a thread of its own).
const NODE_WAIT_MS: u64 = 3_000;

/// Whether `/dev/<name>` exists, once `want` holds or the wait is over.
fn node_settles(name: &str, want: bool) -> bool {
    let path = alloc::format!("/dev/{name}");
    let mut waited = 0;
    loop {
        let there = posix::stat(&path).is_ok();
        if there == want || waited >= NODE_WAIT_MS {
            return there;
        }
        libsys::time::sleep_ms(50);
        waited += 50;
    }
}

/// The names in `/sys/class/block`.
fn class_block() -> Vec<String> {
    posix::read_dir("/sys/class/block")
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.name)
                .filter(|n| n != "." && n != "..")
                .collect()
        })
        .unwrap_or_default()
}

/// The partitioned disk `vdb` (tests/src/partdisk.rs): vdb1 ext2 at
/// sector 2048 (2048 sectors), vdb2 at 4096 (1024), vdb3 the extended
/// partition, vdb5 logical at 5248 (1024); each sector of vdb2 and vdb5 starts `<name> sector NNNN`.
fn partitions(t: &mut Tally) {
    use libsys::proto::blk::{BlkError, ClientError};
    let Ok(blk) = libsys::proto::blk::Client::connect() else {
        return t.record("the block server", Err("not found"));
    };
    for (name, numbers) in [
        ("vdb", (254, 16)),
        ("vdb1", (254, 17)),
        ("vdb2", (254, 18)),
        ("vdb3", (254, 19)),
        ("vdb5", (254, 21)),
    ] {
        let got = posix::stat(&alloc::format!("/dev/{name}")).map(|st| {
            (
                st.mode & posix::S_IFMT == posix::S_IFBLK,
                posix::major(st.rdev),
                posix::minor(st.rdev),
            )
        });
        t.expect_eq(
            &alloc::format!("/dev/{name} is block {}:{}", numbers.0, numbers.1),
            got,
            Ok((true, numbers.0, numbers.1)),
        );
    }
    t.expect_eq("no /dev/vdb4", posix::stat("/dev/vdb4").is_err(), true);
    // The extended partition is a device of 2 sectors, as Linux has it.
    t.expect_eq(
        "vdb3 (extended) is 2 sectors",
        blk.info("vdb3").map(|i| i.sectors).ok(),
        Some(2),
    );
    let listed = class_block();
    let want = ["vda", "vdb", "vdb1", "vdb2", "vdb3", "vdb5", "ram0"];
    t.expect_eq(
        "/sys/class/block lists the disks and partitions",
        want.iter().all(|w| listed.iter().any(|n| n == w)),
        true,
    );
    t.expect_eq(
        "/sys/block/vdb/vdb1/dev",
        read_file("/sys/block/vdb/vdb1/dev"),
        Ok(b"254:17\n".to_vec()),
    );
    t.expect_eq(
        "/sys/block lists no partition",
        posix::read_dir("/sys/block")
            .map(|d| d.filter_map(Result::ok).any(|e| e.name == "vdb1"))
            .ok(),
        Some(false),
    );
    let mut sector = [0u8; 512];
    let starts = |dev: &str, at: u64, want: &str, buf: &mut [u8; 512]| {
        blk.read(dev, at, buf)
            .map(|()| buf.starts_with(want.as_bytes()))
    };
    t.expect_eq(
        "vdb2's sector 0 is the disk's 4096",
        starts("vdb2", 0, "vdb2 sector 0000", &mut sector).ok(),
        Some(true),
    );
    t.expect_eq(
        "vdb2's last sector",
        starts("vdb2", 1023, "vdb2 sector 1023", &mut sector).ok(),
        Some(true),
    );
    t.expect_eq(
        "vdb5 (logical) at its offset",
        starts("vdb5", 517, "vdb5 sector 0517", &mut sector).ok(),
        Some(true),
    );
    t.expect_eq(
        "the whole disk at vdb5's start",
        starts("vdb", 5248, "vdb5 sector 0000", &mut sector).ok(),
        Some(true),
    );
    t.expect_eq(
        "a read past vdb2's end is refused",
        blk.read("vdb2", 1024, &mut sector).err(),
        Some(ClientError::Blk(BlkError::OutOfRange)),
    );
    let mut eight = [0u8; 4096];
    t.expect_eq(
        "a read across vdb5's end is refused",
        blk.read("vdb5", 1020, &mut eight).err(),
        Some(ClientError::Blk(BlkError::OutOfRange)),
    );
    t.expect_eq(
        "vdb2's stat counts its reads",
        blk.stat("vdb2").map(|s| s.read_ios >= 2).ok(),
        Some(true),
    );
    // ext2 on the first partition.
    let _ = posix::mkdir("/tmp/vdb1", 0o755);
    t.expect_eq(
        "mount /dev/vdb1 (ext2)",
        posix::mount("/dev/vdb1", "/tmp/vdb1", "ext2", MS_RDONLY),
        Ok(()),
    );
    t.expect_eq(
        "/PART on vdb1",
        read_file("/tmp/vdb1/PART"),
        Ok(b"ext2 on vdb1, the first partition of vdb\n".to_vec()),
    );
    t.expect_eq("umount /tmp/vdb1", posix::umount("/tmp/vdb1"), Ok(()));
    tool(t, &["lsblk"], 0, "├─vdb1   254:17");
    tool(t, &["lsblk"], 0, "└─vdb5   254:21");
    reread(t, &blk);
}

/// A changed table read again: the extended partition's entry cleared,
/// `Reread` finds two partitions and `/dev/vdb3` and `/dev/vdb5` go (its `remove`
/// uevent); the table put back, it comes again.
fn reread(t: &mut Tally, blk: &libsys::proto::blk::Client) {
    let mut mbr = [0u8; 512];
    if let Err(e) = blk.read("vdb", 0, &mut mbr) {
        return t.record("read vdb's MBR", Err(e));
    }
    let mut changed = mbr;
    changed[446 + 32..446 + 48].fill(0);
    t.expect_eq(
        "write a table without the extended partition",
        blk.write("vdb", 0, &changed),
        Ok(()),
    );
    t.expect_eq("Reread: two partitions", blk.reread("vdb"), Ok(2));
    t.expect_eq("/dev/vdb5 goes", node_settles("vdb5", false), false);
    t.expect_eq("/dev/vdb3 goes", node_settles("vdb3", false), false);
    t.expect_eq(
        "vdb5 left /sys/class/block",
        class_block().iter().any(|n| n == "vdb5"),
        false,
    );
    t.expect_eq("vdb1 is still there", node_settles("vdb1", true), true);
    t.expect_eq(
        "vdb5 is no device now",
        blk.info("vdb5").err(),
        Some(libsys::proto::blk::ClientError::Blk(
            libsys::proto::blk::BlkError::NoSuchDevice,
        )),
    );
    t.expect_eq("put the table back", blk.write("vdb", 0, &mbr), Ok(()));
    t.expect_eq("Reread: four partitions", blk.reread("vdb"), Ok(4));
    t.expect_eq("/dev/vdb5 comes back", node_settles("vdb5", true), true);
    t.expect_eq(
        "Reread of a partition is refused",
        blk.reread("vdb1").err(),
        Some(libsys::proto::blk::ClientError::Blk(
            libsys::proto::blk::BlkError::NoSuchDevice,
        )),
    );
}
