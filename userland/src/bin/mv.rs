//! `mv source… dest`: renames (into `dest` if it is a directory); across file systems, copies then removes.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;

use alloc::format;
use libsys::errno::Errno;
use libsys::posix::{self, S_IFDIR, S_IFMT};
use userland::tool;

libsys::entry!(main);

/// Moves one file across file systems: a copy, then the unlink.
fn copy_then_unlink(from: &str, to: &str) -> Result<(), Errno> {
    let st = posix::stat(from)?;
    if st.mode & S_IFMT == S_IFDIR {
        return Err(Errno::EXDEV);
    }
    let data = tool::slurp(from)?;
    let flags = posix::O_WRONLY | posix::O_CREAT | posix::O_TRUNC | posix::O_CLOEXEC;
    let fd = posix::open(to, flags, st.mode & 0o7777)?;
    let written = tool::write_all(fd, &data);
    posix::close(fd)?;
    written?;
    posix::unlink(from)
}

fn main(_: &str) -> u64 {
    let p = tool::getopt("mv", "f", "mv source... dest");
    let Some((dest, sources)) = p.operands.split_last().filter(|(_, s)| !s.is_empty()) else {
        tool::exit(tool::complain("mv", "missing file operand"));
    };
    let dest_is_dir = posix::stat(dest).is_ok_and(|st| st.mode & S_IFMT == S_IFDIR);
    if sources.len() > 1 && !dest_is_dir {
        tool::exit(tool::complain(
            "mv",
            &format!("target '{dest}' is not a directory"),
        ));
    }
    let mut status = 0;
    for src in sources {
        let to = if dest_is_dir {
            let name = src.trim_end_matches('/').rsplit('/').next().unwrap_or(src);
            format!("{}/{name}", dest.trim_end_matches('/'))
        } else {
            dest.clone()
        };
        let moved = match posix::rename(src, &to) {
            Err(Errno::EXDEV) => copy_then_unlink(src, &to),
            other => other,
        };
        if let Err(e) = moved {
            status = tool::fail("mv", src, e);
        }
    }
    tool::exit(status)
}
