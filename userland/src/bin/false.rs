//! `false`: does nothing, unsuccessfully (status 1).
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;

libsys::entry!(main);

fn main(_: &str) -> u64 {
    userland::tool::exit(1)
}
