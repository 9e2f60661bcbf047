//! A reader–writer lock between the threads of one process (Linux's
//! `rw_semaphore`, LKD ch. 10): many readers together, or one writer.
//!
//! Policy: **phase-fair**. A waiting writer stops new readers from coming
//! in; when a writer unlocks, every reader that was waiting at that moment
//! is admitted (as one batch) before the next writer. So a writer waits
//! for at most the readers inside plus one batch, and a reader for at most
//! one writer: neither side starves however busy the other is. Writers
//! wait exclusively, so a write unlock wakes the readers and one writer.
//!
//! The decisions are [`RwState`], pure and host-tested; [`RwLock`] keeps
//! one behind a [`crate::sync::Mutex`] (whose uncontended path is one
//! atomic) and sleeps on two wait queues.

/// Who holds the lock and who waits, and the admission rules.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RwState {
    readers: u32,
    writer: bool,
    waiting_readers: u32,
    waiting_writers: u32,
    /// Readers admitted by the last write unlock and not yet in.
    batch: u32,
    /// Write unlocks so far: a waiting reader that began waiting in an
    /// earlier phase belongs to the batch.
    phase: u64,
}

/// Who to wake after an unlock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Wake {
    pub readers: bool,
    pub writer: bool,
}

impl RwState {
    pub const fn new() -> Self {
        RwState {
            readers: 0,
            writer: false,
            waiting_readers: 0,
            waiting_writers: 0,
            batch: 0,
            phase: 0,
        }
    }

    /// A reader arriving: in if no writer holds or waits for the lock.
    pub fn try_read(&mut self) -> bool {
        let admit = !self.writer && self.waiting_writers == 0 && self.batch == 0;
        if admit {
            self.readers += 1;
        }
        admit
    }

    /// A reader starts waiting; returns its phase (for [`RwState::retry_read`]).
    pub fn wait_read(&mut self) -> u64 {
        self.waiting_readers += 1;
        self.phase
    }

    /// A waiting reader from `phase` tries again: in if no writer holds the
    /// lock and either none waits or the reader is in the admitted batch.
    pub fn retry_read(&mut self, phase: u64) -> bool {
        let in_batch = phase < self.phase && self.batch > 0;
        if self.writer || (self.waiting_writers > 0 && !in_batch) {
            return false;
        }
        if in_batch {
            self.batch -= 1;
        }
        self.waiting_readers -= 1;
        self.readers += 1;
        true
    }

    /// A writer arriving or retrying (`waiting`: it counted itself with
    /// [`RwState::wait_write`]): in if the lock is free and no admitted
    /// readers are still on their way.
    pub fn try_write(&mut self, waiting: bool) -> bool {
        let admit = !self.writer && self.readers == 0 && self.batch == 0;
        if admit {
            self.writer = true;
            if waiting {
                self.waiting_writers -= 1;
            }
        }
        admit
    }

    pub fn wait_write(&mut self) {
        self.waiting_writers += 1;
    }

    pub fn read_unlock(&mut self) -> Wake {
        self.readers -= 1;
        Wake {
            readers: false,
            writer: self.readers == 0 && self.waiting_writers > 0,
        }
    }

    /// Ends the write phase: every reader waiting now is admitted before
    /// the next writer.
    pub fn write_unlock(&mut self) -> Wake {
        self.writer = false;
        self.phase += 1;
        self.batch = self.waiting_readers;
        Wake {
            readers: self.waiting_readers > 0,
            writer: self.waiting_writers > 0,
        }
    }

    pub fn readers(&self) -> u32 {
        self.readers
    }

    pub fn writer(&self) -> bool {
        self.writer
    }
}

#[cfg(target_os = "none")]
pub use lock::{RwLock, RwLockReadGuard, RwLockWriteGuard};

#[cfg(target_os = "none")]
mod lock {
    use core::cell::UnsafeCell;
    use core::ops::{Deref, DerefMut};

    use super::{RwState, Wake};
    use crate::sync::Mutex;
    use crate::wait::WaitQueue;

    /// A reader–writer lock around a `T` (phase-fair: see the module).
    pub struct RwLock<T> {
        state: Mutex<RwState>,
        readers: WaitQueue,
        writers: WaitQueue,
        value: UnsafeCell<T>,
    }

    // SAFETY: shared references go out only to readers together (T: Sync),
    // a mutable one to a writer alone (T: Send).
    unsafe impl<T: Send + Sync> Sync for RwLock<T> {}
    // SAFETY: as above.
    unsafe impl<T: Send> Send for RwLock<T> {}

