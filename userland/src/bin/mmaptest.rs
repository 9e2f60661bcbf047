//! File-backed mappings from a client's side (posix entry, after
//! ext2test; `docs/architecture.md`, "File mappings"): `mmap` of a file on
//! the ext2 disk (`/mnt`) and on tmpfs, `MAP_PRIVATE` (its writes stay
//! private) and `MAP_SHARED` (its writes are the file's at once, for
//! `read` and for another process that maps the file itself), `msync` to
//! the disk, `write` seen through a mapping, a partial `munmap`, a
//! truncated file touched past its end (the child is killed by `SIGBUS`,
//! as on Linux), and
//! bad arguments (typed errors). It leaves [`MAPPED`] holding
//! [`MAPPED_CONTENT`], written only through a shared mapping and
//! `msync`ed: after QEMU exits the harness reads it back with `debugfs`.
//! Exits with `passed << 16 | failed`.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;

use alloc::vec::Vec;
use libsys::errno::Errno;
use libsys::posix::{
    self, Mapping, WaitStatus, MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, MAP_SHARED, MS_SYNC, O_CREAT,
    O_RDONLY, O_RDWR, O_TRUNC, PROT_READ, PROT_WRITE,
};
use libsys::proto::vfs;
use userland::Tally;

libsys::entry!(main);

const PAGE: u64 = 4096;
const RW: u32 = PROT_READ | PROT_WRITE;
/// The file the harness reads back (tests/src/main.rs checks the same
/// bytes at `/mmap/mapped.txt` on the image).
const MAPPED: &str = "/mnt/mmap/mapped.txt";
const MAPPED_CONTENT: &[u8] = b"written through MAP_SHARED by mmaptest, msynced\n";
const DATA: &str = "/mnt/mmap/data";
const O_WRONLY: u32 = 1;
/// What a touch past the end of a truncated file ends the process with:
/// the memory server answers the fault `PAGER_BUS`, and the process dies
/// of a bus error, which its parent sees as `SIGBUS` (Linux's
/// `VM_FAULT_SIGBUS`).
const SIGBUS: u32 = 7;

fn pattern(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(13) ^ (i >> 12) as u8)
        .collect()
}

fn create(path: &str, data: &[u8]) -> Result<(), Errno> {
    let fd = posix::open(path, O_RDWR | O_CREAT | O_TRUNC, 0o644)?;
    let written = posix::write(fd, data);
    posix::close(fd)?;
    match written {
        Ok(n) if n == data.len() => Ok(()),
        Ok(_) => Err(Errno::EIO),
        Err(e) => Err(e),
    }
}

/// Bytes `[from, to)` of the file at `path`, read with `read`.
fn file_bytes(path: &str) -> Result<Vec<u8>, Errno> {
    let fd = posix::open(path, O_RDONLY, 0)?;
    let data = posix::read_to_end(fd, 1 << 20);
    posix::close(fd)?;
    data
}

fn mapped_bytes(m: &Mapping, from: u64, to: u64) -> Vec<u8> {
    (from..to).filter_map(|i| m.load(i)).collect()
}

/// Runs `f` in a forked child; how the child ended.
fn in_child(f: impl FnOnce() -> u64) -> Option<WaitStatus> {
    match posix::fork() {
        Ok(0) => posix::exit(f() as i32),
        Ok(pid) => match posix::waitpid(pid as i64, 0) {
            Ok(Some((waited, status))) if waited == pid => Some(WaitStatus::decode(status)),
            _ => None,
        },
        Err(_) => None,
    }
}

fn main(_: &str) -> u64 {
    let mut t = Tally::new();
    for want in 0..3 {
        let got = posix::open("/dev/null", posix::O_RDWR, 0);
        t.expect_eq(&alloc::format!("fd {want} on /dev/null"), got, Ok(want));
    }
    let _ = posix::mkdir("/mnt/mmap", 0o755);
    let data = pattern(3 * PAGE as usize - 100);
    t.expect_eq("create the data file", create(DATA, &data), Ok(()));
    private(&mut t, &data);
    shared(&mut t, &data);
    two_processes(&mut t);
    partial_unmap(&mut t, &data);
    truncated(&mut t);
    hostile(&mut t);
    left_for_the_harness(&mut t);
    t.status()
}

