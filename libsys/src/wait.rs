//! Wait queues between the threads of one process (Linux's
//! `wait_queue_head_t`, LKD ch. 4): a thread sleeps until a condition holds,
//! and whoever makes it hold wakes the queue.
//!
//! Each sleeping thread has an entry on its own stack naming a
//! notification of its own (taken from a process-wide pool and given back
//! drained). The list of entries ([`crate::waitlist::WaiterList`]) sits
//! behind a [`Mutex`]; a waker takes entries out and marks each woken
//! under that lock, and signals their notifications after releasing it
//! (so a woken thread that runs at once does not block on the lock); a
//! woken waiter checks its condition before taking the lock again.
//!
//! No lost wake-ups: a waiter adds itself to the list *before* it checks
//! the condition (`prepare_to_wait`, then the check, then the sleep), so a
//! waker that made the condition true after the check finds it in the
//! list, and a signal sent before the sleep stays in the notification.
//! Wakers skip the lock when no one sleeps; the full fence on both sides
//! (after registering, before looking) is Linux's `wq_has_sleeper`.
//!
//! Exclusive waiters are woken one per `wake_up` (see the list). An
//! exclusive waiter that was woken but then times out with its condition
//! still false passes the wake-up on, as Linux's `prepare_to_wait_event`
//! does, so it is not lost to the others.

use core::sync::atomic::{fence, AtomicBool, AtomicUsize, Ordering};
use core::time::Duration;

use alloc::vec::Vec;

use crate::abi::ipc::FOREVER;
use crate::abi::{Handle, SysError};
use crate::handle::Notification;
use crate::sync::Mutex;
use crate::waitlist::WaiterList;

/// A wait ran out of time with its condition still false.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimedOut;

impl core::fmt::Display for TimedOut {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("timed out")
    }
}

/// Notifications of waiters that are not waiting now, drained.
/// How many woken waiters' notifications `wake` signals after releasing
/// the list's lock (the rest, if a wake-up takes more, under it).
const SIGNAL_AFTER_UNLOCK: usize = 4;

static POOL: Mutex<Vec<u32>> = Mutex::new(Vec::new());

/// A drained notification for one wait, from the pool or new.
fn take_notification() -> Option<u32> {
    if let Some(raw) = POOL.lock().pop() {
        return Some(raw);
    }
    Notification::create().ok().map(|n| n.0.into_raw().0)
}

/// Gives `raw` back, drained of a signal a waker sent after the wait ended
/// (`drain`; a wait that consumed the one signal its one wake-up sent has
/// nothing to drain, and skips the system call).
fn put_notification(raw: u32, drain: bool) {
    if drain {
        let _ = notification(raw).poll();
    }
    POOL.lock().push(raw);
}

fn notification(raw: u32) -> core::mem::ManuallyDrop<Notification> {
    // SAFETY: `raw` came from `take_notification`: a handle this process
    // keeps open for as long as it is in the pool or lent to a waiter.
    core::mem::ManuallyDrop::new(unsafe { Notification::from_raw(Handle(raw)) })
}

/// A sleeping thread, on its own stack.
struct Entry {
    notification: u32,
    /// Set, last, by the waker that took the entry out of the list.
    woken: AtomicBool,
}

/// A pointer to an [`Entry`] in the list.
#[derive(Clone, Copy, PartialEq, Eq)]
struct EntryRef(*const Entry);

// SAFETY: an entry is touched by other threads only under the queue's lock
// while it is in the list, and its owner takes it out (or sees it taken
// out) before its stack frame ends (`WaitQueue::finish_wait`).
unsafe impl Send for EntryRef {}

/// A wait queue.
pub struct WaitQueue {
    list: Mutex<WaiterList<EntryRef>>,
    /// Entries in the list (read without the lock by wakers).
    sleepers: AtomicUsize,
}

impl WaitQueue {
    pub const fn new() -> Self {
        WaitQueue {
            list: Mutex::new(WaiterList::new()),
            sleepers: AtomicUsize::new(0),
        }
    }

