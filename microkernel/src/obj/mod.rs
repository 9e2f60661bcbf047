//! Layer 5: kernel objects, the things a handle names.
//!
//! Provides threads as objects (`thread.rs`: a scheduler task with its
//! process and IPC state), processes (`process.rs`, with the ELF loader
//! `elfload.rs`), the console hand-off and log watchers (`console.rs`),
//! endpoints, notifications, reply objects, IRQ lines,
//! memory regions, in-kernel services, and the handle table with what its
//! entries hold (`handle.rs`); per-process limits and the reaping of what
//! can never run (`limits.rs`).
//!
//! May use: `arch`, `klog`, `mem`, `sched`. Objects hold the threads
//! waiting on them and end their waits through `sched::wait`; moving a
//! message between two threads is the layer above's (`ipc`).

pub mod console;
pub mod elfload;
pub mod endpoint;
pub mod handle;
pub mod irq;
pub mod limits;
pub mod notification;
pub mod process;
pub mod region;
pub mod reply;
pub mod service;
mod service_timer;
pub mod thread;