/// `MAP_PRIVATE`: the file's bytes; a write is the mapping's alone.
fn private(t: &mut Tally, data: &[u8]) {
    let fd = posix::open(DATA, O_RDONLY, 0).unwrap_or(-1);
    let m = match Mapping::new(3 * PAGE, RW, MAP_PRIVATE, fd, 0) {
        Ok(m) => m,
        Err(e) => {
            t.record("MAP_PRIVATE of a read-only fd", Err(e));
            return;
        }
    };
    t.expect_eq(
        "MAP_PRIVATE reads the file",
        mapped_bytes(&m, 0, data.len() as u64),
        data.to_vec(),
    );
    t.expect_eq(
        "past the end of the file, the last page reads zeros",
        m.load(data.len() as u64 + 10),
        Some(0),
    );
    m.store(5, 0xee);
    m.store(PAGE + 5, 0xef);
    t.expect_eq("a private write is seen", m.load(5), Some(0xee));
    t.expect_eq(
        "and not in the file",
        file_bytes(DATA).map(|d| (d[5], d[PAGE as usize + 5])),
        Ok((data[5], data[PAGE as usize + 5])),
    );
    drop(m);
    let _ = posix::close(fd);
}

/// `MAP_SHARED`: writes reach the file (`read` sees them), `write`
/// reaches the mapping; tmpfs too.
fn shared(t: &mut Tally, data: &[u8]) {
    for path in [DATA, "/tmp/mmapped"] {
        if path.starts_with("/tmp") {
            t.expect_eq("create a tmpfs file", create(path, data), Ok(()));
        }
        let fd = posix::open(path, O_RDWR, 0).unwrap_or(-1);
        let m = match Mapping::new(data.len() as u64, RW, MAP_SHARED, fd, 0) {
            Ok(m) => m,
            Err(e) => {
                t.record(&alloc::format!("MAP_SHARED of {path}"), Err(e));
                continue;
            }
        };
        t.expect_eq(
            &alloc::format!("MAP_SHARED of {path} reads the file"),
            m.load(PAGE * 2 + 7),
            Some(data[2 * PAGE as usize + 7]),
        );
        m.store(PAGE + 1, b'S');
        t.expect_eq(
            &alloc::format!("a shared write to {path} is the file's"),
            file_bytes(path).map(|d| d[PAGE as usize + 1]),
            Ok(b'S'),
        );
        let files = vfs::Client::connect();
        let wrote = files.as_ref().map(|f| f.pwrite(fd, b"W", 2 * PAGE + 3));
        t.expect_eq(
            &alloc::format!("a write to {path} is seen in the mapping"),
            (wrote.is_ok(), m.load(2 * PAGE + 3)),
            (true, Some(b'W')),
        );
        t.expect_eq("msync", posix::msync(m.addr(), m.len(), MS_SYNC), Ok(()));
        drop(m);
        let _ = posix::close(fd);
    }
}

/// Two processes map the file each for itself: each sees the other's
/// writes (pipes keep the turns).
fn two_processes(t: &mut Tally) {
    let (Ok((to_child, from_parent)), Ok((to_parent, from_child))) = (
        posix::pipe2(0).map(|(r, w)| (w, r)),
        posix::pipe2(0).map(|(r, w)| (w, r)),
    ) else {
        t.record("pipes", Err(Errno::EMFILE));
        return;
    };
    let status = match posix::fork() {
        Ok(0) => {
            let fd = posix::open(DATA, O_RDWR, 0).unwrap_or(-1);
            let mut byte = [0u8];
            let code = match Mapping::new(PAGE, RW, MAP_SHARED, fd, 0) {
                Ok(m) => {
                    let _ = posix::read(from_parent, &mut byte);
                    let saw = m.load(100);
                    m.store(200, b'C');
                    let _ = posix::write(to_parent, b"c");
                    if saw == Some(b'P') {
                        0
                    } else {
                        2
                    }
                }
                Err(_) => 3,
            };
            posix::exit(code)
        }
        Ok(pid) => {
            let fd = posix::open(DATA, O_RDWR, 0).unwrap_or(-1);
            match Mapping::new(PAGE, RW, MAP_SHARED, fd, 0) {
                Ok(m) => {
                    m.store(100, b'P');
                    let _ = posix::write(to_child, b"p");
                    let mut byte = [0u8];
                    let _ = posix::read(from_child, &mut byte);
                    t.expect_eq("the child's write is seen", m.load(200), Some(b'C'));
                }
                Err(e) => t.record("parent's MAP_SHARED", Err(e)),
            }
            let _ = posix::close(fd);
            posix::waitpid(pid as i64, 0)
                .ok()
                .flatten()
                .map(|(_, s)| WaitStatus::decode(s))
        }
        Err(_) => None,
    };
    t.expect_eq(
        "the child saw the parent's write",
        status,
        Some(WaitStatus::Exited(0)),
    );
    for fd in [to_child, from_parent, to_parent, from_child] {
        let _ = posix::close(fd);
    }
}

