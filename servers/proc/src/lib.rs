//! The process server's core (LKD chapter 3, "Process Management"): the
//! bookkeeping of processes and signals that the `proc` server does for
//! the whole system, as pure logic tested on the host
//! (`cargo test -p procsrv`). The binary that runs it behind an IPC loop,
//! and the kernel mechanisms it drives (threads, exceptions, unblocking a
//! call), come later.
//!
//! - [`task`]: the process descriptor, `TaskStruct` (LKD's
//!   `task_struct`): pid, parent and children, state (`R`, `S`, `T`, `Z`,
//!   `X`), exit status, process group and session, credentials, command
//!   line, times, controlling terminal, signals, `RLIMIT_NPROC`.
//! - [`table`]: the task list and family tree. `fork` (the child inherits
//!   group, session, credentials, dispositions and mask, not pending
//!   signals), `execve` (handlers reset), `exit` (zombies, `SIGCHLD`,
//!   automatic reaping under `SIG_IGN`/`SA_NOCLDWAIT`, reparenting to
//!   init, `SIGHUP`+`SIGCONT` to newly orphaned groups with stopped
//!   members), `wait4`, `setpgid`/`setsid`, `kill`, alarms, times. The
//!   pid space is the kernel's: the table takes the pids it is given and
//!   refuses duplicates. Effects outside the table are returned as
//!   `table::Event`s.
//! - [`signal`]: numbers and default actions, `sigset_t`, `sigaction`,
//!   pending and blocked sets, delivery order, `sigsuspend`, `EINTR`
//!   versus `SA_RESTART`.
//! - [`cred`]: uids and gids, `setuid`/`setgid`, who may signal whom.
//! - [`wait_status`]: the status word of `wait4` and the `W*` macros.
//! - [`errno`]: Linux error numbers.
//!
//! # The wait status word
//!
//! As Linux encodes it (details in [`wait_status`]):
//!
//! ```text
//!  15            8 7 6          0
//! +---------------+-+------------+
//! |  exit code    |0|     0      |   exited:    WIFEXITED, WEXITSTATUS
//! |       0       |c|   signal   |   killed:    WIFSIGNALED, WTERMSIG, WCOREDUMP (c)
//! |  stop signal  |0x7f          |   stopped:   WIFSTOPPED, WSTOPSIG
//! |         0xffff               |   continued: WIFCONTINUED
//! +------------------------------+
//! ```
//!
//! # What is left to the server
//!
//! Blocking: an operation that must wait (`wait4` with nothing ready,
//! `pause`, `sigsuspend`) returns a "would block" value and the server
//! answers later, when an `Event` says something changed. Threads: a
//! process is one thread for signal purposes (one mask, one pending set).
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

pub mod cred;
pub mod errno;
pub mod signal;
pub mod table;
pub mod task;
pub mod wait_status;

pub use errno::Errno;
pub use table::{Event, ProcessTable, WaitOutcome};
pub use task::{Pid, TaskState, TaskStruct, INIT_PID};
