//! Letting a thread out of the call it is blocked in (QNX's unblock
//! pulse): the kernel side of `thread_unblock` and `reply_interrupted`.
//!
//! A signal must be able to interrupt a `read` of an empty pipe, but only
//! the server knows what the call has done so far: a pipe write that moved
//! half its bytes must say so, not fail. So:
//!
//! - a call still waiting to be *received* (`Blocked::Send`) has done
//!   nothing: it fails at once with `Interrupted`;
//! - a call the server *received* (`Blocked::Reply`) is marked
//!   (`Ipc::interrupt`, with the call's `wait.seq`) and its server told
//!   where it keeps the reply right (`Ipc::held`): a reply object gets the
//!   `UNBLOCK_SIGNAL` bit on the notification bound to the thread that
//!   saved it, and the server asks its saved rights which one
//!   (`reply_interrupted`) and answers it — `EINTR`, or a partial count;
//!   an in-kernel core is told directly (`Service::interrupt`, the core's
//!   `interrupted`). A right saved with no notification bound belongs to a
//!   server that cannot hear it: the caller is let go with `Interrupted`
//!   (QNX's default without `_NTO_CHF_UNBLOCK`). A right still in the
//!   server thread (it is handling the call now) needs nothing: it answers
//!   soon, or saves the right, and `reply_save` tells it then;
//! - a page fault or an exception waiting for its answer is not a call
//!   the thread made: nothing. Only a kill aborts a call outright.
//!
//! The mark lives until the thread returns to user mode (the work flag
//! `exception::return_to_user` clears it), so it never applies to a later
//! call; the server side reads it only while the caller still waits.

use alloc::sync::Arc;

use libsys::abi::ipc::{Unblocked, UNBLOCK_SIGNAL};
use libsys::abi::SysError;

use crate::obj::notification::Notification;
use crate::obj::thread::{Caller, HeldBy, Thread};
use crate::sched::wait::{self, Blocked};

/// `thread_unblock(target)`: see the module documentation.
pub fn unblock(target: &Arc<Thread>) -> Unblocked {
    if target.ipc.lock().fault.is_some() {
        return Unblocked::NotInCall;
    }
    let (sending, seq) = {
        let wait = target.wait.lock();
        match wait.blocked {
            Blocked::Send(_) => (true, wait.seq),
            Blocked::Reply => (false, wait.seq),
            _ => return Unblocked::NotInCall,
        }
    };
    if sending {
        wait::abort(target, SysError::Interrupted);
        return Unblocked::Sent;
    }
    let held = {
        let mut ipc = target.ipc.lock();
        ipc.interrupt = Some(seq);
        ipc.held
            .clone()
            .filter(|(call, _)| *call == seq)
            .map(|(_, held)| held)
    };
    target.set_work(true);
    match held {
        None => Unblocked::ServerTold,
        Some(HeldBy::Service(service, token)) => {
            service.interrupt(token);
            Unblocked::ServerTold
        }
        Some(HeldBy::Saved(notify)) => tell(notify.as_deref(), target, seq),
    }
}

/// A right is being saved into a reply object, with `notify` (the
/// notification bound to the saving thread): record where the caller's
/// call is held, and if the caller asked out already (before the server
/// saved the right), tell the server now.
pub fn saved(caller: &Caller, notify: Option<Arc<Notification>>) {
    let asked = {
        let mut ipc = caller.thread.ipc.lock();
        let asked = ipc.interrupt == Some(caller.seq);
        ipc.held = Some((caller.seq, HeldBy::Saved(notify.clone())));
        asked
    };
    if asked {
        tell(notify.as_deref(), &caller.thread, caller.seq);
    }
}

/// Tells a server that saved a right with `notify` bound that its caller
/// wants out; a server that cannot hear it has its caller let go.
fn tell(notify: Option<&Notification>, caller: &Arc<Thread>, seq: u64) -> Unblocked {
    if let Some(notify) = notify {
        notify.signal(UNBLOCK_SIGNAL);
        return Unblocked::ServerTold;
    }
    let still = {
        let wait = caller.wait.lock();
        matches!(wait.blocked, Blocked::Reply) && wait.seq == seq
    };
    if still {
        // `abort` moves `seq` on: the server's later answer finds the
        // caller gone (`PeerDied`), and its core is told `cancelled`.
        wait::abort(caller, SysError::Interrupted);
    }
    Unblocked::Released
}