/// `munmap` of the middle page: the others stay.
fn partial_unmap(t: &mut Tally, data: &[u8]) {
    let fd = posix::open(DATA, O_RDONLY, 0).unwrap_or(-1);
    let Ok(m) = Mapping::new(3 * PAGE, PROT_READ, MAP_PRIVATE, fd, 0) else {
        t.record("map three pages", Err(Errno::ENOMEM));
        return;
    };
    let _ = (m.load(0), m.load(PAGE), m.load(2 * PAGE));
    t.expect_eq(
        "munmap of the middle page",
        posix::munmap(m.addr() + PAGE, PAGE),
        Ok(()),
    );
    t.expect_eq(
        "the pages around it stay",
        (m.load(1), m.load(2 * PAGE + 1)),
        (Some(data[1]), Some(data[2 * PAGE as usize + 1])),
    );
    let hole = m.addr() + PAGE;
    t.expect_eq(
        "msync over the hole: ENOMEM",
        posix::msync(m.addr(), 3 * PAGE, MS_SYNC),
        Err(Errno::ENOMEM),
    );
    t.expect_eq(
        "the hole can be mapped again (MAP_FIXED)",
        posix::mmap(hole, PAGE, PROT_READ, MAP_FIXED | MAP_PRIVATE, fd, PAGE),
        Ok(hole),
    );
    t.expect_eq(
        "and reads its page",
        m.load(PAGE + 2),
        Some(data[PAGE as usize + 2]),
    );
    drop(m);
    let _ = posix::close(fd);
}

/// A file truncated under its mapping: the tail of its last page reads
/// zeros, a page past the end kills the toucher.
fn truncated(t: &mut Tally) {
    let path = "/mnt/mmap/shrinking";
    t.expect_eq("create", create(path, &pattern(2 * PAGE as usize)), Ok(()));
    let status = in_child(|| {
        let fd = posix::open(path, O_RDWR, 0).unwrap_or(-1);
        let Ok(m) = Mapping::new(2 * PAGE, RW, MAP_SHARED, fd, 0) else {
            return 3;
        };
        let before = m.load(PAGE + 9);
        let Ok(files) = vfs::Client::connect() else {
            return 4;
        };
        if files.ftruncate(fd, 100).is_err() || before.is_none() {
            return 5;
        }
        if m.load(50) != Some(pattern(100)[50]) || m.load(200) != Some(0) {
            return 6;
        }
        // Past the end: killed, never back here.
        let _ = m.load(PAGE + 9);
        7
    });
    t.expect_eq(
        "a touch past the end of a truncated file is SIGBUS",
        status,
        Some(WaitStatus::Signaled(SIGBUS)),
    );
}

