//! `rmdir [-p] dir…`: removes empty directories (`-p`: and each parent named in the path).
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;

use userland::tool;

libsys::entry!(main);

fn main(_: &str) -> u64 {
    let p = tool::getopt("rmdir", "p", "rmdir [-p] dir...");
    if p.operands.is_empty() {
        tool::exit(tool::complain("rmdir", "missing operand"));
    }
    let mut status = 0;
    for dir in &p.operands {
        let mut path = dir.trim_end_matches('/');
        loop {
            if let Err(e) = libsys::posix::rmdir(path) {
                status = tool::fail("rmdir", path, e);
                break;
            }
            match path.rsplit_once('/') {
                Some((parent, _)) if p.has('p') && !parent.is_empty() => path = parent,
                _ => break,
            }
        }
    }
    tool::exit(status)
}
