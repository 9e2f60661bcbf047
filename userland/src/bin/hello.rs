//! The first user process until `init` exists: proves user mode works by
//! greeting through the kernel log, reading the clock, and exiting.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use libsys::syscall;

libsys::entry!(main);

fn main(args: &str) -> u64 {
    libsys::println!("hello from user mode (arguments: {args:?})");
    match syscall::clock() {
        Ok(clock) => libsys::println!(
            "uptime {} ms, jiffies {} at HZ={}, TSC {} MHz",
            clock.uptime_ns / 1_000_000,
            clock.jiffies,
            clock.hz,
            clock.tsc_hz / 1_000_000
        ),
        Err(e) => libsys::eprintln!("clock failed: {e}"),
    }
    0
}
