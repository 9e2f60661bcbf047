//! The kernel's pure logic, in the manner of Hubris's `kerncore`: data
//! structures and algorithms that need no hardware, tested on the host with
//! `cargo test -p kcore`. The kernel (`microkernel/`) wraps them with the
//! locks and the memory they need.
#![cfg_attr(not(test), no_std)]

pub mod acpi;
pub mod frames;
pub mod ioapic;
pub mod logring;
pub mod pte;
