//! The file server (`vfs`) from a client's side, through the raw
//! `libsys::proto::vfs::Client` (run by `init` in the `posix` entry):
//! the initramfs in the root (`/etc/motd`, `/bin` programs and their
//! directory listing), a round of namespace and data calls in `/tmp`,
//! pipes, descriptor calls, the errnos Linux gives for the bad cases, and
//! devfs on `/dev` (its mount, `/dev/zero`, `/dev/full`, `/dev/urandom`,
//! the block node of the virtio disk, root's `mknod` and `chmod` there,
//! `/dev/kmsg`).
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use core::sync::atomic::{AtomicU64, Ordering};

use libsys::errno::Errno;
use libsys::proto::vfs::{Client, ClientError, AT_FDCWD};
use userland::Tally;

libsys::entry!(main);

// Linux's numbers (x86_64).
const O_RDONLY: u32 = 0;
const O_WRONLY: u32 = 1;
const O_RDWR: u32 = 2;
const O_CREAT: u32 = 0o100;
const O_EXCL: u32 = 0o200;
const O_DIRECTORY: u32 = 0o200000;
const O_CLOEXEC: u32 = 0o2000000;
const AT_REMOVEDIR: u32 = 0x200;
const SEEK_SET: u32 = 0;
const SEEK_END: u32 = 2;
const F_GETFD: u32 = 1;
const F_GETFL: u32 = 3;
const FD_CLOEXEC: u64 = 1;
const S_IFMT: u32 = 0o170000;
const S_IFREG: u32 = 0o100000;
const S_IFBLK: u32 = 0o060000;
const S_IFCHR: u32 = 0o020000;
/// The first line of rootfs/etc/motd.
const MOTD: &[u8] = b"Welcome to the teaching microkernel.\n";

fn e<T>(r: Result<T, ClientError>) -> Result<T, Errno> {
    r.map_err(|err| err.errno())
}

fn main(_args: &str) -> u64 {
    let mut t = Tally::new();
    let vfs = match Client::connect() {
        Ok(c) => c,
        Err(err) => {
            t.check("vfs: lookup of `vfs`", Err(format_args!("{err}")));
            return t.status();
        }
    };
    root_files(&vfs, &mut t);
    tmp_round(&vfs, &mut t);
    pipes_and_fds(&vfs, &mut t);
    blocking_pipe(&vfs, &mut t);
    errors(&vfs, &mut t);
    devices(&vfs, &mut t);
    devfs(&vfs, &mut t);
    t.status()
}

/// The initramfs: /etc/motd's first line, a /bin program, /bin's listing.
fn root_files(vfs: &Client, t: &mut Tally) {
    let fd = e(vfs.open(AT_FDCWD, b"/etc/motd", O_RDONLY, 0));
    t.expect_eq("open /etc/motd", fd.is_ok(), true);
    if let Ok(fd) = fd {
        let mut buf = [0u8; 64];
        let n = e(vfs.read(fd, &mut buf)).unwrap_or(0);
        t.expect_eq(
            "read /etc/motd: its first line",
            buf.get(..MOTD.len()),
            Some(MOTD),
        );
        t.expect_eq("close", e(vfs.close(fd)), Ok(()));
        t.expect_eq("read gave a whole buffer or the file", n > MOTD.len(), true);
    }
    let st = e(vfs.stat(AT_FDCWD, b"/bin/fstest", 0));
    t.expect_eq(
        "stat /bin/fstest: a regular file, not empty",
        st.map(|s| (s.mode & S_IFMT, s.size > 0)),
        Ok((S_IFREG, true)),
    );
    let found = match e(vfs.open(AT_FDCWD, b"/bin", O_RDONLY | O_DIRECTORY, 0)) {
        Ok(fd) => {
            let found = lists(vfs, fd, b"fstest");
            let _ = vfs.close(fd);
            found
        }
        Err(_) => false,
    };
    t.expect_eq("getdents /bin lists fstest", found, true);
}

