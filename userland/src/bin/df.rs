//! `df [DIR…]`: size, used and available space of each mounted file system
//! (or of the ones holding DIR…), in 1 KiB blocks, from `statfs`.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;

use alloc::string::String;
use alloc::vec::Vec;
use libsys::posix;
use userland::tool;

libsys::entry!(main);

fn main(_: &str) -> u64 {
    tool::help("df");
    let args = tool::args();
    if args.iter().any(|a| a.starts_with('-')) {
        tool::exit(tool::complain("df", "usage: df [DIR...]"));
    }
    // (source, mount point) pairs to show.
    let table = match posix::mounts() {
        Ok(t) => t,
        Err(e) => tool::exit(tool::fail("df", "mount table", e)),
    };
    let mounts: Vec<(String, String)> = table
        .lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            Some((String::from(f.next()?), String::from(f.next()?)))
        })
        .collect();
    let rows: Vec<(String, String)> = if args.is_empty() {
        mounts
    } else {
        args.iter()
            .map(|a| {
                let source = mounts
                    .iter()
                    .filter(|(_, m)| a.starts_with(m.as_str()))
                    .max_by_key(|(_, m)| m.len())
                    .map_or_else(|| String::from("-"), |(s, _)| s.clone());
                (source, a.clone())
            })
            .collect()
    };
    libsys::outln!(
        "{:<16} {:>10} {:>10} {:>10} {:>4} Mounted on",
        "Filesystem",
        "1K-blocks",
        "Used",
        "Available",
        "Use%"
    );
    let mut status = 0;
    for (source, dir) in rows {
        match posix::statfs(&dir) {
            Ok(s) => {
                let kib = |blocks: u64| blocks * s.bsize / 1024;
                let (size, free, avail) = (kib(s.blocks), kib(s.bfree), kib(s.bavail));
                let used = size - free.min(size);
                let pct = if used + avail == 0 {
                    0
                } else {
                    (used * 100).div_ceil(used + avail)
                };
                libsys::outln!("{source:<16} {size:>10} {used:>10} {avail:>10} {pct:>3}% {dir}");
            }
            Err(e) => status = tool::fail("df", &dir, e),
        }
    }
    tool::exit(status)
}
