//! The request mapping (`vfs::service`) with a window of plain memory in
//! place of the caller's grant, and the initramfs unpacker on an archive
//! made by lib/cpio's writer.

use libsys::abi::grant::{Access, Window};
use libsys::abi::SysError;
use libsys::grant::GrantAccess;
use libsys::proto::vfs::{path, Cred as WireCred, FileAction, Reply, Request, AT_FDCWD};
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
