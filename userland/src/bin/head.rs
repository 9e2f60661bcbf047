//! `head [-n N | -c N | -N] [file…]`: the first N lines (10) or bytes of each file or standard input.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;

use libsys::errno::Errno;
use libsys::posix;
use userland::tool;

libsys::entry!(main);

/// Copies the first `n` lines (or bytes, if `bytes`) of `fd` to stdout,
/// reading no more than it needs.
fn head(fd: i32, n: usize, bytes: bool) -> Result<(), Errno> {
    let mut left = n;
    let mut buf = alloc::vec![0u8; 4096];
    while left > 0 {
        let got = posix::read(fd, &mut buf)?;
        if got == 0 {
            break;
        }
        let take = if bytes {
            got.min(left)
        } else {
            let mut end = got;
            for (i, &b) in buf[..got].iter().enumerate() {
                if b == b'\n' {
                    left -= 1;
                    if left == 0 {
                        end = i + 1;
                        break;
                    }
                }
            }
            end
        };
        tool::write_all(1, &buf[..take])?;
        if bytes {
            left -= take;
        }
    }
    Ok(())
}

fn main(_: &str) -> u64 {
    let usage = "head [-n N | -c N | -N] [-q] [file...]";
    let (p, count) = tool::count_options("head", "n:c:q", usage);
    let files = tool::inputs(&p);
    let mut status = 0;
    for (i, name) in files.iter().enumerate() {
        tool::file_banner(&p, &files, i);
        let done = tool::open_input(name).and_then(|fd| {
            let r = head(fd, count.n, count.bytes);
            tool::close_input(fd);
            r
        });
        if let Err(e) = done {
            status = tool::fail("head", name, e);
        }
    }
    tool::exit(status)
}
