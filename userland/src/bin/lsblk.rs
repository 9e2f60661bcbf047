//! `lsblk`: the block devices the block server has, as a tree (each
//! disk, its partitions below it), with their device numbers, sizes and
//! where they are mounted. A device's number and type come from sysfs
//! (`/sys/class/block/<dev>/dev`, `DEVTYPE` in its `uevent`): without
//! `/sys`, `?` and `disk`.
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

/// A sysfs attribute's text, if it can be read.
fn sysfs(path: &str) -> Option<String> {
    let fd = libsys::posix::open(path, libsys::posix::O_RDONLY, 0).ok()?;
    let data = libsys::posix::read_to_end(fd, 4096);
    let _ = libsys::posix::close(fd);
    String::from_utf8(data.ok()?).ok()
}

/// A partition (`DEVTYPE=partition`), as sysfs says.
fn is_partition(name: &str) -> bool {
    sysfs(&format!("/sys/class/block/{name}/uevent"))
        .is_some_and(|u| u.lines().any(|l| l == "DEVTYPE=partition"))
}

fn main(_: &str) -> u64 {
    let _ = tool::getopt("lsblk", "", "lsblk");
    let blk = match Client::connect() {
        Ok(c) => c,
        Err(e) => tool::exit(tool::complain("lsblk", &format!("block server: {e}"))),
    };
    let mounts = libsys::posix::mounts().unwrap_or_default();
    libsys::outln!("NAME     MAJ:MIN    SIZE RO TYPE MOUNTPOINT");
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
            let number = sysfs(&format!("/sys/class/block/{name}/dev"))
                .map_or_else(|| String::from("?"), |n| String::from(n.trim_end()));
            let part = is_partition(name);
            // A partition below the disk before it (blk lists each disk,
            // then its partitions): `└─` for the last, `├─` otherwise.
            let shown = if part {
                let last = !names
                    .iter()
                    .skip_while(|n| *n != name)
                    .nth(1)
                    .is_some_and(|next| is_partition(next));
                format!("{}{name}", if last { "└─" } else { "├─" })
            } else {
                String::from(name.as_str())
            };
            let kind = if part { "part" } else { "disk" };
            libsys::outln!("{:<8} {:<8} {:>6}  0 {kind} {at}", shown, number, size);
        }
        start += names.len() as u32;
        if names.is_empty() || start >= total {
            break;
        }
    }
    tool::exit(0)
}
