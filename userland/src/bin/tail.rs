//! `tail [-n [+]N | -c [+]N | -N] [-f] [file…]`: the last N lines (10) or bytes of each file (`+N`: from the N-th on); `-f` follows a file as it grows (Ctrl-C ends it).
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;

use libsys::errno::Errno;
use libsys::posix;
use userland::tool;

libsys::entry!(main);

/// Prints what is appended to `fd` from now on, until killed.
fn follow(fd: i32) -> Result<(), Errno> {
    let mut buf = alloc::vec![0u8; 4096];
    loop {
        let n = posix::read(fd, &mut buf)?;
        if n == 0 {
            libsys::time::msleep(250);
        } else {
            tool::write_all(1, &buf[..n])?;
        }
    }
}

fn main(_: &str) -> u64 {
    let usage = "tail [-n [+]N | -c [+]N | -N] [-f] [-q] [file...]";
    let (p, count) = tool::count_options("tail", "n:c:fq", usage);
    let files = tool::inputs(&p);
    let mut status = 0;
    for (i, name) in files.iter().enumerate() {
        tool::file_banner(&p, &files, i);
        let fd = match tool::open_input(name) {
            Ok(fd) => fd,
            Err(e) => {
                status = tool::fail("tail", name, e);
                continue;
            }
        };
        let shown = posix::read_to_end(fd, tool::INPUT_MAX)
            .and_then(|data| tool::write_all(1, textutil::tail::select(&data, count)));
        if let Err(e) = shown {
            status = tool::fail("tail", name, e);
        } else if p.has('f') && files.len() == 1 && name != "-" {
            if let Err(e) = follow(fd) {
                status = tool::fail("tail", name, e);
            }
        }
        tool::close_input(fd);
    }
    tool::exit(status)
}
