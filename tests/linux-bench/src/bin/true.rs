//! `/bin/true` of the benchmark's initramfs: exits 0 and does nothing else.
//!
//! `#![no_main]` skips the Rust runtime's start-up (its signal and file
//! descriptor set-up): musl's `_start` calls this `main` directly, so an
//! `execve` of it costs the kernel's work and a few hundred instructions of
//! libc start-up, as a C `true` built static would.
#![no_main]

/// The C entry point musl's start-up code calls.
#[no_mangle]
pub extern "C" fn main(_argc: i32, _argv: *const *const u8) -> i32 {
    0
}
