//! The system library: what every user program and server links.
//!
//! - [`abi`]: the kernel ABI — system-call numbers, error codes, log levels,
//!   the register convention. The kernel imports these same definitions,
//!   so a number or a code is defined in exactly one place.
//! - [`syscall`] (bare-metal target only): the system-call instruction and
//!   typed wrappers, the only assembly in user space.
//! - [`rt`] (feature `rt`): the program entry, `println!`, the panic
//!   handler.
//!
//! Typed IPC and the server runtime join it as the kernel grows them.
#![cfg_attr(not(test), no_std)]

pub mod abi;
#[cfg(all(feature = "rt", target_os = "none"))]
pub mod rt;
#[cfg(target_os = "none")]
pub mod syscall;
