//! The request mapping (`vfs::service`) with a window of plain memory in
//! place of the caller's grant, and the initramfs unpacker on an archive
//! made by lib/cpio's writer.

use libsys::abi::grant::{Access, Window};
use libsys::abi::SysError;
use libsys::grant::GrantAccess;
use libsys::proto::vfs::{
    path, Cred as WireCred, FileAction, RegRequest, Reply, Request, AT_FDCWD,
};
use vfs::initramfs::unpack;
mod common;

use common::Mem;
use vfs::service::{Outcome, Service};
use vfs::tmpfs::TmpfsType;
use vfs::types::*;
use vfs::{Errno, Limits, VecPageProvider, Vfs};

/// No window at all.
struct NoGrant;

impl GrantAccess for NoGrant {
    fn window(&self) -> Option<Window> {
        None
    }
    fn write(&mut self, _: u64, _: &[u8]) -> Result<(), SysError> {
        Err(SysError::NoRights)
    }
    fn read(&mut self, _: u64, _: &mut [u8]) -> Result<(), SysError> {
        Err(SysError::NoRights)
    }
}

const ROOT: u64 = 1;
const USER: u64 = 7;

fn service() -> Service {
    let mut v = Vfs::new(Box::new(VecPageProvider::new(256)), Limits::default());
    v.register_filesystem(Box::new(TmpfsType)).unwrap();
    v.register_filesystem(Box::new(vfs::devfs::DevfsType))
        .unwrap();
    v.mount_root("tmpfs", b"mode=755").unwrap();
    Service::new(v)
}

fn creds(badge: u64) -> Option<Cred> {
    match badge {
        ROOT => Some(Cred::root()),
        USER => Some(Cred::user(1000, 1000)),
        _ => None,
    }
}

fn ask(s: &mut Service, badge: u64, r: Request, g: &mut dyn GrantAccess) -> Outcome {
    s.handle(badge, &r, g, &mut creds)
}

fn now(s: &mut Service, badge: u64, r: Request) -> Reply {
    match ask(s, badge, r, &mut NoGrant) {
        Outcome::Reply(reply) => reply,
        other => panic!("not answered now: {other:?}"),
    }
}

fn open(s: &mut Service, badge: u64, p: &str, flags: u32) -> i32 {
    let r = Request::Open {
        dirfd: AT_FDCWD,
        path: path(p.as_bytes()).unwrap(),
        flags,
        mode: 0o644,
    };
    match now(s, badge, r) {
        Reply::Fd(fd) => fd,
        other => panic!("open {p}: {other:?}"),
    }
}

#[test]
fn write_then_read_through_windows() {
    let mut s = service();
    let fd = open(&mut s, ROOT, "/f", O_RDWR | O_CREAT);
    let mut data = Mem {
        buf: b"hello".to_vec(),
        access: Access::Read,
    };
    let w = ask(&mut s, ROOT, Request::Write { fd, len: 5 }, &mut data);
    assert_eq!(w, Outcome::Reply(Reply::Count(5)));
    let seek = Request::Lseek {
        fd,
        offset: 0,
        whence: SEEK_SET,
    };
    assert_eq!(now(&mut s, ROOT, seek), Reply::Value(0));
    let mut out = Mem {
        buf: vec![0; 16],
        access: Access::Write,
    };
    let r = ask(&mut s, ROOT, Request::Read { fd, len: 16 }, &mut out);
    assert_eq!(r, Outcome::Reply(Reply::Count(5)));
    assert_eq!(&out.buf[..5], b"hello");
    // A read without a window is EFAULT; a write into a read window too.
    let r = ask(&mut s, ROOT, Request::Read { fd, len: 16 }, &mut NoGrant);
    assert_eq!(r, Outcome::Reply(Reply::Error(Errno::EFAULT)));
    let r = ask(&mut s, ROOT, Request::Read { fd: 99, len: 4 }, &mut out);
    assert_eq!(r, Outcome::Reply(Reply::Error(Errno::EBADF)));
}

