//! The signals the terminal owes process groups, waiting for the thread
//! that sends them (`src/sigsend.rs` in the binary), so that the
//! terminal's own loop never makes a blocking call to the process
//! server: that server may itself be waiting on the file server, which
//! may be waiting on the terminal — a cycle, were the loop to wait.
//!
//! Bounded ([`KILLQ_MAX`]); a signal already waiting for the same group
//! is not queued twice (standard signals are pending at most once
//! anyway), so a held-down `^C` costs one entry.

use alloc::collections::VecDeque;

/// Signals waiting at most.
pub const KILLQ_MAX: usize = 32;

/// One owed `kill(-pgrp, sig)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Owed {
    pub pgrp: u32,
    pub sig: u32,
}

/// What [`KillQueue::push`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pushed {
    Queued,
    /// The same signal for the same group is waiting already.
    Merged,
    /// The queue is full: dropped (the caller logs it).
    Full,
}

/// A bounded FIFO of owed signals.
#[derive(Debug, Default)]
pub struct KillQueue {
    owed: VecDeque<Owed>,
}

impl KillQueue {
    pub const fn new() -> KillQueue {
        KillQueue {
            owed: VecDeque::new(),
        }
    }

    pub fn push(&mut self, owed: Owed) -> Pushed {
        if self.owed.contains(&owed) {
            Pushed::Merged
        } else if self.owed.len() >= KILLQ_MAX {
            Pushed::Full
        } else {
            self.owed.push_back(owed);
            Pushed::Queued
        }
    }

    pub fn pop(&mut self) -> Option<Owed> {
        self.owed.pop_front()
    }

    pub fn len(&self) -> usize {
        self.owed.len()
    }

    pub fn is_empty(&self) -> bool {
        self.owed.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_merged_in_order() {
        let mut q = KillQueue::new();
        let int = Owed { pgrp: 7, sig: 2 };
        let tstp = Owed { pgrp: 7, sig: 20 };
        assert_eq!(q.push(int), Pushed::Queued);
        assert_eq!(q.push(int), Pushed::Merged);
        assert_eq!(q.push(tstp), Pushed::Queued);
        assert_eq!(q.push(Owed { pgrp: 8, sig: 2 }), Pushed::Queued);
        assert_eq!(q.len(), 3);
        assert_eq!(q.pop(), Some(int));
        assert_eq!(q.push(int), Pushed::Queued, "sent already: owed again");
        for g in 100..200 {
            let _ = q.push(Owed { pgrp: g, sig: 1 });
        }
        assert_eq!(q.len(), KILLQ_MAX);
        assert_eq!(q.push(Owed { pgrp: 1, sig: 1 }), Pushed::Full);
        assert_eq!(q.pop(), Some(tstp));
        let mut n = 1;
        while q.pop().is_some() {
            n += 1;
        }
        assert_eq!(n, KILLQ_MAX);
        assert!(q.is_empty());
    }
}
