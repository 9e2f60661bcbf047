//! Locks between the threads of one process, built on notifications: a
//! [`Mutex`] and a [`Condvar`].
//!
//! The uncontended path is one atomic operation; a thread that must wait
//! blocks on the lock's notification, and whoever releases the lock while
//! others wait signals it (a notification wakes one waiter per signal, and
//! keeps a signal that came before the wait, so no wake-up is lost).

use core::cell::UnsafeCell;
use core::ops::{Deref, DerefMut};
use core::sync::atomic::{AtomicU32, Ordering};

use crate::abi::ipc::FOREVER;
use crate::abi::{Handle, SysError};
use crate::handle::Notification;

/// A notification made on first use (creation can fail: the lock then
/// spins, yielding, which is slow but correct).
struct LazyNotification(AtomicU32);

impl LazyNotification {
    const fn new() -> Self {
        LazyNotification(AtomicU32::new(0))
    }

    fn get(&self) -> Option<core::mem::ManuallyDrop<Notification>> {
        let mut raw = self.0.load(Ordering::Acquire);
        if raw == 0 {
            let made = Notification::create().ok()?.0.into_raw().0;
            raw = match self
                .0
                .compare_exchange(0, made, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => made,
                Err(theirs) => {
                    // SAFETY: `made` is ours alone.
                    drop(unsafe { Notification::from_raw(Handle(made)) });
                    theirs
                }
            };
        }
        // SAFETY: the handle lives as long as the lock (closed on drop).
        Some(core::mem::ManuallyDrop::new(unsafe {
            Notification::from_raw(Handle(raw))
        }))
    }

    fn wait(&self, timeout_ns: u64) -> Result<u64, SysError> {
        match self.get() {
            Some(n) => n.wait(timeout_ns),
            None => {
                crate::syscall::yield_now();
                Ok(0)
            }
        }
    }

    fn signal(&self) {
        if let Some(n) = self.get() {
            let _ = n.signal(1);
        }
    }
}

impl Drop for LazyNotification {
    fn drop(&mut self) {
        let raw = *self.0.get_mut();
        if raw != 0 {
            // SAFETY: the lock's own handle, made by `get`.
            drop(unsafe { Notification::from_raw(Handle(raw)) });
        }
    }
}

/// A mutual-exclusion lock.
pub struct Mutex<T> {
    /// 0 free, 1 held, 2 held with waiters.
    state: AtomicU32,
    wake: LazyNotification,
    value: UnsafeCell<T>,
}

// SAFETY: the lock hands out one guard at a time.
unsafe impl<T: Send> Sync for Mutex<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Send for Mutex<T> {}

pub struct MutexGuard<'a, T> {
    lock: &'a Mutex<T>,
}

impl<T> Mutex<T> {
    pub const fn new(value: T) -> Self {
        Mutex {
            state: AtomicU32::new(0),
            wake: LazyNotification::new(),
            value: UnsafeCell::new(value),
        }
    }

    /// Takes the lock, waiting as long as it takes.
    pub fn lock(&self) -> MutexGuard<'_, T> {
        if self
            .state
            .compare_exchange(0, 1, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            // Mark the lock contended, then wait until it is handed over.
            while self.state.swap(2, Ordering::Acquire) != 0 {
                let _ = self.wake.wait(FOREVER);
            }
        }
        MutexGuard { lock: self }
    }

    /// Takes the lock if it is free.
    pub fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
        self.state
            .compare_exchange(0, 1, Ordering::Acquire, Ordering::Relaxed)
            .ok()
            .map(|_| MutexGuard { lock: self })
    }

    fn unlock(&self) {
        if self.state.swap(0, Ordering::Release) == 2 {
            self.wake.signal();
        }
    }
}

impl<T> Deref for MutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard is the only way in while the lock is held.
        unsafe { &*self.lock.value.get() }
    }
}

impl<T> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as above, and the guard is borrowed mutably.
        unsafe { &mut *self.lock.value.get() }
    }
}

impl<T> Drop for MutexGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.unlock();
    }
}

/// A condition variable: threads wait for a change another thread
/// announces.
///
/// Signals to a notification merge into one bit when no waiter is blocked
/// yet, so a notify hands out *tokens*: each waiter that wakes takes one
/// and, if tokens are left, signals again for the next waiter. So no
/// wake-up a notify promised is lost.
pub struct Condvar {
    /// Threads waiting.
    waiters: AtomicU32,
    /// Wake-ups owed.
    tokens: AtomicU32,
    wake: LazyNotification,
}

impl Condvar {
    pub const fn new() -> Self {
        Condvar {
            waiters: AtomicU32::new(0),
            tokens: AtomicU32::new(0),
            wake: LazyNotification::new(),
        }
    }

    /// Releases `guard`'s lock, waits for a notify (or `timeout_ns`), and
    /// takes the lock again. Returns the guard and whether it timed out.
    /// Like every condition variable it may wake without a change: check
    /// the condition in a loop.
    pub fn wait_timeout<'a, T>(
        &self,
        guard: MutexGuard<'a, T>,
        timeout_ns: u64,
    ) -> (MutexGuard<'a, T>, bool) {
        let lock = guard.lock;
        let deadline =
            (timeout_ns != FOREVER).then(|| crate::time::uptime_ns().saturating_add(timeout_ns));
        self.waiters.fetch_add(1, Ordering::AcqRel);
        drop(guard);
        let timed_out = loop {
            let left = match deadline {
                None => FOREVER,
                Some(at) => match at.checked_sub(crate::time::uptime_ns()) {
                    Some(left) if left > 0 => left,
                    _ => break true,
                },
            };
            if self.wake.wait(left) == Err(SysError::TimedOut) {
                break true;
            }
            // Take a token; pass the wake-up on if more are owed. A wake
            // without a token is a signal left over from an earlier
            // notify (a notification keeps one): wait again.
            let taken = self
                .tokens
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |t| t.checked_sub(1));
            match taken {
                Ok(before) => {
                    if before > 1 {
                        self.wake.signal();
                    }
                    break false;
                }
                Err(_) => continue,
            }
        };
        self.waiters.fetch_sub(1, Ordering::AcqRel);
        (lock.lock(), timed_out)
    }

    /// As [`Condvar::wait_timeout`] without a timeout.
    pub fn wait<'a, T>(&self, guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
        self.wait_timeout(guard, FOREVER).0
    }

    /// Wakes one waiter.
    pub fn notify_one(&self) {
        let waiters = self.waiters.load(Ordering::Acquire);
        if waiters > 0 {
            let _ = self
                .tokens
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |t| {
                    Some((t + 1).min(waiters))
                });
            self.wake.signal();
        }
    }

    /// Wakes every waiter.
    pub fn notify_all(&self) {
        let waiters = self.waiters.load(Ordering::Acquire);
        if waiters > 0 {
            self.tokens.store(waiters, Ordering::Release);
            self.wake.signal();
        }
    }
}

impl Default for Condvar {
    fn default() -> Self {
        Self::new()
    }
}
