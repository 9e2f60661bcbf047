//! `echo [-n] [word…]`: prints its arguments separated by spaces, then a newline (not with `-n`).
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;

use alloc::string::String;
use userland::tool;

libsys::entry!(main);

fn main(_: &str) -> u64 {
    let args = tool::args();
    let (newline, words) = match args.first().map(String::as_str) {
        Some("-n") => (false, &args[1..]),
        _ => (true, &args[..]),
    };
    let mut line = words.join(" ");
    if newline {
        line.push('\n');
    }
    let status = match libsys::posix::write(1, line.as_bytes()) {
        Ok(_) => 0,
        Err(e) => tool::fail("echo", "write error", e),
    };
    tool::exit(status)
}
