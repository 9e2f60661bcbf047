//! Notifications: a word of signal bits for asynchronous events — an
//! interrupt, a timer, a server telling a client something changed.
//!
//! `signal` ORs bits into the word and never blocks. `wait` blocks until
//! some bit is set, then returns the bits and clears them; waiters queue in
//! order and each signal wakes the first. A notification can be bound to a
//! thread: then that thread's `recv` on an endpoint also returns when the
//! notification is signalled (with the `NOTIFICATION` flag and the bits),
//! so a server can wait for messages and events at once.

use alloc::collections::VecDeque;
use alloc::sync::{Arc, Weak};

use libsys::abi::SysError;
use spin::Mutex;

use crate::thread::Thread;

#[derive(Debug, Default)]
pub struct State {
    pub bits: u64,
    pub waiters: VecDeque<Arc<Thread>>,
    pub bound: Option<Weak<Thread>>,
}

#[derive(Debug, Default)]
pub struct Notification {
    pub state: Mutex<State>,
}

impl Notification {
    pub fn new() -> Arc<Notification> {
        Arc::new(Notification::default())
    }

    /// ORs `bits` in; wakes the first waiter (or the bound thread, if it is
    /// waiting in `recv`) with every bit set so far.
    pub fn signal(&self, bits: u64) {
        if bits == 0 {
            return;
        }
        let mut state = self.state.lock();
        state.bits |= bits;
        if let Some(waiter) = state.waiters.pop_front() {
            let all = core::mem::take(&mut state.bits);
            drop(state);
            crate::ipc::finish_wait(&waiter, Ok(all));
            return;
        }
        let bound = state.bound.as_ref().and_then(Weak::upgrade);
        if let Some(thread) = bound {
            if crate::ipc::deliver_to_bound(&thread, &mut state.bits) {
                return;
            }
        }
    }

    /// Takes the bits set so far (0 if none).
    pub fn take(&self) -> u64 {
        core::mem::take(&mut self.state.lock().bits)
    }

    /// Takes the bits if any, else queues `me` as a waiter; returns the
    /// bits, or `None` if `me` must now block.
    pub fn take_or_queue(&self, me: &Arc<Thread>) -> Option<u64> {
        let mut state = self.state.lock();
        if state.bits != 0 {
            return Some(core::mem::take(&mut state.bits));
        }
        state.waiters.push_back(me.clone());
        None
    }

    /// Takes `thread` off the waiters (a timeout, a kill).
    pub fn remove(&self, thread: &Thread) {
        self.state.lock().waiters.retain(|t| t.tid != thread.tid);
    }

    /// Binds the notification to `thread` (replacing any earlier binding).
    pub fn bind(&self, thread: &Arc<Thread>) -> Result<(), SysError> {
        self.state.lock().bound = Some(Arc::downgrade(thread));
        Ok(())
    }
}
