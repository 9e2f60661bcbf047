//! `procchild`: the process server test's child. Its `argv` (from the
//! System V stack the process server lays out) says what to do:
//! `procchild exit N` exits with N; `procchild sleep` sleeps until
//! killed (at most ten minutes); anything else exits 0.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

libsys::entry!(main);

fn main(_args: &str) -> u64 {
    let argv = libsys::env::argv();
    match argv.get(1).copied() {
        Some("exit") => argv.get(2).and_then(|n| n.parse().ok()).unwrap_or(1),
        Some("sleep") => {
            for _ in 0..600 {
                libsys::time::sleep_ms(1000);
            }
            0
        }
        _ => 0,
    }
}
