//! The state machines behind [`crate::workqueue`], as pure data so that the
//! host tests can drive them with a simulated executor.
//!
//! [`WorkState`] is one work item (Linux's `work_struct` flags, LKD ch. 8):
//!
//! - *idle*: neither pending nor running;
//! - *pending*: queued and not yet started, in one of three places
//!   ([`Pending`]): on a timer (delayed work), on a workqueue's list, or
//!   owed by the worker running it right now (queued again while it ran:
//!   the worker puts it back on the list when the run ends, so one item
//!   never runs on two workers at once);
//! - *running*: a worker is in its function (possibly pending as well).
//!
//! The guarantees the tests check:
//! - `queue` on a pending item is refused (returns false), so an item
//!   queued twice before it runs runs once;
//! - an accepted `queue` is followed by a run that starts after it (unless
//!   cancelled);
//! - never two runs of one item at once;
//! - `cancel` takes the pending state (reporting whether it was pending),
//!   refuses queueing until it ends, and ends only when no run is in
//!   progress: after `cancel_work_sync` the function is not running and
//!   will not run until queued again;
//! - a flush ends once the run covering every queueing before it has
//!   finished (or the item was cancelled, or is idle).
//!
//! [`TimerList`] keeps delayed items by deadline (ties: first armed, first
//! expired).

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

/// Where a pending item waits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pending {
    /// On a timer, until its deadline.
    Timer,
    /// On a workqueue's list, for a worker.
    List,
    /// Owed by the worker that is running it: requeued when the run ends.
    Runner,
}

/// What a `queue` asked of the caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueueOutcome {
    /// Pending already (or being cancelled): nothing to do, `queue_work`
    /// returns false.
    Refused,
    /// Put it on the list (immediate) or arm its timer (delayed).
    Accepted(Pending),
}

/// One work item's state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WorkState {
    pending: Option<Pending>,
    running: bool,
    canceling: bool,
    /// Accepted queueings so far.
    queued_gen: u64,
    /// The `queued_gen` covered by the last run that finished.
    finished_gen: u64,
}

impl WorkState {
    pub const fn new() -> Self {
        WorkState {
            pending: None,
            running: false,
            canceling: false,
            queued_gen: 0,
            finished_gen: 0,
        }
    }

    pub fn pending(&self) -> Option<Pending> {
        self.pending
    }

    pub fn running(&self) -> bool {
        self.running
    }

    /// Queues the item, now (`delayed` false) or on a timer.
    pub fn queue(&mut self, delayed: bool) -> QueueOutcome {
        if self.canceling || self.pending.is_some() {
            return QueueOutcome::Refused;
        }
        self.queued_gen += 1;
        let at = match (delayed, self.running) {
            (true, _) => Pending::Timer,
            (false, true) => Pending::Runner,
            (false, false) => Pending::List,
        };
        self.pending = Some(at);
        QueueOutcome::Accepted(at)
    }

    /// `mod_delayed_work`: takes the item out of wherever it is pending
    /// (the caller removes it from the list or timer it names) and queues
    /// it again, on a timer or now. Returns (was it pending, where it is
    /// pending now); `None` while it is being cancelled.
    pub fn modify(&mut self, delayed: bool) -> Option<(Option<Pending>, Pending)> {
        if self.canceling {
            return None;
        }
        let was = self.pending.take();
        if was.is_some() {
            // The pending queueing is moved, not a new one: keep the
            // generation so flushes wait for the same run.
            self.queued_gen -= 1;
        }
        match self.queue(delayed) {
            QueueOutcome::Accepted(now) => Some((was, now)),
            QueueOutcome::Refused => unreachable!("not pending, not canceling"),
        }
    }

    /// The timer fired: the item goes to the list (returns true: put it
    /// there), or to its runner if it is running. False if it was not
    /// waiting on a timer (cancelled or modified meanwhile).
    pub fn expire(&mut self) -> bool {
        if self.pending != Some(Pending::Timer) {
            return false;
        }
        if self.running {
            self.pending = Some(Pending::Runner);
            false
        } else {
            self.pending = Some(Pending::List);
            true
        }
    }

    /// A worker took the item off the list: it may run unless it was
    /// cancelled meanwhile or is running on another worker (then that one
    /// owes the run). Returns the generation the run covers.
    pub fn start(&mut self) -> Option<u64> {
        if self.pending != Some(Pending::List) {
            return None;
        }
        if self.running {
            self.pending = Some(Pending::Runner);
            return None;
        }
        self.pending = None;
        self.running = true;
        Some(self.queued_gen)
    }

    /// The run that covered `run_gen` returned. True: the worker puts the
    /// item back on the list (it was queued again while it ran).
    pub fn finish(&mut self, run_gen: u64) -> bool {
        self.running = false;
        self.finished_gen = self.finished_gen.max(run_gen);
        if self.pending == Some(Pending::Runner) {
            self.pending = Some(Pending::List);
            true
        } else {
            false
        }
    }

    /// What a flush started now waits for: `None` if there is nothing to
    /// wait for (idle).
    pub fn flush_target(&self) -> Option<u64> {
        (self.pending.is_some() || self.running).then_some(self.queued_gen)
    }

    /// Whether a flush waiting for `target` may end.
    pub fn flushed(&self, target: u64) -> bool {
        self.finished_gen >= target || (self.pending.is_none() && !self.running)
    }

    /// Starts a cancel: takes the pending state (the caller removes the
    /// item from where it was pending) and refuses queueing until
    /// [`WorkState::cancel_end`]. Returns where it was pending.
    pub fn cancel_begin(&mut self) -> Option<Pending> {
        self.canceling = true;
        self.pending.take()
    }

    /// Whether a cancel may end: no run in progress.
    pub fn cancel_may_end(&self) -> bool {
        !self.running
    }

    pub fn cancel_end(&mut self) {
        self.canceling = false;
    }
}

/// Delayed items by deadline; equal deadlines expire in the order armed.
pub struct TimerList<T> {
    timers: BTreeMap<(u64, u64), T>,
    armed: u64,
}

/// Names one armed timer, to take it out again.
pub type TimerKey = (u64, u64);

impl<T> TimerList<T> {
    pub const fn new() -> Self {
        TimerList {
            timers: BTreeMap::new(),
            armed: 0,
        }
    }

    /// Arms a timer for `item` at `deadline`.
    pub fn insert(&mut self, deadline: u64, item: T) -> TimerKey {
        self.armed += 1;
        let key = (deadline, self.armed);
        self.timers.insert(key, item);
        key
    }

    pub fn remove(&mut self, key: TimerKey) -> Option<T> {
        self.timers.remove(&key)
    }

    /// The earliest deadline.
    pub fn next_deadline(&self) -> Option<u64> {
        self.timers.keys().next().map(|&(deadline, _)| deadline)
    }

    /// Takes out every timer due at `now`, earliest first.
    pub fn expire(&mut self, now: u64) -> Vec<(TimerKey, T)> {
        let mut due = Vec::new();
        while let Some(entry) = self.timers.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let key = *entry.key();
            due.push((key, entry.remove()));
        }
        due
    }

    pub fn len(&self) -> usize {
        self.timers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.timers.is_empty()
    }
}

impl<T> Default for TimerList<T> {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests;