/// Bad arguments: typed errors, nothing mapped.
fn hostile(t: &mut Tally) {
    let ro = posix::open(DATA, O_RDONLY, 0).unwrap_or(-1);
    let wo = posix::open(DATA, O_WRONLY, 0).unwrap_or(-1);
    let dir = posix::open("/mnt", O_RDONLY, 0).unwrap_or(-1);
    let cases: [(&str, Result<u64, Errno>, Errno); 11] = [
        (
            "PROT_WRITE, MAP_SHARED, read-only fd",
            posix::mmap(0, PAGE, RW, MAP_SHARED, ro, 0),
            Errno::EACCES,
        ),
        (
            "a write-only fd",
            posix::mmap(0, PAGE, PROT_READ, MAP_PRIVATE, wo, 0),
            Errno::EACCES,
        ),
        (
            "a directory",
            posix::mmap(0, PAGE, PROT_READ, MAP_PRIVATE, dir, 0),
            Errno::ENODEV,
        ),
        (
            "a bad fd",
            posix::mmap(0, PAGE, PROT_READ, MAP_PRIVATE, 999, 0),
            Errno::EBADF,
        ),
        (
            "an unaligned offset",
            posix::mmap(0, PAGE, PROT_READ, MAP_PRIVATE, ro, 10),
            Errno::EINVAL,
        ),
        (
            "length 0",
            posix::mmap(0, 0, PROT_READ, MAP_PRIVATE, ro, 0),
            Errno::EINVAL,
        ),
        (
            "a length that overflows",
            posix::mmap(0, u64::MAX - 10, PROT_READ, MAP_PRIVATE, ro, 0),
            Errno::ENOMEM,
        ),
        (
            "the kernel half",
            posix::mmap(
                0xffff_8000_0000_0000,
                PAGE,
                PROT_READ,
                MAP_PRIVATE | MAP_FIXED,
                ro,
                0,
            ),
            Errno::EINVAL,
        ),
        (
            "an unaligned MAP_FIXED",
            posix::mmap(
                0x7000_0000_0123,
                PAGE,
                PROT_READ,
                MAP_PRIVATE | MAP_FIXED,
                ro,
                0,
            ),
            Errno::EINVAL,
        ),
        (
            "neither shared nor private",
            posix::mmap(0, PAGE, PROT_READ, 0, ro, 0),
            Errno::EINVAL,
        ),
        (
            "an offset whose pages overflow",
            posix::mmap(0, 2 * PAGE, PROT_READ, MAP_PRIVATE, ro, !(PAGE - 1)),
            Errno::EINVAL,
        ),
    ];
    for (name, got, want) in cases {
        t.expect_eq(name, got, Err(want));
    }
    // MAP_FIXED over another area.
    if let Ok(anon) = Mapping::new(2 * PAGE, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) {
        t.expect_eq(
            "MAP_FIXED over another mapping",
            posix::mmap(
                anon.addr() + PAGE,
                PAGE,
                PROT_READ,
                MAP_PRIVATE | MAP_FIXED,
                ro,
                0,
            ),
            Err(Errno::EEXIST),
        );
        t.expect_eq(
            "munmap unaligned",
            posix::munmap(anon.addr() + 1, PAGE),
            Err(Errno::EINVAL),
        );
        t.expect_eq(
            "msync with MS_SYNC|MS_ASYNC",
            posix::msync(anon.addr(), PAGE, 5),
            Err(Errno::EINVAL),
        );
    }
    t.expect_eq(
        "msync of nothing mapped",
        posix::msync(0x6000_0000_0000, PAGE, MS_SYNC),
        Err(Errno::ENOMEM),
    );
    for fd in [ro, wo, dir] {
        let _ = posix::close(fd);
    }
}

/// [`MAPPED`]: written through a shared mapping only, then `msync`ed.
fn left_for_the_harness(t: &mut Tally) {
    let blank = alloc::vec![b'.'; MAPPED_CONTENT.len()];
    t.expect_eq("create the mapped file", create(MAPPED, &blank), Ok(()));
    let fd = posix::open(MAPPED, O_RDWR, 0).unwrap_or(-1);
    match Mapping::new(MAPPED_CONTENT.len() as u64, RW, MAP_SHARED, fd, 0) {
        Ok(m) => {
            for (i, &b) in MAPPED_CONTENT.iter().enumerate() {
                m.store(i as u64, b);
            }
            t.expect_eq("msync it", posix::msync(m.addr(), m.len(), MS_SYNC), Ok(()));
        }
        Err(e) => t.record("map the file left for the harness", Err(e)),
    }
    let _ = posix::close(fd);
    t.expect_eq("its bytes", file_bytes(MAPPED), Ok(MAPPED_CONTENT.to_vec()));
}
