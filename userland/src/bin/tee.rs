//! `tee [-a] [file…]`: copies standard input to standard output and to each file (`-a` appends).
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;

use alloc::vec::Vec;
use libsys::posix;
use userland::tool;

libsys::entry!(main);

fn main(_: &str) -> u64 {
    let p = tool::getopt("tee", "a", "tee [-a] [file...]");
    let mode = if p.has('a') {
        posix::O_APPEND
    } else {
        posix::O_TRUNC
    };
    let mut status = 0;
    let mut outs: Vec<(i32, &str)> = alloc::vec![(1, "standard output")];
    for f in &p.operands {
        match posix::open(
            f,
            posix::O_WRONLY | posix::O_CREAT | mode | posix::O_CLOEXEC,
            0o644,
        ) {
            Ok(fd) => outs.push((fd, f)),
            Err(e) => status = tool::fail("tee", f, e),
        }
    }
    let mut buf = alloc::vec![0u8; 4096];
    loop {
        let n = match posix::read(0, &mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) => {
                status = tool::fail("tee", "standard input", e);
                break;
            }
        };
        outs.retain(|&(fd, name)| match tool::write_all(fd, &buf[..n]) {
            Ok(()) => true,
            Err(e) => {
                status = tool::fail("tee", name, e);
                false
            }
        });
    }
    for (fd, _) in outs.into_iter().skip(1) {
        let _ = posix::close(fd);
    }
    tool::exit(status)
}