/// Whether the directory `fd` has an entry `name` (`linux_dirent64`s).
fn lists(vfs: &Client, fd: i32, name: &[u8]) -> bool {
    let mut buf = [0u8; 4096];
    while let Ok(n @ 1..) = e(vfs.getdents(fd, &mut buf)) {
        let mut at = 0;
        while at + 19 <= n {
            let reclen = u16::from_le_bytes([buf[at + 16], buf[at + 17]]) as usize;
            if reclen == 0 || at + reclen > n {
                return false;
            }
            let field = &buf[at + 19..at + reclen];
            let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
            if &field[..end] == name {
                return true;
            }
            at += reclen;
        }
    }
    false
}

/// mkdir, create, write, lseek, read, unlink, rmdir in /tmp.
fn tmp_round(vfs: &Client, t: &mut Tally) {
    match e(vfs.mkdir(AT_FDCWD, b"/tmp", 0o1777)) {
        Ok(()) | Err(Errno::EEXIST) => {}
        Err(err) => t.check("mkdir /tmp", Err(format_args!("{err}"))),
    }
    t.expect_eq(
        "mkdir /tmp/d",
        e(vfs.mkdir(AT_FDCWD, b"/tmp/d", 0o755)),
        Ok(()),
    );
    t.expect_eq(
        "mkdir /tmp/d again: EEXIST",
        e(vfs.mkdir(AT_FDCWD, b"/tmp/d", 0o755)),
        Err(Errno::EEXIST),
    );
    let Ok(fd) = e(vfs.open(AT_FDCWD, b"/tmp/d/f", O_RDWR | O_CREAT | O_EXCL, 0o644)) else {
        t.check("create /tmp/d/f", Err(format_args!("failed")));
        return;
    };
    t.expect_eq("write 11 bytes", e(vfs.write(fd, b"hello world")), Ok(11));
    t.expect_eq("lseek to 6", e(vfs.lseek(fd, 6, SEEK_SET)), Ok(6));
    let mut buf = [0u8; 16];
    let n = e(vfs.read(fd, &mut buf));
    t.expect_eq("read from 6", n.map(|n| &buf[..n]), Ok(&b"world"[..]));
    t.expect_eq("lseek SEEK_END", e(vfs.lseek(fd, 0, SEEK_END)), Ok(11));
    t.expect_eq("fstat: size 11", e(vfs.fstat(fd)).map(|s| s.size), Ok(11));
    t.expect_eq("close", e(vfs.close(fd)), Ok(()));
    t.expect_eq(
        "rmdir of a non-empty directory: ENOTEMPTY",
        e(vfs.unlink(AT_FDCWD, b"/tmp/d", AT_REMOVEDIR)),
        Err(Errno::ENOTEMPTY),
    );
    t.expect_eq(
        "unlink /tmp/d/f",
        e(vfs.unlink(AT_FDCWD, b"/tmp/d/f", 0)),
        Ok(()),
    );
    t.expect_eq(
        "stat after unlink: ENOENT",
        e(vfs.stat(AT_FDCWD, b"/tmp/d/f", 0)).map(|_| ()),
        Err(Errno::ENOENT),
    );
    t.expect_eq(
        "rmdir /tmp/d",
        e(vfs.unlink(AT_FDCWD, b"/tmp/d", AT_REMOVEDIR)),
        Ok(()),
    );
}

/// pipe2, then dup, dup3 and fcntl on its ends.
fn pipes_and_fds(vfs: &Client, t: &mut Tally) {
    let Ok((r, w)) = e(vfs.pipe2(0)) else {
        t.check("pipe2", Err(format_args!("failed")));
        return;
    };
    t.expect_eq("pipe: write 4", e(vfs.write(w, b"ping")), Ok(4));
    let mut buf = [0u8; 8];
    let n = e(vfs.read(r, &mut buf));
    t.expect_eq(
        "pipe: read them back",
        n.map(|n| &buf[..n]),
        Ok(&b"ping"[..]),
    );
    let d = e(vfs.dup(w));
    t.expect_eq("dup: a new descriptor", d.map(|d| d > w), Ok(true));
    let d3 = e(vfs.dup3(w, 40, O_CLOEXEC));
    t.expect_eq("dup3 to 40", d3, Ok(40));
    t.expect_eq(
        "F_GETFD on 40: FD_CLOEXEC",
        e(vfs.fcntl(40, F_GETFD, 0)),
        Ok(FD_CLOEXEC),
    );
    t.expect_eq(
        "F_GETFL on the write end: O_WRONLY",
        e(vfs.fcntl(w, F_GETFL, 0)).map(|f| f as u32 & 3),
        Ok(O_WRONLY),
    );
    t.expect_eq(
        "dup3 onto itself: EINVAL",
        e(vfs.dup3(w, w, 0)),
        Err(Errno::EINVAL),
    );
    t.expect_eq("write through the dup", e(vfs.write(40, b"x")), Ok(1));
    t.expect_eq("read it", e(vfs.read(r, &mut buf)), Ok(1));
    for fd in [w, 40, d.unwrap_or(-1)] {
        let _ = vfs.close(fd);
    }
    t.expect_eq(
        "read after the last writer: end of file",
        e(vfs.read(r, &mut buf)),
        Ok(0),
    );
    t.expect_eq("close the read end", e(vfs.close(r)), Ok(()));
}

