//! The lists of the timer wheel: the 256 slots of `tv1`, the 64 of each of
//! `tv2`..`tv5`, and the overflow list, numbered `0..LIST_COUNT` in that
//! order.
//!
//! They are doubly linked lists threaded through the timer arena by index
//! (Linux's `list_head` inside `timer_list`), so a timer can be taken off
//! its list in O(1) knowing only its index. Invariants: a timer is on a list
//! exactly when its state is `Pending(that list)`, except between `take`
//! and the moment each taken timer is filed again or expired; a slot's bit
//! in the busy bitmaps is set exactly when the slot is not empty, so the
//! next busy slot is found with a few word operations instead of a walk
//! over empty lists.

use super::{TVN_LEVELS, TVN_SIZE, TVR_SIZE};
use crate::jiffies::Jiffies;

/// Lists `0..256` are `tv1`, then 64 per level for `tv2`..`tv5`, then the
/// overflow list.
pub(super) const LIST_COUNT: usize = TVR_SIZE + TVN_LEVELS * TVN_SIZE + 1;
pub(super) const OVERFLOW: usize = LIST_COUNT - 1;
/// The end of a list; also the index no timer can have.
pub(super) const NIL: u32 = u32::MAX;

/// The list of slot `slot` of `tv2 + level`.
pub(super) const fn tvn_list(level: usize, slot: usize) -> usize {
    TVR_SIZE + level * TVN_SIZE + slot
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum State {
    /// On the free list; the handle is stale.
    Free,
    /// Initialised, not pending.
    Idle,
    /// On list number `.0`.
    Pending(u16),
}

/// One timer of the arena (Linux's `struct timer_list`).
#[derive(Clone, Copy, Debug)]
pub(super) struct Timer {
    pub(super) generation: u32,
    pub(super) state: State,
    /// Neighbours on its list; `next` also links the free list.
    pub(super) prev: u32,
    pub(super) next: u32,
    pub(super) expires: Jiffies,
    /// 0 for a one-shot timer.
    pub(super) period: Jiffies,
    /// When it was last filed by `add_timer`, `mod_timer` or re-arming:
    /// breaks ties between timers with the same expiry.
    pub(super) seq: u64,
    pub(super) owner: u64,
    pub(super) token: u64,
}

#[derive(Clone, Copy, Debug)]
struct List {
    head: u32,
    tail: u32,
}

const EMPTY: List = List {
    head: NIL,
    tail: NIL,
};

pub(super) struct Lists {
    lists: [List; LIST_COUNT],
    tv1_busy: [u64; TVR_SIZE / 64],
    tvn_busy: [u64; TVN_LEVELS],
}

impl Lists {
    pub(super) const fn new() -> Lists {
        Lists {
            lists: [EMPTY; LIST_COUNT],
            tv1_busy: [0; TVR_SIZE / 64],
            tvn_busy: [0; TVN_LEVELS],
        }
    }

    /// The first timer on `list`, or `NIL`.
    pub(super) fn head(&self, list: usize) -> u32 {
        self.lists[list].head
    }

    /// Appends timer `index` to `list` and marks it pending there.
    pub(super) fn push_back(&mut self, timers: &mut [Timer], list: usize, index: u32) {
        let tail = self.lists[list].tail;
        let timer = &mut timers[index as usize];
        timer.state = State::Pending(list as u16);
        timer.prev = tail;
        timer.next = NIL;
        match tail {
            NIL => self.lists[list].head = index,
            tail => timers[tail as usize].next = index,
        }
        self.lists[list].tail = index;
        self.set_busy(list, true);
    }

    /// Takes timer `index` off `list`, the list it is pending on. The
    /// caller sets its new state.
    pub(super) fn unlink(&mut self, timers: &mut [Timer], list: usize, index: u32) {
        let Timer { prev, next, .. } = timers[index as usize];
        match prev {
            NIL => self.lists[list].head = next,
            prev => timers[prev as usize].next = next,
        }
        match next {
            NIL => self.lists[list].tail = prev,
            next => timers[next as usize].prev = prev,
        }
        if self.lists[list].head == NIL {
            self.set_busy(list, false);
        }
    }

    /// Empties `list` and returns its first timer; the rest follow through
    /// `next`. The timers keep `State::Pending` until filed or expired.
    pub(super) fn take(&mut self, list: usize) -> u32 {
        let head = self.lists[list].head;
        self.lists[list] = EMPTY;
        self.set_busy(list, false);
        head
    }

    /// How many slots after `from` (0 = `from` itself), going round, the
    /// first busy `tv1` slot is; `None` if `tv1` is empty.
    pub(super) fn first_busy_tv1(&self, from: usize) -> Option<usize> {
        let words = self.tv1_busy.len();
        let (first_word, bit) = (from / 64, from % 64);
        // The first word is looked at twice: the bits from `from` on, and
        // after going round, the bits before it.
        for step in 0..=words {
            let word = (first_word + step) % words;
            let mask = match step {
                0 => !0u64 << bit,
                _ if step == words => !(!0u64 << bit),
                _ => !0,
            };
            let bits = self.tv1_busy[word] & mask;
            if bits != 0 {
                let slot = word * 64 + bits.trailing_zeros() as usize;
                return Some((slot + TVR_SIZE - from) % TVR_SIZE);
            }
        }
        None
    }

    /// How many slots after `from`, going round, the first busy slot of
    /// `tv2 + level` is; `None` if that level is empty.
    pub(super) fn first_busy_tvn(&self, level: usize, from: usize) -> Option<usize> {
        let busy = self.tvn_busy[level];
        (busy != 0).then(|| busy.rotate_right(from as u32).trailing_zeros() as usize)
    }

    fn set_busy(&mut self, list: usize, busy: bool) {
        let (word, bit) = if list < TVR_SIZE {
            (&mut self.tv1_busy[list / 64], list % 64)
        } else if list < OVERFLOW {
            let level = (list - TVR_SIZE) / TVN_SIZE;
            (&mut self.tvn_busy[level], (list - TVR_SIZE) % TVN_SIZE)
        } else {
            return;
        };
        if busy {
            *word |= 1 << bit;
        } else {
            *word &= !(1 << bit);
        }
    }
}
