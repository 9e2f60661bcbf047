//! The real-time class: `SCHED_FIFO` and `SCHED_RR` (Linux's
//! `kernel/sched/rt.c`, chapter 4 of *Linux Kernel Development*).
//!
//! Real-time threads have a static priority from 1 to 99, higher first, and
//! always run before any fair thread. Among equal priorities they take turns
//! in FIFO order. A `SCHED_FIFO` thread runs until it blocks, yields or a
//! higher priority becomes runnable; a `SCHED_RR` thread does the same but
//! also goes to the back of its priority's list when its timeslice
//! (`RR_TIMESLICE`) is used up, so that its equal-priority peers get a turn.
//! No tick ever lets a lower priority run while a higher one is runnable.
//!
//! The queue is Linux's `rt_prio_array`: one FIFO list per priority and a
//! bitmap with a bit set for each non-empty list, so picking the next thread
//! is "find the highest set bit, take the head of that list". Linux numbers
//! priorities upside down (0 is the highest) and searches for the first set
//! bit; here bit `p` stands for priority `p` and a `u128` holds all 100, so
//! the search is one `leading_zeros` instruction.
//!
//! A Linux list is intrusive, so a thread can be unlinked from the middle in
//! O(1). Without intrusive lists, each list here is a `BTreeSet` keyed by
//! `(sequence number, id)`: pushing at the tail takes the next number up,
//! pushing at the head the next number down, and removal from the middle is
//! O(log n). The run queue remembers each queued thread's sequence number.
//!
//! Invariants: bit `p` of `bitmap` is set exactly when `queue[p]` is
//! non-empty; the current thread is never in a list (it is put back, at the
//! head if it was preempted and at the tail if it yielded or used up its
//! round-robin slice, when it stops running).

use alloc::collections::BTreeSet;

/// Number of real-time priorities, 0 to 99 (Linux: `MAX_RT_PRIO`). User
/// threads use 1 to 99, as in Linux.
pub const MAX_RT_PRIO: u8 = 100;
/// Lowest real-time priority a thread may have.
pub const MIN_USER_RT_PRIO: u8 = 1;
/// Highest real-time priority a thread may have (Linux: `MAX_USER_RT_PRIO - 1`).
pub const MAX_USER_RT_PRIO: u8 = MAX_RT_PRIO - 1;

/// How long a `SCHED_RR` thread runs before its peers of equal priority get
/// a turn, in nanoseconds (Linux: `RR_TIMESLICE`, 100 ms).
pub const RR_TIMESLICE: u64 = 100_000_000;

/// Sequence numbers start in the middle of the range so that both ends have
/// room: 2^63 pushes either way, far more than a machine will ever do.
const SEQ_MIDDLE: u64 = 1 << 63;

/// The real-time run queue of one CPU (Linux: `struct rt_rq` and its
/// `rt_prio_array`).
pub(super) struct RtRq<K> {
    /// `queue[p]`: runnable threads of priority `p` in the order they will
    /// run, keyed by `(sequence number, id)`.
    queue: [BTreeSet<(u64, K)>; MAX_RT_PRIO as usize],
    /// Bit `p` set: `queue[p]` is not empty.
    bitmap: u128,
    /// The sequence number the next push at a tail gets.
    next_tail: u64,
    /// The sequence number the next push at a head gets.
    next_head: u64,
    /// Threads in all the lists (Linux: `rt_nr_running`, minus the current).
    nr_queued: usize,
}

/// A priority as a list index; out-of-range values (rejected before they
/// get here) are clamped rather than trusted.
fn index(priority: u8) -> usize {
    usize::from(priority.min(MAX_USER_RT_PRIO))
}

impl<K: Copy + Ord> RtRq<K> {
    pub const fn new() -> Self {
        RtRq {
            queue: [const { BTreeSet::new() }; MAX_RT_PRIO as usize],
            bitmap: 0,
            next_tail: SEQ_MIDDLE,
            next_head: SEQ_MIDDLE - 1,
            nr_queued: 0,
        }
    }

    pub fn nr_queued(&self) -> usize {
        self.nr_queued
    }

    /// Appends a thread to the tail of its priority's list and returns the
    /// sequence number to dequeue it with.
    pub fn enqueue_tail(&mut self, id: K, priority: u8) -> u64 {
        let seq = self.next_tail;
        self.next_tail = self.next_tail.saturating_add(1);
        self.insert(id, priority, seq);
        seq
    }

    /// Puts a thread at the head of its priority's list (a preempted thread
    /// keeps its turn) and returns its sequence number.
    pub fn enqueue_head(&mut self, id: K, priority: u8) -> u64 {
        let seq = self.next_head;
        self.next_head = self.next_head.saturating_sub(1);
        self.insert(id, priority, seq);
        seq
    }

