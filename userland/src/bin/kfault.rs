//! Commits one fault, named by its argument, so the kernel's test runner
//! can check that the kernel kills this process (with the right vector in
//! its log line) and carries on. Each fault is something a buggy or hostile
//! program does; none may hurt the kernel or other processes. The faults
//! themselves are `libsys::fault`'s: this program has no `unsafe` of its
//! own.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use libsys::fault::{self, Fault};

libsys::entry!(main);

/// Exits 1 for an unknown fault, [`fault::NOT_KILLED`] if the fault did
/// not kill the process; otherwise never exits at all.
fn main(args: &str) -> u64 {
    let Some(which) = Fault::from_name(args) else {
        libsys::eprintln!("unknown fault {args:?}");
        return 1;
    };
    libsys::println!("committing fault {args:?}");
    fault::commit(which)
}
