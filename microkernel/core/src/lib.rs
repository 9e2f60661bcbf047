//! The kernel's pure logic, in the manner of Hubris's `kerncore`: data
//! structures and algorithms that need no hardware, tested on the host with
//! `cargo test -p kcore`. The kernel (`microkernel/`) wraps them with the
//! locks and the memory they need. Both users of this crate (the kernel and
//! the loader) have a heap, so `alloc` is available (the run queue keeps its
//! trees there).
#![cfg_attr(not(test), no_std)]
#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]

extern crate alloc;

pub mod acpi;
pub mod devmem;
pub mod fifo;
pub mod frames;
pub mod handle;
pub mod ioapic;
pub mod limits;
pub mod logring;
pub mod msi;
pub mod pte;
pub mod sched;
