//! `date [-u] [+FORMAT]`: the wall-clock time (the timer server's `CLOCK_REALTIME`, from the RTC), in UTC.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;

use libsys::time::{clock_gettime, CLOCK_REALTIME};
use textutil::date::{default_line, gmtime, strftime};
use userland::tool;

libsys::entry!(main);

fn main(_: &str) -> u64 {
    let p = tool::getopt("date", "u", "date [-u] [+format]");
    let now = match clock_gettime(CLOCK_REALTIME) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => tool::exit(tool::complain(
            "date",
            &alloc::format!("cannot read the clock: {e}"),
        )),
    };
    let tm = gmtime(now);
    let line = match p.operands.as_slice() {
        [] => default_line(&tm),
        [f] if f.starts_with('+') => strftime(&f[1..], &tm, now),
        _ => tool::exit(tool::complain(
            "date",
            "setting the time is not supported; usage: date [-u] [+format]",
        )),
    };
    libsys::outln!("{line}");
    tool::exit(0)
}