    pub struct RwLockReadGuard<'a, T> {
        lock: &'a RwLock<T>,
    }

    pub struct RwLockWriteGuard<'a, T> {
        lock: &'a RwLock<T>,
    }

    impl<T> RwLock<T> {
        pub const fn new(value: T) -> Self {
            RwLock {
                state: Mutex::new(RwState::new()),
                readers: WaitQueue::new(),
                writers: WaitQueue::new(),
                value: UnsafeCell::new(value),
            }
        }

        /// Takes the lock shared (`down_read`).
        pub fn read(&self) -> RwLockReadGuard<'_, T> {
            let phase = {
                let mut state = self.state.lock();
                if state.try_read() {
                    return RwLockReadGuard { lock: self };
                }
                state.wait_read()
            };
            self.readers
                .wait_event(|| self.state.lock().retry_read(phase));
            RwLockReadGuard { lock: self }
        }

        /// Takes the lock shared if that needs no wait (`down_read_trylock`).
        pub fn try_read(&self) -> Option<RwLockReadGuard<'_, T>> {
            self.state
                .lock()
                .try_read()
                .then_some(RwLockReadGuard { lock: self })
        }

        /// Takes the lock exclusive (`down_write`).
        pub fn write(&self) -> RwLockWriteGuard<'_, T> {
            {
                let mut state = self.state.lock();
                if state.try_write(false) {
                    return RwLockWriteGuard { lock: self };
                }
                state.wait_write();
            }
            self.writers
                .wait_event_exclusive(|| self.state.lock().try_write(true));
            RwLockWriteGuard { lock: self }
        }

        /// Takes the lock exclusive if that needs no wait.
        pub fn try_write(&self) -> Option<RwLockWriteGuard<'_, T>> {
            self.state
                .lock()
                .try_write(false)
                .then_some(RwLockWriteGuard { lock: self })
        }

        /// Readers inside now (a snapshot).
        pub fn readers(&self) -> u32 {
            self.state.lock().readers()
        }

        fn wake(&self, wake: Wake) {
            if wake.readers {
                self.readers.wake_up_all();
            }
            if wake.writer {
                self.writers.wake_up();
            }
        }
    }

    impl<T> Deref for RwLockReadGuard<'_, T> {
        type Target = T;
        fn deref(&self) -> &T {
            // SAFETY: while a read guard lives no writer is admitted.
            unsafe { &*self.lock.value.get() }
        }
    }

    impl<T> Drop for RwLockReadGuard<'_, T> {
        fn drop(&mut self) {
            let wake = self.lock.state.lock().read_unlock();
            self.lock.wake(wake);
        }
    }

    impl<T> Deref for RwLockWriteGuard<'_, T> {
        type Target = T;
        fn deref(&self) -> &T {
            // SAFETY: the write guard is the only way in while it lives.
            unsafe { &*self.lock.value.get() }
        }
    }

    impl<T> DerefMut for RwLockWriteGuard<'_, T> {
        fn deref_mut(&mut self) -> &mut T {
            // SAFETY: as above, and the guard is borrowed mutably.
            unsafe { &mut *self.lock.value.get() }
        }
    }

    impl<T> Drop for RwLockWriteGuard<'_, T> {
        fn drop(&mut self) {
            let wake = self.lock.state.lock().write_unlock();
            self.lock.wake(wake);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readers_share_and_a_writer_is_alone() {
        let mut s = RwState::new();
        assert!(s.try_read());
        assert!(s.try_read());
        assert!(!s.try_write(false));
        s.read_unlock();
        assert_eq!(
            s.read_unlock(),
            Wake {
                readers: false,
                writer: false
            }
        );
        assert!(s.try_write(false));
        assert!(!s.try_read());
        assert!(!s.try_write(false));
    }

    #[test]
    fn a_waiting_writer_stops_new_readers_and_is_woken_by_the_last() {
        let mut s = RwState::new();
        assert!(s.try_read());
        assert!(!s.try_write(false));
        s.wait_write();
        assert!(!s.try_read(), "a reader arriving behind a waiting writer");
        let phase = s.wait_read();
        assert!(!s.retry_read(phase));
        assert_eq!(
            s.read_unlock(),
            Wake {
                readers: false,
                writer: true
            }
        );
        assert!(s.try_write(true));
        assert!(s.writer());
    }

    #[test]
    fn a_write_unlock_admits_the_waiting_readers_before_the_next_writer() {
        let mut s = RwState::new();
        assert!(s.try_write(false));
        let p1 = s.wait_read();
        let p2 = s.wait_read();
        s.wait_write();
        assert_eq!(
            s.write_unlock(),
            Wake {
                readers: true,
                writer: true
            }
        );
        assert!(!s.try_write(true), "the batch goes first");
        // A reader arriving now is not in the batch.
        assert!(!s.try_read());
        let late = s.wait_read();
        assert!(!s.retry_read(late));
        assert!(s.retry_read(p1));
        assert!(s.retry_read(p2));
        assert!(!s.try_write(true), "readers inside");
        s.read_unlock();
        s.read_unlock();
        assert!(s.try_write(true));
        // The late reader is the next batch.
        s.write_unlock();
        assert!(s.retry_read(late));
        assert_eq!(s.readers(), 1);
    }

    #[test]
    fn neither_side_starves_under_alternating_pressure() {
        // Writers and readers keep arriving; each write unlock must let
        // the readers that waited in, and each batch must let a writer in.
        let mut s = RwState::new();
        assert!(s.try_read());
        s.wait_write();
        let mut waiting_phase = s.wait_read();
        s.read_unlock();
        for _ in 0..100 {
            assert!(s.try_write(true), "the writer gets in after one batch");
            s.wait_write(); // another writer queues behind
            s.write_unlock();
            assert!(
                s.retry_read(waiting_phase),
                "the reader gets in after one writer"
            );
            waiting_phase = s.wait_read(); // another reader queues
            s.read_unlock();
        }
    }
}