#[test]
fn empty_pipe_blocks_until_written() {
    let mut s = service();
    let Reply::Fds(r, w) = now(&mut s, USER, Request::Pipe2 { flags: 0 }) else {
        panic!("pipe2")
    };
    let mut out = Mem {
        buf: vec![0; 8],
        access: Access::Write,
    };
    let read = Request::Read { fd: r, len: 8 };
    assert_eq!(ask(&mut s, USER, read.clone(), &mut out), Outcome::Blocked);
    let mut data = Mem {
        buf: b"xy".to_vec(),
        access: Access::Read,
    };
    let wrote = ask(&mut s, USER, Request::Write { fd: w, len: 2 }, &mut data);
    assert_eq!(wrote, Outcome::Reply(Reply::Count(2)));
    assert!(s.vfs.take_wakeups().contains(&USER));
    let again = ask(&mut s, USER, read, &mut out);
    assert_eq!(again, Outcome::Reply(Reply::Count(2)));
    assert_eq!(&out.buf[..2], b"xy");
}

#[test]
fn unknown_badges_and_life_cycle_rights() {
    let mut s = service();
    // A badge the credentials service does not know is refused.
    assert_eq!(now(&mut s, 99, Request::Sync), Reply::Error(Errno::EACCES));
    let cred = WireCred {
        uid: 1000,
        gid: 1000,
        groups: Default::default(),
    };
    let new = Request::NewFiles { pid: 50, cred };
    assert_eq!(now(&mut s, USER, new.clone()), Reply::Error(Errno::EPERM));
    assert_eq!(now(&mut s, ROOT, new), Reply::Done);
    let fork = Request::ForkFiles {
        parent: USER,
        child: 51,
    };
    assert_eq!(now(&mut s, ROOT, fork), Reply::Done);
    // The forking parent may act on its child until the child execs.
    let action = Request::ChildAction {
        child: 51,
        action: FileAction::Open {
            fd: 5,
            path: path(b"/").unwrap(),
            flags: O_RDONLY | O_DIRECTORY,
            mode: 0,
        },
    };
    assert_eq!(now(&mut s, USER, action.clone()), Reply::Fd(5));
    assert_eq!(now(&mut s, 50, action.clone()), Reply::Error(Errno::EPERM));
    assert_eq!(
        now(&mut s, ROOT, Request::ExecFiles { pid: 51 }),
        Reply::Done
    );
    assert_eq!(now(&mut s, USER, action), Reply::Error(Errno::EPERM));
    assert_eq!(
        now(&mut s, ROOT, Request::ExitFiles { pid: 51 }),
        Reply::Done
    );
}

#[test]
fn a_parent_that_never_called_can_fork() {
    let mut s = service();
    // USER has made no request of its own yet: its table is made from
    // its credentials when root forks it.
    let fork = Request::ForkFiles {
        parent: USER,
        child: 60,
    };
    assert_eq!(now(&mut s, ROOT, fork), Reply::Done);
    // A parent the credentials service does not know is ESRCH.
    let fork = Request::ForkFiles {
        parent: 99,
        child: 61,
    };
    assert_eq!(now(&mut s, ROOT, fork), Reply::Error(Errno::ESRCH));
}

#[test]
fn initramfs_unpacks_into_the_root() {
    use cpio::{Format, Meta, Node, Writer};
    let meta = |perm| Meta {
        perm,
        uid: 0,
        gid: 0,
    };
    let mut w = Writer::new(Format::Newc);
    w.add("etc", Node::Directory, meta(0o755)).unwrap();
    w.add("etc/motd", Node::File(b"welcome\n"), meta(0o644))
        .unwrap();
    w.add("bin", Node::Directory, meta(0o755)).unwrap();
    w.add("bin/sh", Node::File(&[0x7f; 5000]), meta(0o755))
        .unwrap();
    w.add("bin/rsh", Node::Symlink("sh"), meta(0o777)).unwrap();
    w.add("dev", Node::Directory, meta(0o755)).unwrap();
    w.add(
        "dev/null",
        Node::CharDevice { major: 1, minor: 3 },
        meta(0o666),
    )
    .unwrap();
    let archive = w.finish();
    let mut s = service();
    s.vfs.new_client(ROOT, Cred::root()).unwrap();
    let made = unpack(&mut s.vfs, ROOT, &archive).unwrap();
    assert_eq!((made.dirs, made.files, made.symlinks), (3, 2, 1));
    assert_eq!(made.skipped, 1);
    let st = s.vfs.stat(ROOT, b"/bin/rsh").unwrap();
    assert_eq!((st.st_size, st.st_mode & 0o7777), (5000, 0o755));
    let fd = s.vfs.open(ROOT, b"/etc/motd", O_RDONLY, 0).unwrap();
    let mut buf = [0u8; 32];
    assert_eq!(s.vfs.read(ROOT, fd, &mut buf).unwrap().count(), 8);
    // A cut archive stops with EINVAL, never a panic.
    let mut t = service();
    t.vfs.new_client(ROOT, Cred::root()).unwrap();
    assert_eq!(
        unpack(&mut t.vfs, ROOT, &archive[..200]),
        Err(Errno::EINVAL)
    );
}

