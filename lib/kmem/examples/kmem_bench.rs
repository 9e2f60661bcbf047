//! The slab fast path against the host's allocator: alloc+free of one
//! size, in ns per pair, for kmem's object cache, kmalloc, and the
//! `GlobalAlloc` adapter (with its spin lock), each next to
//! `std::alloc::System` (glibc malloc) for the same size in the same run.
//!
//! Run: `cargo run --release -p kmem --example kmem_bench`
//!
//! Method: 31 batches of 100,000 pairs each, a kmem batch and a system
//! batch alternating so that both see the same machine load; the figures
//! are the median (and minimum) ns per pair over the batches, the ratio is
//! the median of the per-batch kmem/system ratios (below 1: kmem faster).
//! "pair" allocates and at once frees one object (the fast path);
//! "burst-64" allocates 64 objects, then frees them in reverse order.

#[path = "../tests/common/mod.rs"]
mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::ptr::NonNull;
use std::time::Instant;

use common::HostPages;
use kmem::{kmem_cache_create, Kmalloc, SlabAllocator, SlabFlags, GFP_KERNEL};

const BATCH: usize = 100_000;
const BATCHES: usize = 31;
const BURST: usize = 64;

/// ns per pair of one batch of `run`, which does `BATCH` pairs.
fn time(run: &mut dyn FnMut()) -> f64 {
    let start = Instant::now();
    run();
    start.elapsed().as_nanos() as f64 / BATCH as f64
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn min(values: &[f64]) -> f64 {
    values.iter().copied().fold(f64::INFINITY, f64::min)
}

/// Runs the two alternately and prints one line.
fn compare(what: &str, size: usize, kmem: &mut dyn FnMut(), system: &mut dyn FnMut()) {
    kmem();
    system();
    let (mut k, mut s) = (Vec::new(), Vec::new());
    for _ in 0..BATCHES {
        s.push(time(system));
        k.push(time(kmem));
    }
    let ratio = median(k.iter().zip(&s).map(|(k, s)| k / s).collect());
    println!(
        "{what} {size}B alloc+free: {:.1} ns/pair; system: {:.1} ns/pair; ratio {ratio:.2}  (min {:.1} / {:.1})",
        median(k.clone()),
        median(s.clone()),
        min(&k),
        min(&s),
    );
}

fn system_pairs(layout: Layout) -> impl FnMut() {
    move || {
        for _ in 0..BATCH {
            // SAFETY: a non-zero layout; the block is freed at once.
            unsafe {
                let p = black_box(System.alloc(layout));
                System.dealloc(p, layout);
            }
        }
    }
}

fn system_bursts(layout: Layout) -> impl FnMut() {
    let mut held = [std::ptr::null_mut(); BURST];
    move || {
        for _ in 0..BATCH / BURST {
            for slot in held.iter_mut() {
                // SAFETY: a non-zero layout.
                *slot = black_box(unsafe { System.alloc(layout) });
            }
            for &p in held.iter().rev() {
                // SAFETY: allocated just above with `layout`.
                unsafe { System.dealloc(p, layout) };
            }
        }
    }
}

fn main() {
    for size in [64, 16, 256, 1024, 4096] {
        let layout = Layout::from_size_align(size, 8).unwrap();

        let mut cache =
            kmem_cache_create("bench", size, 0, SlabFlags::empty(), None, HostPages::new())
                .unwrap();
        compare(
            "kmem",
            size,
            &mut || {
                for _ in 0..BATCH {
                    let p = black_box(cache.alloc(GFP_KERNEL).unwrap());
                    cache.free(p).unwrap();
                }
            },
            &mut system_pairs(layout),
        );

        let mut held = [NonNull::dangling(); BURST];
        compare(
            "kmem burst-64",
            size,
            &mut || {
                for _ in 0..BATCH / BURST {
                    for slot in held.iter_mut() {
                        *slot = black_box(cache.alloc(GFP_KERNEL).unwrap());
                    }
                    for &p in held.iter().rev() {
                        cache.free(p).unwrap();
                    }
                }
            },
            &mut system_bursts(layout),
        );

        let mut kmalloc = Kmalloc::new(HostPages::new());
        compare(
            "kmalloc",
            size,
            &mut || {
                for _ in 0..BATCH {
                    let p = black_box(kmalloc.kmalloc(size, GFP_KERNEL).unwrap());
                    kmalloc.kfree(p.as_ptr()).unwrap();
                }
            },
            &mut system_pairs(layout),
        );

        let heap = SlabAllocator::new(HostPages::new());
        compare(
            "global",
            size,
            &mut || {
                for _ in 0..BATCH {
                    // SAFETY: a non-zero layout; the block is freed at once.
                    unsafe {
                        let p = black_box(heap.alloc(layout));
                        heap.dealloc(p, layout);
                    }
                }
            },
            &mut system_pairs(layout),
        );
    }
}
