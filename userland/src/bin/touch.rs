//! `touch [-c] file…`: creates each file that does not exist (`-c`: does not create); an existing file is left as it is.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;

use libsys::errno::Errno;
use libsys::posix;
use userland::tool;

libsys::entry!(main);

fn main(_: &str) -> u64 {
    let p = tool::getopt("touch", "c", "touch [-c] file...");
    if p.operands.is_empty() {
        tool::exit(tool::complain("touch", "missing file operand"));
    }
    let mut status = 0;
    for file in &p.operands {
        let flags = if p.has('c') {
            posix::O_WRONLY
        } else {
            posix::O_WRONLY | posix::O_CREAT
        } | posix::O_CLOEXEC;
        match posix::open(file, flags, 0o666) {
            Ok(fd) => {
                let _ = posix::close(fd);
            }
            Err(Errno::ENOENT) if p.has('c') => {}
            // A directory or a read-only file exists: touching it is fine.
            Err(Errno::EISDIR | Errno::EACCES) if posix::stat(file).is_ok() => {}
            Err(e) => status = tool::fail("touch", file, e),
        }
    }
    tool::exit(status)
}
