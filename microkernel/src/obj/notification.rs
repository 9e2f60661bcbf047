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

use libsys::abi::{MsgInfo, SysError};
use spin::Mutex;

use super::thread::Thread;
use crate::sched::wait::{self, Blocked, WaitQueue};
use crate::sched::Task;

#[derive(Debug, Default)]
pub struct State {
    pub bits: u64,
    pub waiters: VecDeque<Arc<Thread>>,
    pub bound: Option<Weak<Thread>>,
}

#[derive(Debug, Default)]
pub struct Notification {
    pub state: Mutex<State>,
    /// What its creator's account paid for it (`notification_create`).
    _charge: Option<kcore::limits::Charge>,
}

impl Notification {
    pub fn new() -> Arc<Notification> {
        Arc::new(Notification::default())
    }

    /// One a process made, paid for by `charge`.
    pub fn charged(charge: kcore::limits::Charge) -> Arc<Notification> {
        Arc::new(Notification {
            _charge: Some(charge),
            ..Notification::default()
        })
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
            wait::finish(&waiter, Ok(all));
            return;
        }
        let bound = state.bound.as_ref().and_then(Weak::upgrade);
        if let Some(thread) = bound {
            deliver_to_bound(&thread, &mut state.bits);
        }
    }

    /// Whether bits are set (not taken): the IPC fast path's check that a
    /// thread it is about to queue in `recv` has no signal to return
    /// first.
    pub fn pending(&self) -> bool {
        self.state.lock().bits != 0
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

    /// Binds the notification to `thread` (replacing any earlier binding).
    pub fn bind(&self, thread: &Arc<Thread>) -> Result<(), SysError> {
        self.state.lock().bound = Some(Arc::downgrade(thread));
        Ok(())
    }
}

impl WaitQueue for Notification {
    /// Takes `task` off the waiters (a timeout, a kill).
    fn remove(&self, task: &Task) {
        self.state.lock().waiters.retain(|t| t.tid != task.tid);
    }
}

/// A bound notification was signalled: if its thread waits in `recv`, end
/// the wait with the bits (taking them), as a message with the
/// `NOTIFICATION` flag. Returns whether it did.
fn deliver_to_bound(thread: &Arc<Thread>, bits: &mut u64) -> bool {
    let queue = match &thread.wait.lock().blocked {
        Blocked::Recv(queue) => queue.clone(),
        _ => return false,
    };
    queue.remove(thread);
    // SAFETY: the thread is blocked in the kernel: its frame is at the top
    // of its kernel stack and nothing else touches it now (one CPU,
    // interrupts off).
    let frame = unsafe { &mut *thread.user_frame() };
    frame.rsi = MsgInfo {
        flags: MsgInfo::NOTIFICATION,
        ..MsgInfo::new(0)
    }
    .encode();
    let all = core::mem::take(bits);
    wait::finish(thread, Ok(all));
    true
}
