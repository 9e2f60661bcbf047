//! `mkfifo [-m mode] name…`: makes FIFOs (named pipes; mode 0666 less the umask by default).
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;

use libsys::posix;
use userland::tool;

libsys::entry!(main);

fn main(_: &str) -> u64 {
    let args = tool::args();
    let (mode, names) = match args.first().map(|a| a.as_str()) {
        Some("-m") => match args.get(1).and_then(|m| u32::from_str_radix(m, 8).ok()) {
            Some(mode) if mode <= 0o7777 => (mode, &args[2..]),
            _ => tool::exit(tool::complain("mkfifo", "invalid mode")),
        },
        _ => (0o666, &args[..]),
    };
    if names.is_empty() {
        tool::exit(tool::complain("mkfifo", "missing operand"));
    }
    let mut status = 0;
    for name in names {
        if let Err(e) = posix::mkfifo(name, mode) {
            status = tool::fail("mkfifo", name, e);
        }
    }
    tool::exit(status)
}
