//! The server's hot requests against the core on the host, for an
//! instruction profile of vfs's own part of them (the IPC and the grant
//! copy are the kernel's): `valgrind --tool=callgrind` on
//! `cargo run --release -p vfs --example hot_path [pread|open_close|stat|pipe] [n]`.

use libsys::abi::grant::{Access, Window};
use libsys::abi::SysError;
use libsys::grant::GrantAccess;
use libsys::proto::vfs::{RegRequest, Reply, AT_FDCWD};
use vfs::service::{Outcome, Service};
use vfs::tmpfs::TmpfsType;
use vfs::types::*;
use vfs::{Limits, VecPageProvider, Vfs};

/// A window of plain memory.
struct Mem {
    buf: Vec<u8>,
    access: Access,
}

impl GrantAccess for Mem {
    fn window(&self) -> Option<Window> {
        Window::new(0x1000, self.buf.len() as u64, self.access).ok()
    }
    fn write(&mut self, offset: u64, data: &[u8]) -> Result<(), SysError> {
        let at = offset as usize;
        self.buf[at..at + data.len()].copy_from_slice(data);
        Ok(())
    }
    fn read(&mut self, offset: u64, out: &mut [u8]) -> Result<(), SysError> {
        let at = offset as usize;
        out.copy_from_slice(&self.buf[at..at + out.len()]);
        Ok(())
    }
}

fn creds(_: u64) -> Option<Cred> {
    Some(Cred::root())
}

fn ask(s: &mut Service, r: RegRequest, path: &[u8], g: &mut dyn GrantAccess) -> Reply {
    match s.handle_regs(1, r, path, g, &mut creds) {
        Outcome::Reply(reply) => reply,
        other => panic!("{r:?}: {other:?}"),
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let case = args.next().unwrap_or_else(|| "pread".into());
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let mut v = Vfs::new(Box::new(VecPageProvider::new(1024)), Limits::default());
    v.register_filesystem(Box::new(TmpfsType)).unwrap();
    v.mount_root("tmpfs", b"mode=755").unwrap();
    let mut s = Service::new(v);
    let mut none = Mem {
        buf: Vec::new(),
        access: Access::Read,
    };
    s.vfs.new_client(1, Cred::root()).unwrap();
    for dir in [&b"/tmp"[..], b"/tmp/bench"] {
        s.vfs.mkdir(1, dir, 0o755).unwrap();
    }
    let create = RegRequest::Open {
        dirfd: AT_FDCWD,
        flags: O_RDWR | O_CREAT,
        mode: 0o644,
    };
    let Reply::Fd(fd) = ask(&mut s, create, b"/tmp/bench/f", &mut none) else {
        panic!("create")
    };
    let mut page = Mem {
        buf: vec![7; 4096],
        access: Access::Read,
    };
    let w = RegRequest::Pwrite {
        fd,
        len: 4096,
        offset: 0,
    };
    assert_eq!(ask(&mut s, w, b"", &mut page), Reply::Count(4096));
    page.access = Access::Write;
    // Later than the write: relatime then leaves atime alone.
    s.vfs.set_time(Timespec { sec: 100, nsec: 0 });
    let open = RegRequest::Open {
        dirfd: AT_FDCWD,
        flags: O_RDONLY,
        mode: 0,
    };
    let stat = RegRequest::Stat {
        dirfd: AT_FDCWD,
        flags: 0,
    };
    let (r, wfd) = s.vfs.pipe2(1, 0).unwrap();
    let mut byte = Mem {
        buf: vec![1],
        access: Access::Read,
    };
    for _ in 0..n {
        match case.as_str() {
            "pread" => {
                let r = RegRequest::Pread {
                    fd,
                    len: 4096,
                    offset: 0,
                };
                assert_eq!(ask(&mut s, r, b"", &mut page), Reply::Count(4096));
            }
            "open_close" => {
                let Reply::Fd(f) = ask(&mut s, open, b"/tmp/bench/f", &mut none) else {
                    panic!("open")
                };
                ask(&mut s, RegRequest::Close { fd: f }, b"", &mut none);
            }
            "stat" => {
                ask(&mut s, stat, b"/tmp/bench/f", &mut none);
            }
            "pipe" => {
                byte.access = Access::Read;
                ask(
                    &mut s,
                    RegRequest::Write { fd: wfd, len: 1 },
                    b"",
                    &mut byte,
                );
                byte.access = Access::Write;
                ask(&mut s, RegRequest::Read { fd: r, len: 1 }, b"", &mut byte);
            }
            other => panic!("no case {other}"),
        }
    }
}
