//! Layer 6: IPC, moving messages between threads.
//!
//! Provides message transfer (`transfer.rs`: `send`, `recv`, `call`,
//! `reply`, `reply_recv`, saved replies), the fast path for register-only
//! calls with a waiting partner (`fast.rs`), page faults as calls to a
//! pager (`pager.rs`, also for the kernel's own accesses to user memory
//! during a system call), and the direct transport to a server core inside
//! the kernel (`service.rs`), grant copy: a window of a caller's memory
//! lent to the server of its call (`grant.rs`), and user exceptions as
//! calls to an exception endpoint with suspension and signal upcalls on the
//! way back to user mode (`exception.rs`), and letting a thread out of the
//! call it is blocked in (`unblock.rs`).
//!
//! May use: `arch`, `klog`, `mem`, `sched`, `obj`.

pub mod exception;
pub mod fast;
pub mod grant;
pub mod pager;
pub mod service;
pub mod transfer;
pub mod unblock;
