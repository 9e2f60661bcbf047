//! A server that crashes on every start (a null write before it ever
//! registers): the boot manifest gives it a small restart budget, and
//! `init` must restart it that many times, then mark it failed — and the
//! rest of the system must carry on (`nstest` checks its name says
//! `Failed`).
#![no_std]
#![no_main]

libsys::entry!(main);

fn main(_args: &str) -> u64 {
    libsys::println!("crashy: starting, and crashing");
    // SAFETY: none: this write faults on purpose (page 0 is never mapped),
    // and the kernel kills the process with a page fault.
    unsafe { core::ptr::null_mut::<u64>().write_volatile(1) };
    0
}
