//! Blocking and waking: a thread's wait, with its outcome.
//!
//! A blocked thread records what it waits on ([`Blocked`]): a queue of an
//! object above this layer (an endpoint's senders or receivers, a
//! notification's waiters), known here only as a [`WaitQueue`] that can
//! take the thread off, or a reply, which is on no queue. So a timeout or a
//! kill can end any wait ([`abort`]) without knowing what the queue is.
//! Whoever ends a wait writes its outcome into [`Wait::result`] and makes
//! the thread runnable ([`finish`]); the thread returns that outcome from
//! [`block`] when it runs again.
//!
//! `Wait::seq` counts the waits that were given up (timed out or aborted):
//! a reply right records it when its call is made, so a right kept after
//! the caller gave up that call cannot answer the caller's next one.

use alloc::sync::Arc;

use libsys::abi::SysError;

use super::scheduler;
use super::task::{Schedulable, Task};
use super::timeout;

/// A queue of waiting threads that a wait can be taken off.
pub trait WaitQueue: Send + Sync + core::fmt::Debug {
    /// Takes `task` off the queue (a timeout or a kill ended its wait).
    fn remove(&self, task: &Task);
}

/// What a thread is blocked on.
#[derive(Debug, Default)]
pub enum Blocked {
    #[default]
    No,
    /// Waiting in an endpoint's send queue.
    Send(Arc<dyn WaitQueue>),
    /// Waiting in an endpoint's receive queue.
    Recv(Arc<dyn WaitQueue>),
    /// A caller waiting for its reply (on no queue).
    Reply,
    /// Waiting on a notification, or (`Parked`) stopped on the way back
    /// to user mode until resumed.
    Notification(Arc<dyn WaitQueue>),
}

impl Blocked {
    /// Replaces the value with `new`. The old value is dropped only if it
    /// holds a queue: `No` and `Reply` hold nothing, and they are what the
    /// IPC paths replace nearly every time, where a full drop is a jump
    /// through a table.
    #[inline(always)]
    pub fn set(&mut self, new: Blocked) {
        if matches!(self, Blocked::No | Blocked::Reply) {
            // Nothing to drop in either.
            core::mem::forget(core::mem::replace(self, new));
        } else {
            *self = new;
        }
    }
}

/// The queue a suspended thread is parked on: it holds no one (a resume
/// finds the thread through its handle), so taking a thread off it is
/// nothing. Parking uses `Blocked::Notification` rather than a variant of
/// its own: every change of a thread's `blocked` drops the old value, and
/// a sixth variant made that drop dearer on the IPC fast path.
#[derive(Debug)]
pub struct Parked;

impl WaitQueue for Parked {
    fn remove(&self, _: &Task) {}
}

/// A thread's wait state.
#[derive(Debug, Default)]
pub struct Wait {
    pub blocked: Blocked,
    /// The outcome of the wait, written by whoever ends it.
    pub result: Option<Result<u64, SysError>>,
    /// Waits given up so far (see the module documentation).
    pub seq: u64,
}

/// Ends `task`'s wait with `result` and makes it runnable. The caller has
/// taken it off whatever queue it was on.
pub fn finish(task: &Task, result: Result<u64, SysError>) {
    {
        let mut wait = task.wait.lock();
        wait.blocked = Blocked::No;
        wait.result = Some(result);
    }
    scheduler::wake(task);
}

/// Takes a blocked task off what it waits on and ends its wait with
/// `error` (a timeout, a kill). A task that is not waiting is left alone.
pub fn abort(task: &Task, error: SysError) {
    let blocked = core::mem::take(&mut task.wait.lock().blocked);
    match blocked {
        Blocked::No => return,
        Blocked::Send(queue) | Blocked::Recv(queue) | Blocked::Notification(queue) => {
            queue.remove(task)
        }
        // A reply right to the call stays where it is; its answer will
        // find the caller no longer waiting for that call (`seq`).
        Blocked::Reply => task.wait.lock().seq += 1,
    }
    finish(task, Err(error));
}

/// Takes the outcome of the wait `me` just came back from (`PeerDied` if
/// no one wrote one) and marks it not blocked.
#[inline(always)]
pub fn take_result(me: &Task) -> Result<u64, SysError> {
    let mut wait = me.wait.lock();
    wait.blocked.set(Blocked::No);
    wait.result.take().unwrap_or(Err(SysError::PeerDied))
}

/// Blocks the current thread `me` on `blocked` until its wait ends or
/// `timeout_ns` nanoseconds pass (`POLL` and `FOREVER` arm no timer);
/// switches straight to `next` if given. Returns the wait's outcome.
pub fn block<T: Schedulable + 'static>(
    me: &Arc<T>,
    blocked: Blocked,
    timeout_ns: u64,
    next: Option<&Arc<T>>,
) -> Result<u64, SysError> {
    {
        let mut wait = me.task().wait.lock();
        wait.blocked = blocked;
        wait.result = None;
    }
    let armed = timeout::arm(me, timeout_ns);
    match next {
        Some(next) => scheduler::block_and_switch_to(next),
        None => scheduler::block_current(),
    }
    if let Some(deadline) = armed {
        timeout::disarm(me.task(), deadline);
    }
    take_result(me.task())
}
