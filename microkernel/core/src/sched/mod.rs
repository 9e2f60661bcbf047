//! The scheduler's run queue: which thread runs next on one CPU, and for how
//! long (chapter 4 of *Linux Kernel Development*).
//!
//! Two scheduling classes share the queue, tried in order like Linux's
//! `sched_class` list: the real-time class (`SCHED_FIFO`, `SCHED_RR`; see
//! [`rt`]) and below it the fair class (`SCHED_NORMAL`, the Completely Fair
//! Scheduler; see [`fair`]). When neither has a runnable thread the kernel
//! runs its idle thread, which is not in the queue. Real-time threads get
//! at most 950 ms of every second while a fair thread is runnable (RT
//! throttling, [`bandwidth`]).
//!
//! The kernel owns one [`RunQueue`] per CPU and calls it from its scheduler:
//! [`RunQueue::tick`] from the timer interrupt, [`RunQueue::wake`] when an
//! event arrives, [`RunQueue::block`] and [`RunQueue::yield_current`] on
//! behalf of the current thread, and [`RunQueue::pick_next`] (Linux's
//! `schedule()`) whenever one of them says a reschedule is needed (Linux's
//! `need_resched`). [`RunQueue::switch_to`] is the fast path of synchronous
//! IPC: the caller blocks and the receiver runs at once.
//!
//! The queue owns each thread's scheduling state, keyed by the kernel's
//! thread id. Time is in nanoseconds and passed in by the caller as `now`;
//! the queue keeps the largest `now` it has seen (Linux's `rq->clock`), so a
//! clock that goes backwards only means that no time passes.
//!
//! Invariants, which every operation keeps:
//! - a thread is `Running` exactly when it is `current`; there is at most one;
//! - a `Runnable` thread is in exactly one class queue (the fair tree or its
//!   real-time priority's list), a `Running` or `Blocked` one in none; so
//!   **the current thread is never in a queue**, as in Linux's CFS;
//! - a fair thread counts in the fair load exactly when it is `Runnable` or
//!   `Running`;
//! - every operation is O(log n) in the number of threads.

pub mod bandwidth;
pub mod fair;
pub mod rt;
mod runqueue;
mod slots;

#[cfg(test)]
mod tests;

use core::fmt;

pub use runqueue::RunQueue;
pub use slots::SchedKey;

/// Raw policy number of the fair class in the system-call ABI (Linux:
/// `SCHED_NORMAL`, POSIX `SCHED_OTHER`).
pub const SCHED_NORMAL: u64 = 0;
/// Raw policy number of first-in first-out real time (Linux: `SCHED_FIFO`).
pub const SCHED_FIFO: u64 = 1;
/// Raw policy number of round-robin real time (Linux: `SCHED_RR`).
pub const SCHED_RR: u64 = 2;

/// How a thread is scheduled. Build one with [`Policy::normal`],
/// [`Policy::fifo`], [`Policy::round_robin`] or [`Policy::from_raw`], which
/// check the range; the run queue checks again with [`Policy::checked`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    /// The fair class (`SCHED_NORMAL`); `nice` from -20 (most CPU) to 19.
    Normal { nice: i8 },
    /// Real time, runs until it blocks or yields (`SCHED_FIFO`); `priority`
    /// from 1 to 99, higher runs first.
    Fifo { priority: u8 },
    /// Real time with a timeslice among equal priorities (`SCHED_RR`);
    /// `priority` from 1 to 99, higher runs first.
    RoundRobin { priority: u8 },
}

impl Default for Policy {
    /// `SCHED_NORMAL` at nice 0, what a new Linux process gets.
    fn default() -> Self {
        Policy::Normal { nice: 0 }
    }
}

impl Policy {
    /// A fair policy; `Err(InvalidPolicy)` unless `nice` is in -20..=19.
    pub fn normal(nice: i8) -> Result<Self, SchedError> {
        Policy::Normal { nice }.checked()
    }

