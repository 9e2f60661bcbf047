//! The kernel's pure logic, in the manner of Hubris's `kerncore`: data
//! structures and algorithms that need no hardware, tested on the host with
//! `cargo test -p kcore`. The kernel (`microkernel/`) wraps them with the
//! locks and the memory they need.
#![cfg_attr(not(test), no_std)]

// The scheduler's run queue keeps its trees on the heap. The kernel has no
// global allocator yet, and linking `alloc` into it would demand one, so
// `sched` is built for the kernel only with the `alloc` feature (host tests
// always build it).
#[cfg(any(test, feature = "alloc"))]
extern crate alloc;

pub mod acpi;
pub mod frames;
pub mod ioapic;
pub mod logring;
#[cfg(any(test, feature = "alloc"))]
pub mod sched;
