//! The benchmark program that `make bench` boots: it times operations with
//! the TSC and prints one line per case,
//!
//! `BENCH <case> placement=<micro|mono> accel=<tcg|icount> median=<ticks> min=<ticks> n=<iterations>`
//!
//! where median and min are TSC ticks per iteration over [`BATCHES`]
//! batches and n counts every iteration timed. Its argument says what the
//! host booted it under (`accel=icount` when QEMU ran with
//! `-icount shift=0`, where one TSC tick is one executed instruction).
//!
//! Cases:
//! - `loop2`: a loop of exactly two instructions per iteration (`dec`,
//!   `jnz`): under icount it must show 2, which checks that a tick is one
//!   instruction;
//! - `empty_loop`: the loop the other cases run in, with nothing in it;
//! - `null_syscall`: the null system call, user space to the kernel and
//!   back (loop included, as in the other cases).
#![no_std]
#![no_main]

use libsys::syscall::{self, rdtsc};

libsys::entry!(main);

/// Batches per case: the median and minimum are over these.
const BATCHES: usize = 51;

fn main(args: &str) -> u64 {
    let accel = args
        .split_whitespace()
        .find_map(|w| w.strip_prefix("accel="))
        .unwrap_or("tcg");
    let placement = "micro";
    let report = |case: &str, (median, min, n): (u64, u64, u64)| {
        libsys::println!(
            "BENCH {case} placement={placement} accel={accel} median={median} min={min} n={n}"
        );
    };
    report("loop2", measure(1, || loop2(100_000), 100_000));
    report(
        "empty_loop",
        measure(2_000, || core::hint::black_box(()), 1),
    );
    report(
        "null_syscall",
        measure(
            2_000,
            || {
                let _ = syscall::null();
            },
            1,
        ),
    );
    0
}

/// Runs `f` `per_batch` times in each of [`BATCHES`] batches; `f` does
/// `unit` iterations per call. Returns (median, minimum) ticks per
/// iteration and the iterations timed.
fn measure(per_batch: u64, mut f: impl FnMut(), unit: u64) -> (u64, u64, u64) {
    let mut ticks = [0u64; BATCHES];
    // One batch to warm up (page faults, caches), not counted.
    for _ in 0..per_batch {
        f();
    }
    for slot in ticks.iter_mut() {
        let start = rdtsc();
        for _ in 0..per_batch {
            f();
        }
        *slot = (rdtsc() - start) / (per_batch * unit);
    }
    ticks.sort_unstable();
    (
        ticks[BATCHES / 2],
        ticks[0],
        BATCHES as u64 * per_batch * unit,
    )
}

/// Exactly two instructions per iteration.
#[inline(never)]
fn loop2(iterations: u64) {
    // SAFETY: a register-only countdown loop.
    unsafe {
        core::arch::asm!(
            "2:",
            "dec {n}",
            "jnz 2b",
            n = inout(reg) iterations => _,
            options(nomem, nostack),
        )
    };
}
