//! `cp [-r] source… dest`: copies files (`-r`: directories with what they hold); into `dest` if it is a directory.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;

use alloc::format;
use alloc::string::String;
use libsys::errno::Errno;
use libsys::posix::{self, S_IFDIR, S_IFMT};
use userland::tool;

libsys::entry!(main);

/// Copies regular file `from` to `to` (created or truncated, with
/// `from`'s permission bits).
fn copy_file(from: &str, to: &str, mode: u32) -> Result<(), Errno> {
    let src = posix::open(from, posix::O_RDONLY | posix::O_CLOEXEC, 0)?;
    let flags = posix::O_WRONLY | posix::O_CREAT | posix::O_TRUNC | posix::O_CLOEXEC;
    let dst = match posix::open(to, flags, mode & 0o7777) {
        Ok(fd) => fd,
        Err(e) => {
            let _ = posix::close(src);
            return Err(e);
        }
    };
    let mut buf = alloc::vec![0u8; 16384];
    let result = loop {
        match posix::read(src, &mut buf) {
            Ok(0) => break Ok(()),
            Ok(n) => {
                if let Err(e) = tool::write_all(dst, &buf[..n]) {
                    break Err(e);
                }
            }
            Err(e) => break Err(e),
        }
    };
    let _ = posix::close(src);
    let closed = posix::close(dst);
    result.and(closed)
}

/// Copies `from` to `to`, recursing into directories if `recursive`.
fn copy(from: &str, to: &str, recursive: bool) -> i32 {
    let st = match posix::stat(from) {
        Ok(st) => st,
        Err(e) => return tool::fail("cp", from, e),
    };
    if st.mode & S_IFMT != S_IFDIR {
        return match copy_file(from, to, st.mode) {
            Ok(()) => 0,
            Err(e) => tool::fail("cp", to, e),
        };
    }
    if !recursive {
        return tool::complain(
            "cp",
            &format!("-r not specified; omitting directory '{from}'"),
        );
    }
    if let Err(e) = posix::mkdir(to, st.mode & 0o7777) {
        if e != Errno::EEXIST {
            return tool::fail("cp", to, e);
        }
    }
    let entries = match posix::read_dir(from) {
        Ok(d) => d,
        Err(e) => return tool::fail("cp", from, e),
    };
    let mut status = 0;
    for entry in entries {
        match entry {
            Ok(e) if e.name == "." || e.name == ".." => {}
            Ok(e) => {
                let (f, t) = (join(from, &e.name), join(to, &e.name));
                status |= copy(&f, &t, recursive);
            }
            Err(e) => status = tool::fail("cp", from, e),
        }
    }
    status
}

fn join(dir: &str, name: &str) -> String {
    format!("{}/{name}", dir.trim_end_matches('/'))
}

/// The last component of `path`.
fn base(path: &str) -> &str {
    path.trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or(path)
}

fn main(_: &str) -> u64 {
    let p = tool::getopt("cp", "rR", "cp [-r] source... dest");
    let recursive = p.has('r') || p.has('R');
    let Some((dest, sources)) = p.operands.split_last().filter(|(_, s)| !s.is_empty()) else {
        tool::exit(tool::complain("cp", "missing file operand"));
    };
    let dest_is_dir = posix::stat(dest).is_ok_and(|st| st.mode & S_IFMT == S_IFDIR);
    if sources.len() > 1 && !dest_is_dir {
        tool::exit(tool::complain(
            "cp",
            &format!("target '{dest}' is not a directory"),
        ));
    }
    let mut status = 0;
    for src in sources {
        let to = if dest_is_dir {
            join(dest, base(src))
        } else {
            dest.clone()
        };
        status |= copy(src, &to, recursive);
    }
    tool::exit(status)
}