/// A console that keeps what is written and reads back a fixed line.
struct Echo(std::rc::Rc<std::cell::RefCell<Vec<u8>>>);

impl vfs::service::Console for Echo {
    fn write(&mut self, _pid: u64, data: &[u8]) -> Result<usize, Errno> {
        self.0.borrow_mut().extend_from_slice(data);
        Ok(data.len())
    }
    fn read(&mut self, _pid: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        let line = b"ls\n";
        let n = line.len().min(buf.len());
        buf[..n].copy_from_slice(&line[..n]);
        Ok(n)
    }
}

#[test]
fn device_files_route_by_number() {
    let mut s = service();
    s.vfs.new_client(ROOT, Cred::root()).unwrap();
    vfs::service::mount_devfs(&mut s.vfs, ROOT).unwrap();
    let null = open(&mut s, USER, "/dev/null", O_RDWR);
    let zero = open(&mut s, USER, "/dev/zero", O_RDWR);
    let tty = open(&mut s, USER, "/dev/tty", O_RDWR);
    let mut out = Mem {
        buf: vec![7; 8],
        access: Access::Write,
    };
    let mut data = Mem {
        buf: b"abc".to_vec(),
        access: Access::Read,
    };
    let r = ask(&mut s, USER, Request::Read { fd: null, len: 8 }, &mut out);
    assert_eq!(r, Outcome::Reply(Reply::Count(0)));
    let w = ask(&mut s, USER, Request::Write { fd: null, len: 3 }, &mut data);
    assert_eq!(w, Outcome::Reply(Reply::Count(3)));
    let r = ask(&mut s, USER, Request::Read { fd: zero, len: 8 }, &mut out);
    assert_eq!(
        (r, &out.buf[..]),
        (Outcome::Reply(Reply::Count(8)), &[0u8; 8][..])
    );
    // No console yet: EIO, as the brief's fallback.
    let r = ask(&mut s, USER, Request::Read { fd: tty, len: 8 }, &mut out);
    assert_eq!(r, Outcome::Reply(Reply::Error(Errno::EIO)));
    let written = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    s.set_console(Box::new(Echo(written.clone())));
    let w = ask(&mut s, USER, Request::Write { fd: tty, len: 3 }, &mut data);
    assert_eq!(w, Outcome::Reply(Reply::Count(3)));
    assert_eq!(&written.borrow()[..], b"abc");
    let r = ask(&mut s, USER, Request::Read { fd: tty, len: 8 }, &mut out);
    assert_eq!(
        (r, &out.buf[..3]),
        (Outcome::Reply(Reply::Count(3)), &b"ls\n"[..])
    );
    // Only root makes device files.
    let mknod = Request::Mknod {
        dirfd: AT_FDCWD,
        path: path(b"/dev/mine").unwrap(),
        mode: S_IFCHR | 0o600,
        dev: 0x101,
    };
    assert_eq!(now(&mut s, USER, mknod), Reply::Error(Errno::EPERM));
}

/// A console whose reads the server makes apart.
struct Later;

impl vfs::service::Console for Later {
    fn write(&mut self, _pid: u64, data: &[u8]) -> Result<usize, Errno> {
        Ok(data.len())
    }
    fn read(&mut self, _pid: u64, _buf: &mut [u8]) -> Result<usize, Errno> {
        Err(Errno::EIO)
    }
    fn reads_later(&mut self) -> bool {
        true
    }
}

#[test]
fn console_reads_can_be_answered_later() {
    let mut s = service();
    s.vfs.new_client(ROOT, Cred::root()).unwrap();
    vfs::service::mount_devfs(&mut s.vfs, ROOT).unwrap();
    s.set_console(Box::new(Later));
    let fd = open(&mut s, USER, "/dev/console", O_RDWR);
    let mut out = Mem {
        buf: vec![0; 100],
        access: Access::Write,
    };
    let r = ask(&mut s, USER, Request::Read { fd, len: 4096 }, &mut out);
    assert_eq!(
        r,
        Outcome::ConsoleRead { len: 100 },
        "bounded by the window"
    );
    // /dev/null is still answered at once.
    let null = open(&mut s, USER, "/dev/null", O_RDONLY);
    let r = ask(&mut s, USER, Request::Read { fd: null, len: 8 }, &mut out);
    assert_eq!(r, Outcome::Reply(Reply::Count(0)));
}

