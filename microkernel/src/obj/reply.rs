//! Reply objects: a reply right saved out of the thread that received a
//! call, so that the call can be answered later while the thread serves
//! others (a sleep answered when its timer expires).
//!
//! `reply_save` moves the thread's one-shot reply right into a [`Reply`]
//! and gives the process a handle to it; `reply_to` answers through that
//! handle, once, and closes it. The object is then kept for the process's
//! next `reply_save` (its spare, still charged to its account) or pooled.
//! Invariant: a caller is answered at most once — the right lives in
//! exactly one place (the thread's `reply_to`, or one `Reply`), and
//! `reply_to` takes it out. If the last handle to a
//! `Reply` goes (closed, or its process died) before it was used, the
//! caller gets `PeerDied`, as it would if the server had died holding the
//! right.

use alloc::sync::Arc;

use libsys::abi::limits::Resource;
use libsys::abi::SysError;
use spin::Mutex;

use super::process::Process;
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
/// pooled object holds no caller and no charge. Each process also keeps
/// one used object of its own, charge and all (`Process::spare_reply`):
/// a server that answers its deferred calls one by one saves and answers
/// with no account walk and no pool.
static POOL: Mutex<alloc::vec::Vec<Arc<Reply>>> = Mutex::new(alloc::vec::Vec::new());
const POOL_MAX: usize = 32;

impl Reply {
    /// An empty reply object for `process` to save a right into
    /// ([`Reply::fill`]): its spare, or one charged to its account now
    /// (`OutOfResources` at its limit). No one else holds it.
    pub fn prepare(process: &Process) -> Result<Arc<Reply>, SysError> {
        if let Some(spare) = process.spare_reply.lock().take() {
            return Ok(spare);
        }
        let charge = process.account.charge(Resource::Replies)?;
        let pooled = POOL.lock().pop();
        if let Some(mut reply) = pooled {
            if let Some(r) = Arc::get_mut(&mut reply) {
                r._charge = Some(charge);
                return Ok(reply);
            }
        }
        Ok(Arc::new(Reply {
            caller: Mutex::new(None),
            _charge: Some(charge),
        }))
    }

    /// Puts `caller` into an object [`Reply::prepare`] gave.
    pub fn fill(reply: &Reply, caller: Caller) {
        *reply.caller.lock() = Some(caller);
    }

    /// Gives an object `prepare` gave back unused (a later check failed):
    /// it becomes `process`'s spare again, or goes to the pool.
    pub fn unprepare(reply: Arc<Reply>, process: &Process) {
        Reply::keep(reply, process);
    }

    /// Takes the saved right out of a reply object whose handle was just
    /// closed, and keeps the object for the next `reply_save` (see
    /// [`Reply::keep`]); `None` once the right has been used.
    #[inline]
    pub fn take_closed(mut reply: Arc<Reply>, process: &Process) -> Option<Caller> {
        let Some(r) = Arc::get_mut(&mut reply) else {
            // Someone else holds it too (a look-up in progress): it goes
            // when they are done.
            return reply.take();
        };
        // The handle was the only holder: no lock needed.
        let caller = r.caller.get_mut().take();
        Reply::keep(reply, process);
        caller
    }

    /// Keeps an empty reply object no one else holds: as `process`'s
    /// spare (charged still) if it has none, else in the pool (uncharged),
    /// else it is dropped. Called from a system call of a thread of
    /// `process`, so the process is not dead yet (its death drops the
    /// spare: `process::finish_death`).
    fn keep(mut reply: Arc<Reply>, process: &Process) {
        let mut spare = process.spare_reply.lock();
        if spare.is_none() {
            *spare = Some(reply);
            return;
        }
        drop(spare);
        if let Some(r) = Arc::get_mut(&mut reply) {
            r._charge = None;
        }
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