    /// Sleeps until `condition()` is true (Linux's `wait_event`).
    pub fn wait_event(&self, condition: impl FnMut() -> bool) {
        let _ = self.wait(condition, None, false);
    }

    /// Sleeps until `condition()` is true or `timeout` has passed. Returns
    /// the time left (`wait_event_timeout`), or [`TimedOut`] if the
    /// condition was still false at the end.
    pub fn wait_event_timeout(
        &self,
        condition: impl FnMut() -> bool,
        timeout: Duration,
    ) -> Result<Duration, TimedOut> {
        self.wait(condition, Some(timeout), false)
    }

    /// As [`WaitQueue::wait_event`], as an exclusive waiter: a `wake_up`
    /// wakes one exclusive waiter at a time.
    pub fn wait_event_exclusive(&self, condition: impl FnMut() -> bool) {
        let _ = self.wait(condition, None, true);
    }

    /// As [`WaitQueue::wait_event_timeout`], as an exclusive waiter.
    pub fn wait_event_exclusive_timeout(
        &self,
        condition: impl FnMut() -> bool,
        timeout: Duration,
    ) -> Result<Duration, TimedOut> {
        self.wait(condition, Some(timeout), true)
    }

    /// Wakes every non-exclusive waiter and one exclusive one.
    pub fn wake_up(&self) {
        self.wake(1);
    }

    /// Wakes every non-exclusive waiter and `nr` exclusive ones.
    pub fn wake_up_nr(&self, nr: usize) {
        self.wake(nr);
    }

    /// Wakes every waiter.
    pub fn wake_up_all(&self) {
        self.wake(usize::MAX);
    }

    /// Whether a thread sleeps on the queue (`waitqueue_active`; a snapshot).
    pub fn active(&self) -> bool {
        self.sleepers.load(Ordering::Acquire) != 0
    }

    fn wake(&self, nr_exclusive: usize) {
        // Pairs with the fence in `wait`: either the waiter sees our change
        // to its condition, or we see it in the list.
        fence(Ordering::SeqCst);
        if self.sleepers.load(Ordering::Relaxed) == 0 {
            return;
        }
        // The first few notifications are signalled after the lock is
        // released: a woken thread that runs at once (the kernel may switch
        // to it on the signal) then finds the lock free, instead of
        // blocking on it and costing both sides a round of lock hand-over.
        let mut later = [0u32; SIGNAL_AFTER_UNLOCK];
        let mut pending = 0;
        let mut list = self.list.lock();
        let woken = list.wake(nr_exclusive, |entry| {
            // SAFETY: the entry was in the list and we hold the lock, so its
            // owner is still inside `wait` (see `EntryRef`).
            let entry = unsafe { &*entry.0 };
            let raw = entry.notification;
            // The last touch: after this the owner may return (and a
            // signal sent after that is a spurious wake-up for the next
            // user of the notification, which rechecks its condition).
            entry.woken.store(true, Ordering::Release);
            match later.get_mut(pending) {
                Some(slot) => {
                    *slot = raw;
                    pending += 1;
                }
                None => {
                    let _ = notification(raw).signal(1);
                }
            }
        });
        self.sleepers.fetch_sub(woken, Ordering::Relaxed);
        drop(list);
        for &raw in &later[..pending] {
            let _ = notification(raw).signal(1);
        }
    }