/// A window that takes the first `ok` bytes and then fails, to see what
/// a read that copies page by page does when the window gives out.
struct Short {
    buf: Vec<u8>,
    ok: usize,
}

impl GrantAccess for Short {
    fn window(&self) -> Option<Window> {
        Window::new(0x1000, self.buf.len() as u64, Access::Write).ok()
    }
    fn write(&mut self, offset: u64, data: &[u8]) -> Result<(), SysError> {
        let at = offset as usize;
        if at + data.len() > self.ok {
            return Err(SysError::BadAddress);
        }
        self.buf[at..at + data.len()].copy_from_slice(data);
        Ok(())
    }
    fn read(&mut self, _: u64, _: &mut [u8]) -> Result<(), SysError> {
        Err(SysError::NoRights)
    }
}

#[test]
fn register_requests_are_served_as_their_requests() {
    let mut s = service();
    let fd = open(&mut s, ROOT, "/big", O_RDWR | O_CREAT);
    // Three pages and a hole: page 1 is never written.
    let mut bytes = vec![0u8; 3 * 4096];
    bytes[..4096].fill(1);
    bytes[8192..].fill(3);
    for (i, chunk) in bytes.chunks(4096).enumerate() {
        if i == 1 {
            continue;
        }
        let mut data = Mem {
            buf: chunk.to_vec(),
            access: Access::Read,
        };
        let w = RegRequest::Pwrite {
            fd,
            len: 4096,
            offset: i as u64 * 4096,
        };
        let wrote = s.handle_regs(ROOT, w, &[], &mut data, &mut creds);
        assert_eq!(wrote, Outcome::Reply(Reply::Count(4096)));
    }
    // A read across the three pages, straight from the cache pages (and
    // the hole's zeros) into the window, at an offset inside a page.
    let mut out = Mem {
        buf: vec![9; 3 * 4096],
        access: Access::Write,
    };
    let r = RegRequest::Pread {
        fd,
        len: 3 * 4096,
        offset: 100,
    };
    let read = s.handle_regs(ROOT, r, &[], &mut out, &mut creds);
    assert_eq!(read, Outcome::Reply(Reply::Count(3 * 4096 - 100)));
    assert_eq!(&out.buf[..3 * 4096 - 100], &bytes[100..]);
    // The same request as a postcard `Request` gives the same answer.
    let again = ask(&mut s, ROOT, r.request(&[]).unwrap(), &mut out);
    assert_eq!(again, read);
    // A window that fails after the first page: the page that went is
    // counted; one that fails at once is EFAULT.
    let mut short = Short {
        buf: vec![0; 3 * 4096],
        ok: 4096,
    };
    let r = RegRequest::Pread {
        fd,
        len: 3 * 4096,
        offset: 0,
    };
    let got = s.handle_regs(ROOT, r, &[], &mut short, &mut creds);
    assert_eq!(got, Outcome::Reply(Reply::Count(4096)));
    short.ok = 0;
    let got = s.handle_regs(ROOT, r, &[], &mut short, &mut creds);
    assert_eq!(got, Outcome::Reply(Reply::Error(Errno::EFAULT)));
    // `read` moves the offset by what was delivered; `Close` and `Lseek`.
    let seek = RegRequest::Lseek {
        fd,
        offset: 0,
        whence: SEEK_SET,
    };
    let at = s.handle_regs(ROOT, seek, &[], &mut NoGrant, &mut creds);
    assert_eq!(at, Outcome::Reply(Reply::Value(0)));
    short.ok = 4096;
    let r = RegRequest::Read { fd, len: 8192 };
    let got = s.handle_regs(ROOT, r, &[], &mut short, &mut creds);
    assert_eq!(got, Outcome::Reply(Reply::Count(4096)));
    let cur = RegRequest::Lseek {
        fd,
        offset: 0,
        whence: SEEK_CUR,
    };
    let at = s.handle_regs(ROOT, cur, &[], &mut NoGrant, &mut creds);
    assert_eq!(at, Outcome::Reply(Reply::Value(4096)));
    let close = RegRequest::Close { fd };
    let closed = s.handle_regs(ROOT, close, &[], &mut NoGrant, &mut creds);
    assert_eq!(closed, Outcome::Reply(Reply::Done));
    let closed = s.handle_regs(ROOT, close, &[], &mut NoGrant, &mut creds);
    assert_eq!(closed, Outcome::Reply(Reply::Error(Errno::EBADF)));
    // An unknown caller is refused as through `handle`.
    let r = RegRequest::Read { fd: 0, len: 1 };
    let refused = s.handle_regs(99, r, &[], &mut NoGrant, &mut creds);
    assert_eq!(refused, Outcome::Reply(Reply::Error(Errno::EACCES)));
}

