//! IPC timeouts: threads blocked with a deadline, in deadline order.
//!
//! A blocking call with a timeout (neither `POLL` nor `FOREVER`) puts its
//! thread here; the tick (every 1/HZ s) ends the
//! wait of every thread whose deadline has passed with `TimedOut`, taking
//! it off whatever it waited on. So a timeout is accurate to a tick. A
//! thread whose wait ends otherwise takes itself out when it runs again.

use alloc::collections::BTreeMap;
use alloc::sync::{Arc, Weak};

use libsys::abi::ipc::{FOREVER, POLL};
use libsys::abi::SysError;
use spin::Mutex;

use super::task::{Schedulable, Task, Tid};
use super::wait;
use crate::arch::time;

static DEADLINES: Mutex<BTreeMap<(u64, Tid), Weak<dyn Schedulable>>> = Mutex::new(BTreeMap::new());

/// Arms a timeout of `ns` nanoseconds for `thread`; returns the deadline
/// (or `None` for `POLL` and `FOREVER`, which need none).
pub fn arm<T: Schedulable + 'static>(thread: &Arc<T>, ns: u64) -> Option<u64> {
    if ns == POLL || ns == FOREVER {
        return None;
    }
    let deadline = time::now_ns().saturating_add(ns);
    let weak: Weak<T> = Arc::downgrade(thread);
    let weak: Weak<dyn Schedulable> = weak;
    DEADLINES.lock().insert((deadline, thread.task().tid), weak);
    Some(deadline)
}

/// Removes a timeout that did not fire.
pub fn disarm(thread: &Task, deadline: u64) {
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
            wait::abort(thread.task(), SysError::TimedOut);
        }
    }
}
