//! Layer 4: running threads.
//!
//! Provides the [`Task`] (the part of a thread the scheduler runs: kernel
//! stack, saved context, policy, FS base, wait state), the scheduler
//! (`scheduler.rs`: `kcore::sched`'s CFS and real-time run queue, the
//! context switch, lazy IPC hand-offs), blocking and waking with an
//! outcome (`wait.rs`), and timeouts on a wait (`timeout.rs`).
//!
//! May use: `arch`, `klog`, `mem`. The objects above it (a thread's
//! process, the endpoint or notification it waits on) reach it only
//! through two traits it defines: [`Schedulable`] (what a thread object
//! gives the scheduler) and [`wait::WaitQueue`] (a queue a wait can be
//! taken off, for a timeout or a kill).

mod scheduler;
pub mod task;
pub mod timeout;
pub mod wait;

pub use scheduler::{
    block_and_switch_to, block_current, current_has_work, current_killed, current_name_and_tid,
    exit_current, idle, init, preempt_point, set_policy, spawn, stats, tick, wake, yield_current,
};
pub use task::{Schedulable, Task};
