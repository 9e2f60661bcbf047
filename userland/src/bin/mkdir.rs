//! `mkdir [-p] dir…`: makes directories (`-p`: and their parents, no error if they exist).
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;

use libsys::errno::Errno;
use libsys::posix;
use userland::tool;

libsys::entry!(main);

/// `mkdir -p`: each prefix of `path` in turn.
fn make_parents(path: &str) -> Result<(), Errno> {
    let mut at = 0;
    while at < path.len() {
        let end = path[at..].find('/').map_or(path.len(), |i| at + i);
        let prefix = &path[..end];
        if !prefix.is_empty() {
            match posix::mkdir(prefix, 0o777) {
                Ok(()) | Err(Errno::EEXIST) => {}
                Err(e) => return Err(e),
            }
        }
        at = end + 1;
    }
    match posix::stat(path) {
        Ok(s) if s.mode & posix::S_IFMT == posix::S_IFDIR => Ok(()),
        Ok(_) => Err(Errno::ENOTDIR),
        Err(e) => Err(e),
    }
}

fn main(_: &str) -> u64 {
    tool::help("mkdir [-p] dir...");
    let (flags, dirs) = match tool::options(&tool::args(), "p") {
        Ok(x) => x,
        Err(c) => tool::exit(tool::complain(
            "mkdir",
            &alloc::format!("invalid option -- '{c}'"),
        )),
    };
    if dirs.is_empty() {
        tool::exit(tool::complain("mkdir", "missing operand"));
    }
    let parents = flags.contains(&'p');
    let mut status = 0;
    for dir in &dirs {
        let result = if parents {
            make_parents(dir)
        } else {
            posix::mkdir(dir, 0o777)
        };
        if let Err(e) = result {
            status = tool::fail("mkdir", dir, e);
        }
    }
    tool::exit(status)
}
