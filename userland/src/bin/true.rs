//! `true`: does nothing, successfully.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;

libsys::entry!(main);

fn main(_: &str) -> u64 {
    userland::tool::exit(0)
}