    fn wait(
        &self,
        mut condition: impl FnMut() -> bool,
        timeout: Option<Duration>,
        exclusive: bool,
    ) -> Result<Duration, TimedOut> {
        let budget = timeout.map_or(u64::MAX, duration_ns);
        if condition() {
            return Ok(Duration::from_nanos(budget));
        }
        let deadline = timeout.map(|_| crate::time::uptime_ns().saturating_add(budget));
        let left = || match deadline {
            None => Some(FOREVER),
            Some(at) => at
                .checked_sub(crate::time::uptime_ns())
                .filter(|&left| left > 0),
        };
        // What is left of the budget when the condition holds.
        let remaining = || {
            Duration::from_nanos(match deadline {
                None => budget,
                Some(_) => left().unwrap_or(0),
            })
        };
        let Some(raw) = take_notification() else {
            // No notification to sleep on: poll, yielding.
            loop {
                if condition() {
                    return Ok(Duration::from_nanos(left().unwrap_or(0)));
                }
                if left().is_none() {
                    return Err(TimedOut);
                }
                crate::syscall::yield_now();
            }
        };
        let entry = Entry {
            notification: raw,
            woken: AtomicBool::new(false),
        };
        let me = EntryRef(&entry);
        let mut queued = false;
        // Times the entry went into the list (each is taken out, and
        // signalled, at most once), and whether the last sleep ended on a
        // signal: the notification is drained on the way out unless the
        // one wake-up's signal was consumed.
        let mut adds = 0u32;
        let mut consumed;
        let outcome = loop {
            adds += u32::from(self.prepare_to_wait(me, &entry, exclusive, &mut queued));
            consumed = false;
            if condition() {
                break Ok(remaining());
            }
            let Some(ns) = left() else {
                break Err(TimedOut);
            };
            let slept = notification(raw).wait(ns);
            if slept == Err(SysError::TimedOut) && left().is_none() {
                // One last look: the condition may have come with the end.
                break if condition() {
                    Ok(Duration::ZERO)
                } else {
                    Err(TimedOut)
                };
            }
            consumed = slept.is_ok();
            // Woken (out of the list): look before queueing again, so the
            // usual wake-up takes no lock on this side at all.
            if entry.woken.load(Ordering::Acquire) && condition() {
                break Ok(remaining());
            }
        };
        let woken = self.finish_wait(me, &entry);
        // Queued once, woken, and the sleep ended on a signal: that was
        // the wake-up's (the one signal sent for the entry), so nothing is
        // left to drain. (Were it a late signal of the notification's last
        // user, the wake-up's own would still be on its way: the next user
        // takes it as a spurious wake-up and looks at its condition again,
        // which every waiter does.)
        put_notification(raw, !(adds == 1 && woken && consumed));
        if outcome.is_err() && exclusive && woken {
            // We took an exclusive wake-up we cannot use: pass it on.
            self.wake_up();
        }
        outcome
    }

    /// Puts the entry in the list unless it is there (a waker took it out
    /// since, or it was never added).
    ///
    /// Whether it is still there is decided under the list's lock: a waker
    /// takes the entry out, signals it and only then marks it woken, all
    /// under that lock, and can be preempted in between. Read without the
    /// lock, `woken` could still say "in the list" for an entry already
    /// taken out and signalled; the waiter would then sleep off that
    /// signal, skip re-adding itself and sleep for good.
    /// Returns whether it added the entry.
    fn prepare_to_wait(
        &self,
        me: EntryRef,
        entry: &Entry,
        exclusive: bool,
        queued: &mut bool,
    ) -> bool {
        {
            let mut list = self.list.lock();
            if *queued && !entry.woken.load(Ordering::Acquire) {
                return false;
            }
            entry.woken.store(false, Ordering::Relaxed);
            list.add(me, exclusive);
            self.sleepers.fetch_add(1, Ordering::Relaxed);
        }
        *queued = true;
        // Pairs with the fence in `wake` (see there).
        fence(Ordering::SeqCst);
        true
    }

    /// Takes the entry out of the list if a waker has not; returns whether
    /// a waker took it out (the wait was woken).
    fn finish_wait(&self, me: EntryRef, entry: &Entry) -> bool {
        if entry.woken.load(Ordering::Acquire) {
            return true;
        }
        let mut list = self.list.lock();
        if entry.woken.load(Ordering::Acquire) {
            return true;
        }
        if list.remove(me) {
            self.sleepers.fetch_sub(1, Ordering::Relaxed);
        }
        false
    }
}

impl Default for WaitQueue {
    fn default() -> Self {
        Self::new()
    }
}

/// Nanoseconds of `d`, saturating (for APIs that take a `Duration`).
pub(crate) fn duration_ns(d: Duration) -> u64 {
    d.as_nanos().min(u64::MAX as u128) as u64
}
