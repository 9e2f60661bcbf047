//! The console hand-off and kernel-log watchers.
//!
//! The console control (`KObject::ConsoleControl`, given to `init`, which
//! gives it to the manifest entry that asks for `console`) lets one
//! process take COM1 from the kernel (`console_take`): from then on the
//! kernel writes only `err`-level lines and above there, and every line
//! still goes to the log ring and the debug channel (`arch::serial`). The
//! holder gives it back with `console_give_back`; if it dies, the kernel
//! takes it back itself ([`process_died`]); a panic takes it back by force
//! (`arch::serial::reclaim_console`).
//!
//! Log watchers: a process binds a notification bit (`log_notify`); each
//! new record signals it. `printk` only sets a flag (it may run anywhere,
//! holding any lock); [`signal_new_records`] turns the flag into signals
//! at a safe point — on each tick and at the end of the `log` call — so
//! many records coalesce into one signal.

use alloc::sync::Arc;
use alloc::vec::Vec;

use libsys::abi::{SysError, LOG_WATCHERS_MAX};
use spin::Mutex;

use crate::arch::serial;
use crate::obj::notification::Notification;
use crate::obj::process::Pid;

/// The pid of the process that holds COM1, if any.
static OWNER: Mutex<Option<Pid>> = Mutex::new(None);

struct Watcher {
    pid: Pid,
    notification: Arc<Notification>,
    bits: u64,
}

static WATCHERS: Mutex<Vec<Watcher>> = Mutex::new(Vec::new());

/// Hands COM1 to process `pid`; `NotAllowed` if another process holds it
/// (taking it again is fine).
pub fn take(pid: Pid) -> Result<(), SysError> {
    let mut owner = OWNER.lock();
    match *owner {
        Some(other) if other != pid => return Err(SysError::NotAllowed),
        Some(_) => return Ok(()),
        None => {}
    }
    *owner = Some(pid);
    drop(owner);
    crate::printk!(Notice, "console: COM1 handed to pid {pid}");
    serial::set_console_taken(true);
    Ok(())
}

/// Process `pid` gives COM1 back; `NotAllowed` if it does not hold it.
pub fn give_back(pid: Pid) -> Result<(), SysError> {
    let mut owner = OWNER.lock();
    if *owner != Some(pid) {
        return Err(SysError::NotAllowed);
    }
    *owner = None;
    drop(owner);
    serial::set_console_taken(false);
    crate::printk!(Notice, "console: COM1 given back by pid {pid}");
    Ok(())
}

/// Process `pid` is gone: takes COM1 back if it held it, and drops its
/// log watcher.
pub fn process_died(pid: Pid) {
    let held = {
        let mut owner = OWNER.lock();
        let held = *owner == Some(pid);
        if held {
            *owner = None;
        }
        held
    };
    if held {
        serial::set_console_taken(false);
        crate::printk!(Warning, "console: pid {pid} died holding COM1; taken back");
    }
    WATCHERS.lock().retain(|w| w.pid != pid);
}

/// Binds (or with `None` unbinds) process `pid`'s log watcher: each new
/// record signals `bits` of `notification`. One per process;
/// `NoMemory` past [`LOG_WATCHERS_MAX`] processes.
pub fn watch(pid: Pid, binding: Option<(Arc<Notification>, u64)>) -> Result<(), SysError> {
    let mut watchers = WATCHERS.lock();
    watchers.retain(|w| w.pid != pid);
    if let Some((notification, bits)) = binding {
        if watchers.len() >= LOG_WATCHERS_MAX {
            return Err(SysError::NoMemory);
        }
        watchers.try_reserve(1).map_err(|_| SysError::NoMemory)?;
        watchers.push(Watcher {
            pid,
            notification,
            bits,
        });
    }
    Ok(())
}

/// Signals every log watcher if records arrived since the last time.
pub fn signal_new_records() {
    if !crate::klog::take_new_records() {
        return;
    }
    let targets: Vec<(Arc<Notification>, u64)> = WATCHERS
        .lock()
        .iter()
        .map(|w| (w.notification.clone(), w.bits))
        .collect();
    for (notification, bits) in targets {
        notification.signal(bits);
    }
}