#[test]
fn pipe_bytes_a_window_refuses_stay_in_the_pipe() {
    let mut s = service();
    let Reply::Fds(r, w) = now(&mut s, USER, Request::Pipe2 { flags: 0 }) else {
        panic!("pipe2")
    };
    let mut data = Mem {
        buf: b"abc".to_vec(),
        access: Access::Read,
    };
    let wrote = ask(&mut s, USER, Request::Write { fd: w, len: 3 }, &mut data);
    assert_eq!(wrote, Outcome::Reply(Reply::Count(3)));
    let read = RegRequest::Read { fd: r, len: 8 };
    let mut broken = Short {
        buf: vec![0; 8],
        ok: 0,
    };
    let refused = s.handle_regs(USER, read, &[], &mut broken, &mut creds);
    assert_eq!(refused, Outcome::Reply(Reply::Error(Errno::EFAULT)));
    let mut out = Mem {
        buf: vec![0; 8],
        access: Access::Write,
    };
    let got = s.handle_regs(USER, read, &[], &mut out, &mut creds);
    assert_eq!(got, Outcome::Reply(Reply::Count(3)));
    assert_eq!(&out.buf[..3], b"abc");
}

#[test]
fn open_and_stat_with_the_path_as_payload() {
    let mut s = service();
    let create = RegRequest::Open {
        dirfd: AT_FDCWD,
        flags: O_WRONLY | O_CREAT | O_EXCL,
        mode: 0o640,
    };
    // `/` is root's and 755: a user cannot create there.
    let refused = s.handle_regs(USER, create, b"/x", &mut NoGrant, &mut creds);
    assert_eq!(refused, Outcome::Reply(Reply::Error(Errno::EACCES)));
    let made = s.handle_regs(ROOT, create, b"/x", &mut NoGrant, &mut creds);
    let Outcome::Reply(Reply::Fd(fd)) = made else {
        panic!("open: {made:?}")
    };
    let again = s.handle_regs(ROOT, create, b"/x", &mut NoGrant, &mut creds);
    assert_eq!(again, Outcome::Reply(Reply::Error(Errno::EEXIST)));
    let stat = RegRequest::Stat {
        dirfd: AT_FDCWD,
        flags: 0,
    };
    let got = s.handle_regs(ROOT, stat, b"/x", &mut NoGrant, &mut creds);
    let Outcome::Reply(Reply::Stat(st)) = got else {
        panic!("stat: {got:?}")
    };
    assert_eq!(st.mode, S_IFREG | 0o640);
    // The same as through the postcard request.
    let full = stat.request(b"/x").unwrap();
    assert_eq!(now(&mut s, ROOT, full), Reply::Stat(st));
    // `AT_EMPTY_PATH` with an empty payload stats the descriptor.
    let at_fd = RegRequest::Stat {
        dirfd: fd,
        flags: AT_EMPTY_PATH,
    };
    let by_fd = s.handle_regs(ROOT, at_fd, b"", &mut NoGrant, &mut creds);
    assert_eq!(by_fd, Outcome::Reply(Reply::Stat(st)));
    let missing = s.handle_regs(ROOT, stat, b"/nope", &mut NoGrant, &mut creds);
    assert_eq!(missing, Outcome::Reply(Reply::Error(Errno::ENOENT)));
}

#[test]
fn a_client_whose_files_ended_is_adopted_again() {
    let mut s = service();
    // ROOT is found, then its own files end (ExitFiles of itself): its
    // next request makes it a client again, with nothing open.
    let fd = open(&mut s, ROOT, "/", O_RDONLY | O_DIRECTORY);
    assert_eq!(
        now(&mut s, ROOT, Request::ExitFiles { pid: ROOT }),
        Reply::Done
    );
    let close = RegRequest::Close { fd };
    let closed = s.handle_regs(ROOT, close, &[], &mut NoGrant, &mut creds);
    // Not ESRCH: it is a client again.
    assert_eq!(closed, Outcome::Reply(Reply::Error(Errno::EBADF)));
}
