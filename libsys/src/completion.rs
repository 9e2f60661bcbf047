//! Completions (Linux's `struct completion`, from the slide deck and LKD
//! ch. 10): one thread waits until another says a piece of work is done.
//!
//! A completion counts `complete` calls not yet consumed; each waiter
//! consumes one. `complete_all` makes it done for good: every waiter,
//! present and future, passes until [`Completion::reinit`]. Waiters sleep
//! exclusively on a [`WaitQueue`], so `complete` wakes exactly one and
//! `complete_all` all of them.

use core::sync::atomic::{AtomicU32, Ordering};
use core::time::Duration;

use crate::wait::{TimedOut, WaitQueue};

/// The count that means "completed for everyone" (`complete_all`).
const ALL: u32 = u32::MAX;

pub struct Completion {
    done: AtomicU32,
    wait: WaitQueue,
}

impl Completion {
    /// A completion not yet completed (`init_completion`).
    pub const fn new() -> Self {
        Completion {
            done: AtomicU32::new(0),
            wait: WaitQueue::new(),
        }
    }

    /// Lets one waiter through (a present one, or the next to come).
    pub fn complete(&self) {
        let _ = self
            .done
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |d| {
                (d < ALL - 1).then_some(d + 1)
            });
        self.wait.wake_up();
    }

    /// Lets every waiter through, now and until `reinit`.
    pub fn complete_all(&self) {
        self.done.store(ALL, Ordering::Release);
        self.wait.wake_up_all();
    }

    /// Makes it not completed again (`reinit_completion`); only while no
    /// one waits on it.
    pub fn reinit(&self) {
        self.done.store(0, Ordering::Release);
    }

    /// Consumes a completion if there is one; never sleeps
    /// (`try_wait_for_completion`).
    pub fn try_wait(&self) -> bool {
        self.done
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |d| match d {
                0 => None,
                ALL => Some(ALL),
                d => Some(d - 1),
            })
            .is_ok()
    }

    /// Whether a waiter would pass now (`completion_done`).
    pub fn done(&self) -> bool {
        self.done.load(Ordering::Acquire) != 0
    }

    /// Sleeps until completed (`wait_for_completion`).
    pub fn wait_for_completion(&self) {
        if !self.try_wait() {
            self.wait.wait_event_exclusive(|| self.try_wait());
        }
    }

    /// As [`Completion::wait_for_completion`] for at most `timeout`;
    /// returns the time left, or [`TimedOut`] (nothing consumed).
    pub fn wait_for_completion_timeout(&self, timeout: Duration) -> Result<Duration, TimedOut> {
        self.wait
            .wait_event_exclusive_timeout(|| self.try_wait(), timeout)
    }
}

impl Default for Completion {
    fn default() -> Self {
        Self::new()
    }
}