    fn insert(&mut self, id: K, priority: u8, seq: u64) {
        let p = index(priority);
        if self.queue[p].insert((seq, id)) {
            self.nr_queued += 1;
        }
        self.bitmap |= 1 << p;
    }

    /// Takes a queued thread out of its list, wherever it is.
    pub fn dequeue(&mut self, id: K, priority: u8, seq: u64) {
        let p = index(priority);
        if self.queue[p].remove(&(seq, id)) {
            self.nr_queued -= 1;
        }
        if self.queue[p].is_empty() {
            self.bitmap &= !(1 << p);
        }
    }

    /// The highest priority with a runnable thread (Linux:
    /// `sched_find_first_bit`).
    pub fn highest_priority(&self) -> Option<u8> {
        let top = 127u32.checked_sub(self.bitmap.leading_zeros())?;
        u8::try_from(top).ok()
    }

    /// Whether a thread of exactly `priority` waits: the peers a round-robin
    /// thread makes way for.
    pub fn has_queued_at(&self, priority: u8) -> bool {
        self.bitmap & (1 << index(priority)) != 0
    }

    /// Takes the head of the highest non-empty list to run it (Linux:
    /// `pick_next_rt_entity`).
    pub fn pick_next(&mut self) -> Option<K> {
        let p = index(self.highest_priority()?);
        let (_, id) = self.queue[p].pop_first()?;
        self.nr_queued -= 1;
        if self.queue[p].is_empty() {
            self.bitmap &= !(1 << p);
        }
        Some(id)
    }

    /// For invariant checks: whether `id` is queued at `priority` with
    /// sequence number `seq`.
    #[cfg(test)]
    pub fn contains(&self, id: K, priority: u8, seq: u64) -> bool {
        self.queue[index(priority)].contains(&(seq, id))
    }

    /// For invariant checks: whether the bitmap and the count match the lists.
    #[cfg(test)]
    pub fn is_consistent(&self) -> bool {
        let bitmap_ok = (0..MAX_RT_PRIO).all(|p| {
            let non_empty = !self.queue[usize::from(p)].is_empty();
            self.has_queued_at(p) == non_empty
        });
        let count: usize = self.queue.iter().map(BTreeSet::len).sum();
        bitmap_ok && count == self.nr_queued
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_the_highest_priority_first_in_fifo_order() {
        let mut rt = RtRq::<u32>::new();
        assert_eq!(rt.highest_priority(), None);
        assert_eq!(rt.pick_next(), None);
        rt.enqueue_tail(1, 10);
        rt.enqueue_tail(2, 50);
        rt.enqueue_tail(3, 10);
        rt.enqueue_tail(4, 99);
        assert_eq!(rt.nr_queued(), 4);
        assert_eq!(rt.highest_priority(), Some(99));
        let order: Vec<u32> = core::iter::from_fn(|| rt.pick_next()).collect();
        assert_eq!(order, [4, 2, 1, 3]);
        assert_eq!(rt.nr_queued(), 0);
        assert_eq!(rt.bitmap, 0);
    }

    #[test]
    fn head_insertion_keeps_a_preempted_threads_turn() {
        let mut rt = RtRq::<u32>::new();
        rt.enqueue_tail(1, 20);
        rt.enqueue_tail(2, 20);
        rt.enqueue_head(3, 20);
        rt.enqueue_head(4, 20);
        let order: Vec<u32> = core::iter::from_fn(|| rt.pick_next()).collect();
        assert_eq!(order, [4, 3, 1, 2]);
    }

    #[test]
    fn removal_from_the_middle_updates_the_bitmap() {
        let mut rt = RtRq::<u32>::new();
        let a = rt.enqueue_tail(1, 30);
        let b = rt.enqueue_tail(2, 30);
        let c = rt.enqueue_tail(3, 1);
        assert!(rt.has_queued_at(30) && rt.has_queued_at(1) && !rt.has_queued_at(2));
        rt.dequeue(2, 30, b);
        assert!(rt.has_queued_at(30));
        rt.dequeue(1, 30, a);
        assert!(!rt.has_queued_at(30));
        assert_eq!(rt.highest_priority(), Some(1));
        rt.dequeue(1, 30, a); // already gone: no effect
        rt.dequeue(3, 1, c);
        assert_eq!((rt.nr_queued(), rt.bitmap), (0, 0));
    }

    #[test]
    fn out_of_range_priorities_are_clamped_not_trusted() {
        let mut rt = RtRq::<u32>::new();
        let seq = rt.enqueue_tail(1, 200);
        assert_eq!(rt.highest_priority(), Some(MAX_USER_RT_PRIO));
        rt.dequeue(1, 200, seq);
        assert_eq!(rt.nr_queued(), 0);
    }
}
