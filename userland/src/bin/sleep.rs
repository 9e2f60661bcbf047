//! `sleep seconds`: waits that long (whole seconds, or with a fraction: `0.5`).
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;

use userland::tool;

libsys::entry!(main);

fn main(_: &str) -> u64 {
    tool::help("sleep seconds");
    let args = tool::args();
    let [arg] = args.as_slice() else {
        tool::exit(tool::complain("sleep", "usage: sleep seconds"));
    };
    match libsys::posix::interval_ms(arg) {
        Some(ms) => {
            libsys::time::sleep_ms(ms);
            tool::exit(0)
        }
        None => tool::exit(tool::complain(
            "sleep",
            &alloc::format!("invalid time interval '{arg}'"),
        )),
    }
}
