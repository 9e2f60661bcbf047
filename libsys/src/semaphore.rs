//! Counting semaphores (Linux's `struct semaphore`, LKD ch. 10): `down`
//! takes a unit, sleeping while there is none; `up` gives one back and
//! wakes one sleeper.
//!
//! The count is one atomic: `down` with units left and `up` with no one
//! asleep make no system call. Sleepers wait exclusively on a
//! [`WaitQueue`], so each `up` wakes one of them. It is not strictly FIFO:
//! a thread arriving between an `up` and the woken sleeper's retry may take
//! the unit first (the sleeper then sleeps again); every unit is taken by
//! someone, so no `up` is lost.

use core::sync::atomic::{AtomicU32, Ordering};
use core::time::Duration;

use crate::wait::{TimedOut, WaitQueue};

pub struct Semaphore {
    count: AtomicU32,
    wait: WaitQueue,
}

impl Semaphore {
    /// A semaphore with `count` units (`sema_init`).
    pub const fn new(count: u32) -> Self {
        Semaphore {
            count: AtomicU32::new(count),
            wait: WaitQueue::new(),
        }
    }

    /// Takes a unit if one is free; never sleeps. True if it took one
    /// (note: Linux's `down_trylock` returns 0 on success; this returns a
    /// plain yes/no).
    pub fn try_down(&self) -> bool {
        self.count
            .fetch_update(Ordering::Acquire, Ordering::Relaxed, |c| c.checked_sub(1))
            .is_ok()
    }

    /// Takes a unit, sleeping until one is free.
    pub fn down(&self) {
        if !self.try_down() {
            self.wait.wait_event_exclusive(|| self.try_down());
        }
    }

    /// Takes a unit, sleeping at most `timeout`; [`TimedOut`] if none
    /// came free.
    pub fn down_timeout(&self, timeout: Duration) -> Result<(), TimedOut> {
        if self.try_down() {
            return Ok(());
        }
        self.wait
            .wait_event_exclusive_timeout(|| self.try_down(), timeout)
            .map(|_| ())
    }

    /// Gives a unit back and wakes one sleeper.
    pub fn up(&self) {
        self.count.fetch_add(1, Ordering::Release);
        self.wait.wake_up();
    }

    /// Units free now (a snapshot).
    pub fn count(&self) -> u32 {
        self.count.load(Ordering::Relaxed)
    }
}