/// The errnos of bad paths and descriptors.
fn errors(vfs: &Client, t: &mut Tally) {
    let open = |p: &[u8], flags| e(vfs.open(AT_FDCWD, p, flags, 0o644));
    t.expect_eq(
        "open a missing file: ENOENT",
        open(b"/nonexistent", O_RDONLY),
        Err(Errno::ENOENT),
    );
    t.expect_eq(
        "a file as a directory: ENOTDIR",
        open(b"/etc/motd/x", O_RDONLY),
        Err(Errno::ENOTDIR),
    );
    t.expect_eq(
        "O_CREAT|O_EXCL on an existing file: EEXIST",
        open(b"/etc/motd", O_CREAT | O_EXCL | O_WRONLY),
        Err(Errno::EEXIST),
    );
    t.expect_eq(
        "open a directory for writing: EISDIR",
        open(b"/bin", O_WRONLY),
        Err(Errno::EISDIR),
    );
    t.expect_eq(
        "close a bad descriptor: EBADF",
        e(vfs.close(77)),
        Err(Errno::EBADF),
    );
    let mut buf = [0u8; 4];
    t.expect_eq(
        "read a bad descriptor: EBADF",
        e(vfs.read(77, &mut buf)),
        Err(Errno::EBADF),
    );
    let long = [b'a'; 1025];
    t.expect_eq(
        "a path of 1025 bytes: ENAMETOOLONG",
        open(&long, O_RDONLY),
        Err(Errno::ENAMETOOLONG),
    );
}

/// /dev/null swallows and reads empty; /dev/zero reads zeros; a line
/// written to /dev/console comes out whole (on the terminal, or the
/// kernel log without a `tty` server).
fn devices(vfs: &Client, t: &mut Tally) {
    let mut buf = [7u8; 16];
    match e(vfs.open(AT_FDCWD, b"/dev/null", O_RDWR, 0)) {
        Ok(fd) => {
            t.expect_eq("/dev/null: write", e(vfs.write(fd, b"gone")), Ok(4));
            t.expect_eq(
                "/dev/null: read is end of file",
                e(vfs.read(fd, &mut buf)),
                Ok(0),
            );
            let _ = vfs.close(fd);
        }
        Err(err) => t.check("open /dev/null", Err(format_args!("{err}"))),
    }
    match e(vfs.open(AT_FDCWD, b"/dev/zero", O_RDONLY, 0)) {
        Ok(fd) => {
            let n = e(vfs.read(fd, &mut buf));
            t.expect_eq(
                "/dev/zero: 16 zeros",
                n.map(|n| &buf[..n]),
                Ok(&[0u8; 16][..]),
            );
            let _ = vfs.close(fd);
        }
        Err(err) => t.check("open /dev/zero", Err(format_args!("{err}"))),
    }
    let line = b"fstest: a line through /dev/console\n";
    match e(vfs.open(AT_FDCWD, b"/dev/console", O_WRONLY, 0)) {
        Ok(fd) => {
            t.expect_eq(
                "/dev/console: write a line",
                e(vfs.write(fd, line)),
                Ok(line.len()),
            );
            let _ = vfs.close(fd);
        }
        Err(err) => t.check("open /dev/console", Err(format_args!("{err}"))),
    }
}

