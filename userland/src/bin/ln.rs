//! `ln [-s] target link`: makes a hard link (`-s`: a symbolic link) named `link` (in it, if a directory).
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;

use alloc::format;
use libsys::posix::{self, S_IFDIR, S_IFMT};
use userland::tool;

libsys::entry!(main);

fn main(_: &str) -> u64 {
    let p = tool::getopt("ln", "sf", "ln [-s] [-f] target link");
    let [target, link] = p.operands.as_slice() else {
        tool::exit(tool::complain("ln", "expected a target and a link name"));
    };
    let link = if posix::stat(link).is_ok_and(|st| st.mode & S_IFMT == S_IFDIR) {
        let name = target
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or(target);
        format!("{}/{name}", link.trim_end_matches('/'))
    } else {
        link.clone()
    };
    if p.has('f') {
        let _ = posix::unlink(&link);
    }
    let made = if p.has('s') {
        posix::symlink(target, &link)
    } else {
        posix::link(target, &link)
    };
    match made {
        Ok(()) => tool::exit(0),
        Err(e) => tool::exit(tool::fail("ln", &link, e)),
    }
}
