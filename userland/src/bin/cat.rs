//! `cat [file…]`: copies each file (or standard input, also for `-`) to standard output.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;

use libsys::errno::Errno;
use libsys::posix;
use userland::tool;

libsys::entry!(main);

/// Copies `fd` to descriptor 1 until its end.
fn copy(fd: i32, buf: &mut [u8]) -> Result<(), Errno> {
    loop {
        let n = posix::read(fd, buf)?;
        if n == 0 {
            return Ok(());
        }
        if posix::write(1, &buf[..n])? < n {
            return Err(Errno::EIO);
        }
    }
}

fn main(_: &str) -> u64 {
    tool::help("cat [file...]");
    let mut args = tool::args();
    if args.is_empty() {
        args.push("-".into());
    }
    let mut buf = alloc::vec![0u8; 4096];
    let mut status = 0;
    for name in &args {
        let result = if name == "-" {
            copy(0, &mut buf)
        } else {
            match posix::open(name, posix::O_RDONLY | posix::O_CLOEXEC, 0) {
                Ok(fd) => {
                    let r = copy(fd, &mut buf);
                    let _ = posix::close(fd);
                    r
                }
                Err(e) => Err(e),
            }
        };
        if let Err(e) = result {
            status = tool::fail("cat", name, e);
        }
    }
    tool::exit(status)
}