/// devfs: mounted on /dev (in /proc/mounts and the mount table), /dev/full
/// reads zeros and refuses writes with ENOSPC, two reads of /dev/urandom
/// differ, /dev/null is 1:3, and the virtio disk's node is a block device
/// 254:0 (Linux's virtio-blk numbers).
fn devfs(vfs: &Client, t: &mut Tally) {
    let mut text = [0u8; 2048];
    let mounts = e(vfs.open(AT_FDCWD, b"/proc/mounts", O_RDONLY, 0)).and_then(|fd| {
        let n = e(vfs.read(fd, &mut text));
        let _ = vfs.close(fd);
        n
    });
    let line = b"devfs /dev devfs rw";
    let name = "devfs: /proc/mounts has `devfs /dev devfs rw`";
    match mounts {
        Ok(n) if text[..n].windows(line.len()).any(|w| w == line) => t.check(name, Ok(())),
        Ok(n) => t.check(
            name,
            Err(format_args!("{:?}", core::str::from_utf8(&text[..n]))),
        ),
        Err(err) => t.check(name, Err(format_args!("{err}"))),
    }
    match e(vfs.open(AT_FDCWD, b"/dev/full", O_RDWR, 0)) {
        Ok(fd) => {
            let mut buf = [7u8; 32];
            let n = e(vfs.read(fd, &mut buf));
            t.expect_eq(
                "/dev/full: reads zeros",
                n.map(|n| &buf[..n]),
                Ok(&[0u8; 32][..]),
            );
            t.expect_eq(
                "/dev/full: a write is ENOSPC",
                e(vfs.write(fd, b"x")),
                Err(Errno::ENOSPC),
            );
            let _ = vfs.close(fd);
        }
        Err(err) => t.check("open /dev/full", Err(format_args!("{err}"))),
    }
    match e(vfs.open(AT_FDCWD, b"/dev/urandom", O_RDONLY, 0)) {
        Ok(fd) => {
            let (mut a, mut b) = ([0u8; 32], [0u8; 32]);
            let ra = e(vfs.read(fd, &mut a));
            let rb = e(vfs.read(fd, &mut b));
            let name = "/dev/urandom: two reads of 32 bytes differ";
            match (ra, rb) {
                (Ok(32), Ok(32)) if a != b && a != [0; 32] => t.check(name, Ok(())),
                other => t.check(name, Err(format_args!("{other:?}: {a:02x?} {b:02x?}"))),
            }
            let _ = vfs.close(fd);
        }
        Err(err) => t.check("open /dev/urandom", Err(format_args!("{err}"))),
    }
    let numbers = |path: &[u8]| {
        e(vfs.stat(AT_FDCWD, path, 0))
            .map(|s| (s.mode & S_IFMT, (s.rdev >> 8) & 0xfff, s.rdev & 0xff))
    };
    t.expect_eq(
        "devfs: /dev/null is char 1:3",
        numbers(b"/dev/null"),
        Ok((S_IFCHR, 1, 3)),
    );
    t.expect_eq(
        "devfs: /dev/vda is block 254:0",
        numbers(b"/dev/vda"),
        Ok((S_IFBLK, 254, 0)),
    );
    // The tty server's line, a class device of devmgr's: its node comes
    // from a uevent, and it is the console.
    t.expect_eq(
        "devfs: /dev/ttyS0 is char 4:64",
        numbers(b"/dev/ttyS0"),
        Ok((S_IFCHR, 4, 64)),
    );
    let line = b"fstest: a line through /dev/ttyS0\n";
    match e(vfs.open(AT_FDCWD, b"/dev/ttyS0", O_WRONLY, 0)) {
        Ok(fd) => {
            t.expect_eq(
                "/dev/ttyS0: write a line",
                e(vfs.write(fd, line)),
                Ok(line.len()),
            );
            let _ = vfs.close(fd);
        }
        Err(err) => t.check("open /dev/ttyS0", Err(format_args!("{err}"))),
    }
    // Root makes a node in /dev (a second /dev/zero: devices route by
    // number), chmods it, and removes it.
    let path = b"/dev/fstest-zero";
    t.expect_eq(
        "devfs: root's mknod c 1 5",
        e(vfs.mknod(AT_FDCWD, path, S_IFCHR | 0o600, 0x105)),
        Ok(()),
    );
    t.expect_eq(
        "devfs: chmod of a node",
        e(vfs.chmod(AT_FDCWD, path, 0o640))
            .and_then(|()| e(vfs.stat(AT_FDCWD, path, 0)))
            .map(|s| s.mode),
        Ok(S_IFCHR | 0o640),
    );
    let zeros = e(vfs.open(AT_FDCWD, path, O_RDONLY, 0)).and_then(|fd| {
        let mut buf = [9u8; 8];
        let n = e(vfs.read(fd, &mut buf));
        let _ = vfs.close(fd);
        n.map(|n| buf[..n] == [0; 8][..n] && n == 8)
    });
    t.expect_eq("devfs: the new node reads zeros", zeros, Ok(true));
    t.expect_eq(
        "devfs: unlink the node",
        e(vfs.unlink(AT_FDCWD, path, 0)),
        Ok(()),
    );
    kmsg(vfs, t);
}

