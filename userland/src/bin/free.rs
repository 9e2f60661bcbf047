//! `free [-k|-m]`: memory in use and free, from the memory server's statistics, as `free` prints it (KiB by default).
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;

use libsys::proto::mm::SystemStats;
use userland::tool;

libsys::entry!(main);

fn show(s: &SystemStats, shift: u32) {
    // Pages of 4 KiB in the chosen unit (KiB: << 2, MiB: >> 8).
    let unit = |pages: u64| {
        if shift == 0 {
            pages * 4
        } else {
            (pages * 4) >> 10
        }
    };
    let used = s.total_pages - s.free_pages;
    libsys::outln!(
        "{:>15}{:>12}{:>12}{:>12}{:>12}",
        "total",
        "used",
        "free",
        "shared",
        "dma"
    );
    libsys::outln!(
        "Mem:{:>11}{:>12}{:>12}{:>12}{:>12}",
        unit(s.total_pages),
        unit(used),
        unit(s.free_pages),
        unit(s.shared_pages),
        unit(s.dma_pinned_pages)
    );
}

fn main(_: &str) -> u64 {
    let p = tool::getopt("free", "km", "free [-k|-m]");
    match libsys::mm::system_stats() {
        Ok(s) => {
            show(&s, u32::from(p.has('m')));
            tool::exit(0)
        }
        Err(e) => tool::exit(tool::complain(
            "free",
            &alloc::format!("memory server: {e}"),
        )),
    }
}
