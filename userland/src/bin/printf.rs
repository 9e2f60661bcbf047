//! `printf FORMAT [ARG…]`: formats and prints its arguments (POSIX printf: `%s %b %c %d %i %u %o %x %X %%`, flags, width, precision, escapes).
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;

use alloc::vec::Vec;
use userland::tool;

libsys::entry!(main);

fn main(_: &str) -> u64 {
    let args = tool::args();
    let Some((format, rest)) = args.split_first() else {
        tool::exit(tool::complain("printf", "missing operand"));
    };
    let rest: Vec<&str> = rest.iter().map(|s| s.as_str()).collect();
    let out = textutil::printf::printf(format, &rest);
    let mut status = 0;
    if tool::write_all(1, out.text.as_bytes()).is_err() {
        status = 1;
    }
    for e in &out.errors {
        status = tool::complain("printf", e);
    }
    tool::exit(status)
}