/// /dev/kmsg: each read is one record of the kernel log
/// (`level,seq,usec,-;text\n`), the next read the next record.
fn kmsg(vfs: &Client, t: &mut Tally) {
    let fd = match e(vfs.open(AT_FDCWD, b"/dev/kmsg", O_RDONLY, 0)) {
        Ok(fd) => fd,
        Err(err) => return t.check("open /dev/kmsg", Err(format_args!("{err}"))),
    };
    let mut seqs = [0u64; 2];
    for (i, seq) in seqs.iter_mut().enumerate() {
        let mut buf = [0u8; 1024];
        let name = if i == 0 {
            "/dev/kmsg: a read is one record"
        } else {
            "/dev/kmsg: the next read is the next record"
        };
        let record = e(vfs.read(fd, &mut buf)).map(|n| &buf[..n]);
        let parsed = record.ok().and_then(|r| {
            let text = core::str::from_utf8(r).ok()?.strip_suffix('\n')?;
            let (head, _) = text.split_once(";")?;
            (!text.contains('\n')).then_some(())?;
            head.split(',').nth(1)?.parse::<u64>().ok()
        });
        match parsed {
            Some(s) => {
                *seq = s;
                t.check(name, Ok(()));
            }
            None => t.check(name, Err(format_args!("{record:?}"))),
        }
    }
    let name = "/dev/kmsg: sequence numbers grow";
    if seqs[1] > seqs[0] {
        t.check(name, Ok(()));
    } else {
        t.check(name, Err(format_args!("{seqs:?}")));
    }
    let _ = vfs.close(fd);
}

/// What the reader thread of [`blocking_pipe`] got: the count (or
/// `u64::MAX` for an error) and the first bytes.
static READ_COUNT: AtomicU64 = AtomicU64::new(0);
static READ_BYTES: AtomicU64 = AtomicU64::new(0);

/// A read of an empty pipe waits in the server (answered later) until
/// the other thread writes.
fn blocking_pipe(vfs: &Client, t: &mut Tally) {
    let Ok((r, w)) = e(vfs.pipe2(0)) else {
        t.check("pipe2 for the blocking read", Err(format_args!("failed")));
        return;
    };
    let reader = libsys::thread::spawn(move || {
        let mut buf = [0u8; 8];
        let got = Client::connect().map(|c| c.read(r, &mut buf));
        let n = match got {
            Ok(Ok(n)) => n as u64,
            _ => u64::MAX,
        };
        READ_BYTES.store(u64::from_le_bytes(buf), Ordering::Release);
        READ_COUNT.store(n, Ordering::Release);
    });
    let Ok(reader) = reader else {
        t.check("spawn the reader thread", Err(format_args!("failed")));
        return;
    };
    libsys::time::sleep_ms(100);
    t.expect_eq(
        "the reader still waits",
        READ_COUNT.load(Ordering::Acquire),
        0,
    );
    t.expect_eq("write wakes it", e(vfs.write(w, b"pong")), Ok(4));
    t.expect_eq("join the reader", reader.join().is_ok(), true);
    let bytes = READ_BYTES.load(Ordering::Acquire).to_le_bytes();
    t.expect_eq(
        "the waiting read got the bytes",
        (READ_COUNT.load(Ordering::Acquire), &bytes[..4]),
        (4, &b"pong"[..]),
    );
    let _ = vfs.close(r);
    let _ = vfs.close(w);
}
