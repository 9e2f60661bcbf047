//! `sync`: writes every file system's dirty pages and metadata to its
//! disk and waits (`sync(2)`). It takes no operands.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;

use libsys::posix;
use userland::tool;

libsys::entry!(main);

fn main(_: &str) -> u64 {
    tool::help("sync");
    if !tool::args().is_empty() {
        tool::exit(tool::complain("sync", "usage: sync (no operands)"));
    }
    match posix::sync() {
        Ok(()) => tool::exit(0),
        Err(e) => tool::exit(tool::fail("sync", "sync", e)),
    }
}
