//! `rm [-rf] file…`: removes files (`-r`: directories and what they hold; `-f`: no error for missing ones).
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;

use alloc::format;
use libsys::errno::Errno;
use libsys::posix;
use userland::tool;

libsys::entry!(main);

/// How deep `rm -r` goes before it gives up (`ELOOP`).
const DEPTH_MAX: usize = 64;

/// Removes `path` and, if it is a directory, everything under it.
fn remove_tree(path: &str, depth: usize) -> Result<(), Errno> {
    let st = posix::lstat(path)?;
    if st.mode & posix::S_IFMT != posix::S_IFDIR {
        return posix::unlink(path);
    }
    if depth >= DEPTH_MAX {
        return Err(Errno::ELOOP);
    }
    let names: alloc::vec::Vec<_> = posix::read_dir(path)?
        .collect::<Result<alloc::vec::Vec<_>, _>>()?
        .into_iter()
        .filter(|e| e.name != "." && e.name != "..")
        .collect();
    for entry in names {
        remove_tree(
            &format!("{}/{}", path.trim_end_matches('/'), entry.name),
            depth + 1,
        )?;
    }
    posix::rmdir(path)
}

fn main(_: &str) -> u64 {
    tool::help("rm [-rf] file...");
    let (flags, files) = match tool::options(&tool::args(), "rRf") {
        Ok(x) => x,
        Err(c) => tool::exit(tool::complain("rm", &format!("invalid option -- '{c}'"))),
    };
    let (recursive, force) = (
        flags.iter().any(|&c| c == 'r' || c == 'R'),
        flags.contains(&'f'),
    );
    if files.is_empty() && !force {
        tool::exit(tool::complain("rm", "missing operand"));
    }
    let mut status = 0;
    for file in &files {
        let result = if recursive {
            remove_tree(file, 0)
        } else {
            match posix::lstat(file) {
                Ok(s) if s.mode & posix::S_IFMT == posix::S_IFDIR => Err(Errno::EISDIR),
                _ => posix::unlink(file),
            }
        };
        match result {
            Ok(()) => {}
            Err(Errno::ENOENT) if force => {}
            Err(e) => status = tool::fail("rm", file, e),
        }
    }
    tool::exit(status)
}
