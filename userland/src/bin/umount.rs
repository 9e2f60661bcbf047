//! `umount DIR…`: unmounts (root only); the file system's dirty pages and
//! metadata are written first. A busy mount is `EBUSY`.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;

use libsys::posix;
use userland::tool;

libsys::entry!(main);

fn main(_: &str) -> u64 {
    tool::help("umount target");
    let args = tool::args();
    if args.is_empty() || args.iter().any(|a| a.starts_with('-')) {
        tool::exit(tool::complain("umount", "usage: umount DIR..."));
    }
    let mut status = 0;
    for dir in &args {
        if let Err(e) = posix::umount(dir) {
            status = tool::fail("umount", dir, e);
        }
    }
    tool::exit(status)
}
