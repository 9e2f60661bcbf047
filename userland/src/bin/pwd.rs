//! `pwd`: prints the working directory.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;

use userland::tool;

libsys::entry!(main);

fn main(_: &str) -> u64 {
    tool::help("pwd");
    let status = match libsys::posix::getcwd() {
        Ok(cwd) => {
            libsys::outln!("{cwd}");
            0
        }
        Err(e) => tool::fail("pwd", "getcwd", e),
    };
    tool::exit(status)
}
