//! IPC timeouts: threads blocked with a deadline, in deadline order.
//!
//! A blocking call with a timeout (neither `POLL` nor `FOREVER`) puts its
//! thread here; the tick (`sched::tick`'s caller, every 1/HZ s) ends the
//! wait of every thread whose deadline has passed with `TimedOut`, taking
//! it off whatever it waited on. So a timeout is accurate to a tick. A
//! thread whose wait ends otherwise takes itself out when it runs again.

use alloc::collections::BTreeMap;
use alloc::sync::{Arc, Weak};

use libsys::abi::ipc::{FOREVER, POLL};
use libsys::abi::SysError;
use spin::Mutex;

use crate::thread::{Thread, Tid};
use crate::time;

static DEADLINES: Mutex<BTreeMap<(u64, Tid), Weak<Thread>>> = Mutex::new(BTreeMap::new());

/// Arms a timeout of `ns` nanoseconds for `thread`; returns the deadline
/// (or `None` for `POLL` and `FOREVER`, which need none).
pub fn arm(thread: &Arc<Thread>, ns: u64) -> Option<u64> {
    if ns == POLL || ns == FOREVER {
        return None;
    }
    let deadline = time::now_ns().saturating_add(ns);
    DEADLINES
        .lock()
        .insert((deadline, thread.tid), Arc::downgrade(thread));
    Some(deadline)
}

/// Removes a timeout that did not fire.
pub fn disarm(thread: &Thread, deadline: u64) {
    DEADLINES.lock().remove(&(deadline, thread.tid));
}

/// Ends the waits whose deadline has passed (called on every tick).
pub fn expire() {
    let now = time::now_ns();
    loop {
        let expired = {
            let mut deadlines = DEADLINES.lock();
            match deadlines.first_key_value() {
                Some((&(deadline, _), _)) if deadline <= now => deadlines.pop_first(),
                _ => None,
            }
        };
        let Some((_, thread)) = expired else {
            break;
        };
        if let Some(thread) = thread.upgrade() {
            crate::ipc::abort_wait(&thread, SysError::TimedOut);
        }
    }
}
