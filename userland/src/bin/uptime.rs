//! `uptime`: how long the system has run, how many processes there are, and the time of day.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;

use alloc::format;
use libsys::time::{clock_gettime, CLOCK_REALTIME};
use userland::tool;

libsys::entry!(main);

fn main(_: &str) -> u64 {
    let _ = tool::getopt("uptime", "", "uptime");
    let up = libsys::time::uptime_ns() / 1_000_000_000;
    let now = clock_gettime(CLOCK_REALTIME)
        .map(|d| {
            let t = textutil::date::gmtime(d.as_secs() as i64);
            format!("{:02}:{:02}:{:02} ", t.hour, t.minute, t.second)
        })
        .unwrap_or_default();
    let (d, h, m, s) = (up / 86_400, up / 3600 % 24, up / 60 % 60, up % 60);
    let since = match (d, h) {
        (0, 0) => format!("{m} min, {s} sec"),
        (0, _) => format!("{h}:{m:02}"),
        _ => format!("{d} days, {h}:{m:02}"),
    };
    let procs = libsys::posix::processes().map(|p| p.len()).unwrap_or(0);
    libsys::outln!("{now}up {since}, {procs} processes");
    tool::exit(0)
}
