//! Reply objects: a reply right saved out of the thread that received a
//! call, so that the call can be answered later while the thread serves
//! others (a sleep answered when its timer expires).
//!
//! `reply_save` moves the thread's one-shot reply right into a [`Reply`]
//! and gives the process a handle to it; `reply_to` answers through that
//! handle, once, and closes it. Invariant: a caller is answered at most
//! once — the right lives in exactly one place (the thread's `reply_to`, or
//! one `Reply`), and `reply_to` takes it out. If the last handle to a
//! `Reply` goes (closed, or its process died) before it was used, the
//! caller gets `PeerDied`, as it would if the server had died holding the
//! right.

use alloc::sync::Arc;

use libsys::abi::SysError;
use spin::Mutex;

use super::notification::Notification;
use super::thread::Caller;
use crate::sched::wait;

#[derive(Debug)]
pub struct Reply {
    caller: Mutex<Option<Caller>>,
    /// The notification bound to the thread that saved it: where
    /// `thread_unblock` tells the server that this caller wants out
    /// (`libsys::abi::ipc::UNBLOCK_SIGNAL`). `None`: the server cannot
    /// hear it, and such a caller is let go at once.
    notify: Option<Arc<Notification>>,
    /// What the saving process's account paid for it.
    _charge: kcore::limits::Charge,
}

impl Reply {
    pub fn new(
        caller: Caller,
        charge: kcore::limits::Charge,
        notify: Option<Arc<Notification>>,
    ) -> Arc<Reply> {
        Arc::new(Reply {
            caller: Mutex::new(Some(caller)),
            notify,
            _charge: charge,
        })
    }

    /// Tells the server its caller wants out: whether it could (a
    /// notification was bound when the right was saved).
    pub fn signal_unblock(&self) -> bool {
        match &self.notify {
            Some(n) => {
                n.signal(libsys::abi::ipc::UNBLOCK_SIGNAL);
                true
            }
            None => false,
        }
    }

    /// Whether the saved caller asked to be let out of this very call and
    /// still waits for it (`reply_interrupted`).
    pub fn interrupted(&self) -> bool {
        self.peek(|caller| {
            caller.is_some_and(|c| c.is_waiting() && c.thread.ipc.lock().interrupt == Some(c.seq))
        })
    }

    /// Runs `f` on the saved right without taking it (`None` once it has
    /// been used): how a server copies through the window its caller lent
    /// (`ipc::grant`) before it answers.
    pub fn peek<T>(&self, f: impl FnOnce(Option<&Caller>) -> T) -> T {
        f(self.caller.lock().as_ref())
    }

    /// Takes the saved right out; `None` once it has been used.
    pub fn take(&self) -> Option<Caller> {
        self.caller.lock().take()
    }
}

impl Drop for Reply {
    fn drop(&mut self) {
        if let Some(caller) = self.caller.get_mut().take() {
            if caller.is_waiting() {
                wait::finish(&caller.thread, Err(SysError::PeerDied));
            }
        }
    }
}
