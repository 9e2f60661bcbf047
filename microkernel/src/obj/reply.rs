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

use super::thread::Caller;
use crate::sched::wait;

#[derive(Debug)]
pub struct Reply {
    caller: Mutex<Option<Caller>>,
    /// What the saving process's account paid for it (`None` only while
    /// it waits in [`POOL`]).
    _charge: Option<kcore::limits::Charge>,
}

/// Reply objects `reply_to` used up, kept for the next `reply_save`: on
/// the first-fit kernel heap an allocation and a free cost more than the
/// rest of a deferred reply together (docs/benchmarks.md). Bounded; a
/// pooled object holds no caller and no charge.
static POOL: Mutex<alloc::vec::Vec<Arc<Reply>>> = Mutex::new(alloc::vec::Vec::new());
const POOL_MAX: usize = 32;

impl Reply {
    pub fn new(caller: Caller, charge: kcore::limits::Charge) -> Arc<Reply> {
        let pooled = POOL.lock().pop();
        if let Some(mut reply) = pooled {
            if let Some(r) = Arc::get_mut(&mut reply) {
                *r.caller.get_mut() = Some(caller);
                r._charge = Some(charge);
                return reply;
            }
        }
        Arc::new(Reply {
            caller: Mutex::new(Some(caller)),
            _charge: Some(charge),
        })
    }

    /// Puts a reply object whose right was used back in the pool, if no
    /// one else holds it; else it is just dropped.
    pub fn recycle(mut reply: Arc<Reply>) {
        let Some(r) = Arc::get_mut(&mut reply) else {
            return;
        };
        if r.caller.get_mut().is_some() {
            // Unused: dropping it answers its caller.
            return;
        }
        r._charge = None;
        let mut pool = POOL.lock();
        if pool.len() < POOL_MAX {
            pool.push(reply);
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
                caller.thread.ipc.lock().held = None;
                wait::finish(&caller.thread, Err(SysError::PeerDied));
            }
        }
    }
}
