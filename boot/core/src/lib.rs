//! Pure logic of the project's Limine-protocol UEFI loader.
//!
//! Everything here is plain computation over byte slices and plain data, so it
//! runs (and is tested) on the host as well as inside the UEFI application in
//! `boot/src/`. Nothing in this crate touches firmware or hardware.
#![cfg_attr(not(test), no_std)]

extern crate alloc;

pub mod config;
pub mod devpath;
pub mod elf;
pub mod memmap;
pub mod protocol;
pub mod requests;
pub mod responses;
