//! `lsblk`: the block devices the block server has, with their sizes and where they are mounted.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;

use alloc::format;
use alloc::string::String;
use libsys::proto::blk::Client;
use userland::tool;

libsys::entry!(main);

/// `8M`, `512K`, `1.5G` as lsblk prints sizes (one decimal when not whole).
fn human(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "K", "M", "G", "T"];
    let mut unit = 0;
    let mut scale = 1u64;
    while bytes / scale >= 1024 && unit + 1 < UNITS.len() {
        scale <<= 10;
        unit += 1;
    }
    let (whole, tenths) = (bytes / scale, bytes % scale * 10 / scale);
    if bytes % scale == 0 {
        format!("{whole}{}", UNITS[unit])
    } else {
        format!("{whole}.{tenths}{}", UNITS[unit])
    }
}

fn main(_: &str) -> u64 {
    let _ = tool::getopt("lsblk", "", "lsblk");
    let blk = match Client::connect() {
        Ok(c) => c,
        Err(e) => tool::exit(tool::complain("lsblk", &format!("block server: {e}"))),
    };
    let mounts = libsys::posix::mounts().unwrap_or_default();
    libsys::outln!("NAME   SIZE   RO TYPE MOUNTPOINT");
    let mut start = 0;
    loop {
        let (names, total) = match blk.list(start) {
            Ok(x) => x,
            Err(e) => tool::exit(tool::complain("lsblk", &format!("list: {e}"))),
        };
        for name in &names {
            let size = blk
                .info(name)
                .map(|i| human(i.sectors * u64::from(i.sector_size)))
                .unwrap_or_else(|_| String::from("?"));
            let dev = format!("/dev/{name}");
            // `/proc/mounts` lines: source, target, type, options.
            let at = mounts
                .lines()
                .filter_map(|l| {
                    let mut f = l.split_whitespace();
                    Some((f.next()?, f.next()?))
                })
                .find(|(source, _)| *source == dev)
                .map_or("", |(_, target)| target);
            libsys::outln!("{:<6} {:>6}  0 disk {at}", name.as_str(), size);
        }
        start += names.len() as u32;
        if names.is_empty() || start >= total {
            break;
        }
    }
    tool::exit(0)
}
