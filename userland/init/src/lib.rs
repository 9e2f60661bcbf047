//! `init`'s logic, host-tested: the boot manifest ([`manifest`]), the name
//! registry ([`names`]), the process table with credentials ([`procs`]) and
//! the restart policy ([`restart`]). The process
//! (`src/bin/init/`) puts them to work with system calls.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

pub mod manifest;
pub mod names;
pub mod procs;
pub mod restart;