    /// A `SCHED_FIFO` policy; `Err(InvalidPolicy)` unless `priority` is in
    /// 1..=99.
    pub fn fifo(priority: u8) -> Result<Self, SchedError> {
        Policy::Fifo { priority }.checked()
    }

    /// A `SCHED_RR` policy; `Err(InvalidPolicy)` unless `priority` is in
    /// 1..=99.
    pub fn round_robin(priority: u8) -> Result<Self, SchedError> {
        Policy::RoundRobin { priority }.checked()
    }

    /// Decodes the system-call arguments: `policy` is `SCHED_NORMAL`,
    /// `SCHED_FIFO` or `SCHED_RR` and `param` the nice value or the
    /// real-time priority. An unknown policy or a value out of range is
    /// `Err(InvalidPolicy)`.
    pub fn from_raw(policy: u64, param: i64) -> Result<Self, SchedError> {
        let nice = || i8::try_from(param).map_err(|_| SchedError::InvalidPolicy);
        let priority = || u8::try_from(param).map_err(|_| SchedError::InvalidPolicy);
        match policy {
            SCHED_NORMAL => Policy::normal(nice()?),
            SCHED_FIFO => Policy::fifo(priority()?),
            SCHED_RR => Policy::round_robin(priority()?),
            _ => Err(SchedError::InvalidPolicy),
        }
    }

    /// The policy itself if its nice value or priority is in range, else
    /// `Err(InvalidPolicy)`. The variants are public, so anyone can build
    /// `Normal { nice: 100 }`; this is where it is caught.
    pub fn checked(self) -> Result<Self, SchedError> {
        let valid = match self {
            Policy::Normal { nice } => (fair::MIN_NICE..=fair::MAX_NICE).contains(&nice),
            Policy::Fifo { priority } | Policy::RoundRobin { priority } => {
                (rt::MIN_USER_RT_PRIO..=rt::MAX_USER_RT_PRIO).contains(&priority)
            }
        };
        if valid {
            Ok(self)
        } else {
            Err(SchedError::InvalidPolicy)
        }
    }

    /// The real-time priority, or `None` for a fair policy.
    pub fn rt_priority(self) -> Option<u8> {
        match self {
            Policy::Normal { .. } => None,
            Policy::Fifo { priority } | Policy::RoundRobin { priority } => Some(priority),
        }
    }

    /// The fair-class weight (Linux: `se.load.weight`); real-time threads
    /// do not use it.
    fn weight(self) -> u64 {
        match self {
            Policy::Normal { nice } => fair::nice_to_weight(nice),
            _ => fair::NICE_0_LOAD,
        }
    }
}

impl TryFrom<(u64, i64)> for Policy {
    type Error = SchedError;

    /// `(policy, param)` as in [`Policy::from_raw`].
    fn try_from((policy, param): (u64, i64)) -> Result<Self, SchedError> {
        Policy::from_raw(policy, param)
    }
}

/// Why a run-queue operation was refused. A refused operation changes
/// nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SchedError {
    /// Unknown policy number, nice outside -20..=19 or real-time priority
    /// outside 1..=99.
    InvalidPolicy,
    /// No thread with this id is in the queue.
    NoSuchThread,
    /// `add` of an id that is already in the queue.
    AlreadyPresent,
    /// `switch_to` a thread that is not blocked (it is runnable or running
    /// already, so it cannot be handed the CPU directly).
    NotBlocked,
}

impl fmt::Display for SchedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SchedError::InvalidPolicy => "invalid scheduling policy or priority",
            SchedError::NoSuchThread => "no such thread in the run queue",
            SchedError::AlreadyPresent => "thread already in the run queue",
            SchedError::NotBlocked => "thread is not blocked",
        })
    }
}

