//! The system library: what every user program and server links.
//!
//! - [`abi`]: the kernel ABI — system-call numbers, error codes, log levels,
//!   the register convention. The kernel imports these same definitions,
//!   so a number or a code is defined in exactly one place.
//! - [`elf`]: the checks a program must pass to be loaded (shared with the
//!   kernel).
//! - [`rpc`] and [`server`]: typed requests and replies (postcard), and the
//!   server runtime every server is written against; [`proto`]: each
//!   server's protocol. These make no system call themselves, so the kernel
//!   uses them too (for servers placed inside it).
//! - [`env`]: what a process is told at start (its name service, heap...).
//! - [`errno`]: Linux's error numbers, which every file call returns.
//! - On the bare-metal target: [`syscall`] (the system-call instruction and
//!   thin wrappers, the only assembly in user space), [`handle`] (handles
//!   that close on drop, typed per object), [`ipc`] (messages), [`names`]
//!   (looking servers up), [`mm`] (the memory server: `mmap` and the rest),
//!   [`mem`] (pages from a memory region), [`mapping`] (pages mapped
//!   into this process, lent as a slice, unmapped on drop), [`spawn`]
//!   (building a process from an ELF module), [`thread`] (threads running
//!   closures), [`sync`] (`Mutex`, `Condvar`), [`wait`] (wait queues),
//!   [`completion`], [`semaphore`], [`rwlock`], [`seqlock`],
//!   [`workqueue`] (worker threads, delayed work), [`time`] (sleeping),
//!   [`heap`] (the global allocator, on `kmem`), [`port`] (port I/O).
//! - Pure and host-tested: [`waitlist`] (who a wake-up wakes),
//!   [`workstate`] (a work item's states, delayed-work timers), the
//!   rwlock's admission rules and the sequence counter.
//! - [`fault`]: faults committed on purpose, for the tests of the kernel's
//!   fault handling (safe: they never return).
//! - [`posix`]: POSIX-named calls (`open`, `read`, `spawn`, `waitpid`,
//!   …) over the file, process and terminal servers' clients.
//! - [`rt`] (feature `rt`): the program entry, `println!`, the panic
//!   handler; [`cli`]: the `;`-separated commands of command-line clients.
#![cfg_attr(not(test), no_std)]

extern crate alloc;

pub mod abi;
#[cfg(target_os = "none")]
pub mod callout;
#[cfg(all(feature = "rt", target_os = "none"))]
pub mod cli;
#[cfg(target_os = "none")]
pub mod completion;
pub mod elf;
pub mod env;
pub mod errno;
#[cfg(target_os = "none")]
pub mod exception;
pub mod fault;
#[cfg(target_os = "none")]
pub mod fork;
pub mod grant;
#[cfg(target_os = "none")]
pub mod handle;
#[cfg(target_os = "none")]
pub mod heap;
#[cfg(target_os = "none")]
pub mod ipc;
pub mod later;
#[cfg(target_os = "none")]
pub mod limits;
#[cfg(target_os = "none")]
pub mod mapping;
#[cfg(target_os = "none")]
pub mod mem;
#[cfg(target_os = "none")]
pub mod meter;
#[cfg(target_os = "none")]
pub mod mm;
#[cfg(target_os = "none")]
pub mod names;
#[cfg(target_os = "none")]
pub mod port;
pub mod posix;
pub mod proto;
pub mod record;
pub mod rpc;
#[cfg(all(feature = "rt", target_os = "none"))]
pub mod rt;
pub mod rwlock;
#[cfg(target_os = "none")]
pub mod semaphore;
pub mod seqlock;
pub mod server;
#[cfg(target_os = "none")]
pub mod spawn;
#[cfg(target_os = "none")]
pub mod sync;
#[cfg(target_os = "none")]
pub mod syscall;
#[cfg(target_os = "none")]
pub mod thread;
#[cfg(target_os = "none")]
pub mod time;
#[cfg(target_os = "none")]
pub mod wait;
pub mod waitlist;
#[cfg(target_os = "none")]
pub mod workqueue;
pub mod workstate;
