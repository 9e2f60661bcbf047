//! The text logic of the everyday tools, host-tested.
//!
//! Each tool in `userland/src/bin` reads its input and writes its output
//! through `libsys::posix`; what it computes in between lives here, free of
//! system calls, so `cargo test -p textutil` checks it on the host against
//! what GNU coreutils and POSIX say the tools do.
#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;

pub mod cut;
pub mod date;
pub mod diff;
pub mod getopt;
pub mod hexdump;
pub mod mounts;
pub mod printf;
pub mod regex;
pub mod sort;
pub mod stty;
pub mod sweep;
pub mod tail;
pub mod top;
pub mod words;
