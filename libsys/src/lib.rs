//! The system library.
//!
//! Today it holds the kernel ABI ([`abi`]): system-call numbers, error codes,
//! log levels and the register convention. The kernel imports these same
//! definitions, so a number or a code is defined in exactly one place. The
//! system-call wrappers, typed IPC and the server runtime join it as the
//! kernel grows them.
#![cfg_attr(not(test), no_std)]

pub mod abi;