/// Where a thread is in its life on the CPU (Linux: `TASK_RUNNING` covers
/// both `Running` and `Runnable`; `Blocked` is `TASK_INTERRUPTIBLE` or
/// `TASK_UNINTERRUPTIBLE`, which this queue does not tell apart).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// On the CPU: the run queue's current thread.
    Running,
    /// Waiting in a class queue for the CPU.
    Runnable,
    /// Waiting for an event; in no queue until woken.
    Blocked,
}

/// A snapshot of one thread's scheduling state and statistics (what Linux
/// shows in `/proc/<pid>/sched`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ThreadStats {
    pub policy: Policy,
    pub state: State,
    /// Nanoseconds spent on the CPU, up to the last time the queue accounted
    /// it (every call that takes `now`).
    pub sum_exec_runtime: u64,
    /// Virtual runtime (meaningful for fair threads).
    pub vruntime: u64,
    /// Times it left the CPU by blocking or yielding (Linux: `nvcsw`).
    pub nr_voluntary_switches: u64,
    /// Times it was preempted while still runnable (Linux: `nivcsw`).
    pub nr_involuntary_switches: u64,
    /// Times it was woken from `Blocked`, including by `switch_to`.
    pub nr_wakeups: u64,
}

/// One thread's scheduling state (Linux: the `sched_entity` and
/// `sched_rt_entity` in `task_struct`, with the statistics).
#[derive(Clone, Copy, Debug)]
pub(crate) struct SchedEntity {
    policy: Policy,
    state: State,
    vruntime: u64,
    sum_exec_runtime: u64,
    /// `sum_exec_runtime` when it was last picked: how long it has run since
    /// is what the slice is compared with.
    prev_sum_exec_runtime: u64,
    /// Clock when its running time was last accounted.
    exec_start: u64,
    /// What is left of a round-robin thread's timeslice.
    time_slice: u64,
    /// Its sequence number in its real-time list, while queued there.
    rt_seq: u64,
    /// Added but never woken yet: its first wake-up places it as a new
    /// thread (after `min_vruntime`), not as a sleeper (before it).
    fresh: bool,
    nr_voluntary_switches: u64,
    nr_involuntary_switches: u64,
    nr_wakeups: u64,
}

impl SchedEntity {
    fn new(policy: Policy, vruntime: u64) -> Self {
        SchedEntity {
            policy,
            state: State::Blocked,
            vruntime,
            sum_exec_runtime: 0,
            prev_sum_exec_runtime: 0,
            exec_start: 0,
            time_slice: rt::RR_TIMESLICE,
            rt_seq: 0,
            fresh: true,
            nr_voluntary_switches: 0,
            nr_involuntary_switches: 0,
            nr_wakeups: 0,
        }
    }

    fn is_fair(&self) -> bool {
        matches!(self.policy, Policy::Normal { .. })
    }

    fn stats(&self) -> ThreadStats {
        ThreadStats {
            policy: self.policy,
            state: self.state,
            sum_exec_runtime: self.sum_exec_runtime,
            vruntime: self.vruntime,
            nr_voluntary_switches: self.nr_voluntary_switches,
            nr_involuntary_switches: self.nr_involuntary_switches,
            nr_wakeups: self.nr_wakeups,
        }
    }
}

/// Whether a thread with `candidate`'s policy and vruntime should take the
/// CPU from `current` (Linux: `check_preempt_curr`): any real-time thread
/// beats a fair one, a higher real-time priority beats a lower one, and a
/// fair thread beats another only by more than the wake-up granularity.
fn preempts(candidate: &SchedEntity, current: &SchedEntity) -> bool {
    match (candidate.policy.rt_priority(), current.policy.rt_priority()) {
        (Some(woken), Some(running)) => woken > running,
        (Some(_), None) => true,
        (None, Some(_)) => false,
        (None, None) => fair::wakeup_preempt_entity(
            current.vruntime,
            candidate.vruntime,
            candidate.policy.weight(),
        ),
    }
}
