//! The bookkeeping of a wait queue, without the waiting: an ordered list
//! of waiters, each *exclusive* or not, and the rule Linux's `__wake_up`
//! applies to it (LKD ch. 4, "Sleeping and Waking Up").
//!
//! A wake-up with `nr_exclusive = n` takes out every non-exclusive waiter
//! and the first `n` exclusive ones, in the order they were added (oldest
//! first), and leaves the rest. So `wake_up` (n = 1) wakes all ordinary
//! waiters and exactly one exclusive waiter: a crowd waiting for one
//! resource (a lock, a slot) is woken one at a time instead of stampeding
//! ("thundering herd"). `wake_up_all` is n = `usize::MAX`.
//!
//! Pure data: [`crate::wait::WaitQueue`] keeps one behind its lock, with a
//! pointer to each sleeping thread's entry as `T`; the host tests use
//! numbers.

use alloc::collections::VecDeque;

/// Waiters in the order they were added.
pub struct WaiterList<T> {
    entries: VecDeque<(T, bool)>,
}

impl<T: Copy + PartialEq> WaiterList<T> {
    pub const fn new() -> Self {
        WaiterList {
            entries: VecDeque::new(),
        }
    }

    /// Adds `waiter` at the tail (`exclusive`: woken one at a time).
    pub fn add(&mut self, waiter: T, exclusive: bool) {
        self.entries.push_back((waiter, exclusive));
    }

    /// Takes `waiter` out; false if it was not in the list (a waker took
    /// it out already).
    pub fn remove(&mut self, waiter: T) -> bool {
        match self.entries.iter().position(|(w, _)| *w == waiter) {
            Some(at) => {
                self.entries.remove(at);
                true
            }
            None => false,
        }
    }

    /// Takes out every non-exclusive waiter and the first `nr_exclusive`
    /// exclusive ones, handing each to `wake` oldest first. Returns how
    /// many were woken.
    pub fn wake(&mut self, nr_exclusive: usize, mut wake: impl FnMut(T)) -> usize {
        let mut exclusive_left = nr_exclusive;
        let mut woken = 0;
        self.entries.retain(|&(waiter, exclusive)| {
            if exclusive {
                if exclusive_left == 0 {
                    return true;
                }
                exclusive_left -= 1;
            }
            wake(waiter);
            woken += 1;
            false
        });
        woken
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl<T: Copy + PartialEq> Default for WaiterList<T> {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    fn woken(list: &mut WaiterList<u32>, nr: usize) -> Vec<u32> {
        let mut out = Vec::new();
        let n = list.wake(nr, |w| out.push(w));
        assert_eq!(n, out.len());
        out
    }

    #[test]
    fn wake_up_takes_every_ordinary_waiter_and_one_exclusive() {
        let mut list = WaiterList::new();
        list.add(1, false);
        list.add(2, true);
        list.add(3, false);
        list.add(4, true);
        list.add(5, true);
        assert_eq!(woken(&mut list, 1), [1, 2, 3]);
        assert_eq!(list.len(), 2);
        assert_eq!(woken(&mut list, 1), [4]);
        assert_eq!(woken(&mut list, 1), [5]);
        assert!(list.is_empty());
        assert_eq!(woken(&mut list, 1), []);
    }

    #[test]
    fn wake_up_all_takes_everyone_in_order() {
        let mut list = WaiterList::new();
        for w in 0..6 {
            list.add(w, w % 2 == 0);
        }
        assert_eq!(woken(&mut list, usize::MAX), [0, 1, 2, 3, 4, 5]);
        assert!(list.is_empty());
    }

    #[test]
    fn wake_nr_takes_that_many_exclusive_waiters() {
        let mut list = WaiterList::new();
        for w in 0..5 {
            list.add(w, true);
        }
        assert_eq!(woken(&mut list, 2), [0, 1]);
        assert_eq!(woken(&mut list, 0), []);
        assert_eq!(list.len(), 3);
    }

    #[test]
    fn a_removed_waiter_is_not_woken_and_removal_reports_presence() {
        let mut list = WaiterList::new();
        list.add(7, true);
        list.add(8, true);
        assert!(list.remove(7));
        assert!(!list.remove(7));
        assert_eq!(woken(&mut list, 1), [8]);
        assert!(!list.remove(8));
    }
}
