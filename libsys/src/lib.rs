//! The system library: what every user program and server links.
//!
//! - [`abi`]: the kernel ABI — system-call numbers, error codes, log levels,
//!   the register convention. The kernel imports these same definitions,
//!   so a number or a code is defined in exactly one place.
//! - [`elf`]: the checks a program must pass to be loaded (shared with the
//!   kernel).
//! - On the bare-metal target: [`syscall`] (the system-call instruction and
//!   thin wrappers, the only assembly in user space), [`handle`] (handles
//!   that close on drop, typed per object), [`ipc`] (messages), [`mem`]
//!   (pages from a memory region), [`spawn`] (building a process from an
//!   ELF module), [`thread`], [`init`] (what the first process is given).
//! - [`rt`] (feature `rt`): the program entry, `println!`, the panic
//!   handler.
#![cfg_attr(not(test), no_std)]

pub mod abi;
pub mod elf;
#[cfg(target_os = "none")]
pub mod handle;
#[cfg(target_os = "none")]
pub mod init;
#[cfg(target_os = "none")]
pub mod ipc;
#[cfg(target_os = "none")]
pub mod mem;
#[cfg(target_os = "none")]
pub mod port;
#[cfg(all(feature = "rt", target_os = "none"))]
pub mod rt;
#[cfg(target_os = "none")]
pub mod spawn;
#[cfg(target_os = "none")]
pub mod syscall;
#[cfg(target_os = "none")]
pub mod thread;
