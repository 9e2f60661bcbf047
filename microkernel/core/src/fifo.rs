//! A first-in, first-out queue whose common operations are a handful of
//! instructions the compiler always inlines: the queue of threads waiting
//! to receive on an endpoint, which the IPC fast path pushes to and pops
//! from on every round trip (`VecDeque` does the same work, but whether its
//! `push_back` is inlined is left to the compiler, and on the fast path it
//! was not: a call, a frame and the ring arithmetic around a store).
//!
//! The front element is kept apart, in `first`; the rest wait in a
//! `VecDeque` behind it. Invariant: `first` is empty only when the whole
//! queue is. A queue of at most one element — an endpoint with one server
//! thread, nearly always — never touches the `VecDeque`: a push is a test
//! and a store, a pop a load, a store and a test.

use alloc::collections::VecDeque;
use core::fmt;

pub struct Fifo<T> {
    /// The front element; `None` only if the queue is empty.
    first: Option<T>,
    /// The elements behind it, in order.
    rest: VecDeque<T>,
}

impl<T> Default for Fifo<T> {
    fn default() -> Self {
        Fifo::new()
    }
}

impl<T: fmt::Debug> fmt::Debug for Fifo<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<T> Fifo<T> {
    pub const fn new() -> Self {
        Fifo {
            first: None,
            rest: VecDeque::new(),
        }
    }

    pub fn len(&self) -> usize {
        usize::from(self.first.is_some()) + self.rest.len()
    }

    #[inline(always)]
    pub fn is_empty(&self) -> bool {
        self.first.is_none()
    }

    /// Appends `value` at the back.
    #[inline(always)]
    pub fn push_back(&mut self, value: T) {
        if self.first.is_none() {
            // Empty (the invariant): nothing to drop.
            core::mem::forget(self.first.replace(value));
        } else {
            self.push_rest(value);
        }
    }

    #[inline(never)]
    fn push_rest(&mut self, value: T) {
        self.rest.push_back(value);
    }

    /// Puts `value` at the front (a receiver given back).
    pub fn push_front(&mut self, value: T) {
        if let Some(old) = self.first.replace(value) {
            self.rest.push_front(old);
        }
    }

    /// Takes the front element.
    #[inline(always)]
    pub fn pop_front(&mut self) -> Option<T> {
        let value = self.first.take()?;
        if !self.rest.is_empty() {
            self.refill();
        }
        Some(value)
    }

    #[inline(never)]
    fn refill(&mut self) {
        self.first = self.rest.pop_front();
    }

    /// The elements, front to back.
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.first.iter().chain(self.rest.iter())
    }

    /// Keeps only the elements for which `keep` is true, in order.
    pub fn retain(&mut self, mut keep: impl FnMut(&T) -> bool) {
        if let Some(first) = self.first.take() {
            self.rest.push_front(first);
        }
        self.rest.retain(|value| keep(value));
        self.first = self.rest.pop_front();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque;
    use std::rc::Rc;

    #[test]
    fn first_in_first_out_at_any_length() {
        let mut q = Fifo::new();
        let mut model = VecDeque::new();
        let mut next = 0u32;
        // A mix of pushes at both ends and pops, the queue often empty
        // and up to a few dozen long.
        for round in 0..500u32 {
            match round % 7 {
                0 | 1 | 3 | 5 => {
                    q.push_back(next);
                    model.push_back(next);
                    next += 1;
                }
                2 => {
                    q.push_front(next);
                    model.push_front(next);
                    next += 1;
                }
                _ => {
                    assert_eq!(q.pop_front(), model.pop_front());
                }
            }
            if round % 97 == 96 {
                // Drain some to wrap the head around.
                for _ in 0..q.len() / 2 {
                    assert_eq!(q.pop_front(), model.pop_front());
                }
            }
            assert_eq!(q.len(), model.len());
            assert!(q.iter().eq(model.iter()));
        }
        while let Some(v) = model.pop_front() {
            assert_eq!(q.pop_front(), Some(v));
        }
        assert_eq!(q.pop_front(), None);
        assert!(q.is_empty());
    }

    #[test]
    fn retain_keeps_order_and_drops_the_rest() {
        let mut q = Fifo::new();
        let values: Vec<Rc<u32>> = (0..10).map(Rc::new).collect();
        for v in &values {
            q.push_back(v.clone());
        }
        q.retain(|v| **v % 3 != 0);
        let kept: Vec<u32> = q.iter().map(|v| **v).collect();
        assert_eq!(kept, [1, 2, 4, 5, 7, 8]);
        for (i, v) in values.iter().enumerate() {
            let expected = if i % 3 == 0 { 1 } else { 2 };
            assert_eq!(Rc::strong_count(v), expected, "value {i}");
        }
        drop(q);
        assert!(values.iter().all(|v| Rc::strong_count(v) == 1));
    }

    #[test]
    fn a_front_push_into_an_empty_or_a_long_queue() {
        let mut q = Fifo::new();
        q.push_front(1);
        assert_eq!(q.pop_front(), Some(1));
        assert!(q.is_empty());
        for v in 0..4 {
            q.push_back(v);
        }
        q.push_front(9);
        assert!(q.iter().copied().eq([9, 0, 1, 2, 3]));
        q.retain(|v| *v != 9);
        assert!(q.iter().copied().eq([0, 1, 2, 3]));
        q.retain(|_| false);
        assert_eq!((q.is_empty(), q.len(), q.pop_front()), (true, 0, None));
    }
}
