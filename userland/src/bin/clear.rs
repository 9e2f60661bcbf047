//! `clear`: clears the terminal (the VT100 sequences the console understands: cursor home, erase screen).
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;

use userland::tool;

libsys::entry!(main);

fn main(_: &str) -> u64 {
    let _ = tool::getopt("clear", "", "clear");
    match tool::write_all(1, b"\x1b[H\x1b[2J") {
        Ok(()) => tool::exit(0),
        Err(e) => tool::exit(tool::fail("clear", "standard output", e)),
    }
}
