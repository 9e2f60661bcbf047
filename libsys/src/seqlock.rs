//! Sequence locks (Linux's `seqlock_t`, LKD ch. 10): readers never block a
//! writer; they read optimistically and retry if a write overlapped.
//!
//! A writer makes the sequence odd, writes, and makes it even again.
//! A reader notes an even sequence ([`SeqCount::read_begin`]), reads, and
//! checks the sequence did not move ([`SeqCount::read_retry`]). Writers
//! exclude each other with a lock ([`SeqLock`]); a [`SeqCount`] alone
//! leaves that to the caller.
//!
//! A reader may copy a value while it is being written: [`SeqLock::read`]
//! copies into a `MaybeUninit` and makes it a `T` only after the retry
//! check has shown the copy whole (`T: Copy`, so a copy has no drop and no
//! ownership to get wrong). The copy itself races with the writer, as in
//! every seqlock; volatile accesses keep the compiler from assuming it
//! does not.

use core::sync::atomic::{fence, AtomicU64, Ordering};

/// The sequence counter alone (`seqcount_t`).
pub struct SeqCount {
    sequence: AtomicU64,
}

impl SeqCount {
    pub const fn new() -> Self {
        SeqCount {
            sequence: AtomicU64::new(0),
        }
    }

    /// Waits for no write to be in progress; returns the sequence to give
    /// to [`SeqCount::read_retry`].
    pub fn read_begin(&self) -> u64 {
        loop {
            let seq = self.sequence.load(Ordering::Acquire);
            if seq & 1 == 0 {
                return seq;
            }
            core::hint::spin_loop();
        }
    }

    /// Whether a write overlapped the reads since `start`: read again.
    pub fn read_retry(&self, start: u64) -> bool {
        // The reads of the data happen before the second look.
        fence(Ordering::Acquire);
        self.sequence.load(Ordering::Relaxed) != start
    }

    /// Runs `read` until it ran with no write overlapping, and returns
    /// what that run returned (it must not act on what it read: a run that
    /// overlapped a write is thrown away).
    pub fn read<R>(&self, mut read: impl FnMut() -> R) -> R {
        loop {
            let start = self.read_begin();
            let value = read();
            if !self.read_retry(start) {
                return value;
            }
        }
    }

    /// Starts a write (the caller excludes other writers).
    pub fn write_begin(&self) {
        self.sequence.fetch_add(1, Ordering::Relaxed);
        // The odd sequence is seen before any of the new data.
        fence(Ordering::Release);
    }

    /// Ends a write.
    pub fn write_end(&self) {
        self.sequence.fetch_add(1, Ordering::Release);
    }

    /// The sequence now (even: no write in progress).
    pub fn sequence(&self) -> u64 {
        self.sequence.load(Ordering::Relaxed)
    }
}

impl Default for SeqCount {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(target_os = "none")]
pub use lock::SeqLock;

#[cfg(target_os = "none")]
mod lock {
    use core::cell::UnsafeCell;
    use core::mem::MaybeUninit;

    use super::SeqCount;
    use crate::sync::Mutex;

    /// A value behind a sequence count, with a lock between writers.
    pub struct SeqLock<T: Copy> {
        seq: SeqCount,
        writer: Mutex<()>,
        value: UnsafeCell<T>,
    }

    // SAFETY: readers only copy `T` out (validated); writers are serialised
    // by `writer`.
    unsafe impl<T: Copy + Send> Sync for SeqLock<T> {}
    // SAFETY: as above.
    unsafe impl<T: Copy + Send> Send for SeqLock<T> {}

    impl<T: Copy> SeqLock<T> {
        pub const fn new(value: T) -> Self {
            SeqLock {
                seq: SeqCount::new(),
                writer: Mutex::new(()),
                value: UnsafeCell::new(value),
            }
        }

        /// See [`SeqCount::read_begin`].
        pub fn read_begin(&self) -> u64 {
            self.seq.read_begin()
        }

        /// See [`SeqCount::read_retry`].
        pub fn read_retry(&self, start: u64) -> bool {
            self.seq.read_retry(start)
        }

        /// A copy of the value no write overlapped.
        pub fn read(&self) -> T {
            loop {
                let start = self.seq.read_begin();
                // SAFETY: the pointer is valid and aligned for `T`; the
                // bytes may be half-written, which is why they land in a
                // `MaybeUninit` and are only trusted after the check.
                let copy =
                    unsafe { core::ptr::read_volatile(self.value.get() as *const MaybeUninit<T>) };
                if !self.seq.read_retry(start) {
                    // SAFETY: no write overlapped the copy: it is a whole
                    // `T` that a writer stored.
                    return unsafe { copy.assume_init() };
                }
            }
        }

        /// Runs `write` on the value with readers told to retry
        /// (`write_seqlock` … `write_sequnlock`).
        pub fn write<R>(&self, write: impl FnOnce(&mut T) -> R) -> R {
            let _writers = self.writer.lock();
            self.seq.write_begin();
            // SAFETY: writers are serialised by `writer`; readers only copy
            // and discard what overlapped this write.
            let result = write(unsafe { &mut *self.value.get() });
            self.seq.write_end();
            result
        }

        /// Replaces the value.
        pub fn set(&self, value: T) {
            self.write(|v| {
                // SAFETY: `v` is valid for writes (see `write`).
                unsafe { core::ptr::write_volatile(v, value) }
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_with_no_write_does_not_retry_and_one_overlapping_does() {
        let s = SeqCount::new();
        let start = s.read_begin();
        assert!(!s.read_retry(start));
        s.write_begin();
        assert_eq!(s.sequence() & 1, 1);
        s.write_end();
        assert!(s.read_retry(start));
        assert_eq!(s.read(|| 5), 5);
    }

    #[test]
    fn readers_on_other_threads_never_see_a_torn_pair() {
        extern crate std;
        use core::sync::atomic::AtomicU64;
        use std::sync::Arc;

        let shared = Arc::new((SeqCount::new(), AtomicU64::new(0), AtomicU64::new(0)));
        let writer = {
            let shared = shared.clone();
            std::thread::spawn(move || {
                for i in 1..=20_000u64 {
                    shared.0.write_begin();
                    shared.1.store(i, Ordering::Relaxed);
                    shared.2.store(i, Ordering::Relaxed);
                    shared.0.write_end();
                }
            })
        };
        let mut last = 0;
        while last < 20_000 {
            let (a, b) = shared.0.read(|| {
                (
                    shared.1.load(Ordering::Relaxed),
                    shared.2.load(Ordering::Relaxed),
                )
            });
            assert_eq!(a, b, "a torn pair");
            assert!(a >= last, "went back in time");
            last = a;
        }
        writer.join().unwrap();
    }
}
