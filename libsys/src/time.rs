//! Time for programs: the kernel's clock, and sleeping.
//!
//! Sleeping uses a kernel timeout (a wait, with a timeout, on a
//! notification no one signals), so it is accurate to the kernel's tick
//! (1/HZ s). The timer server offers more (kernel-style timers, time of
//! day); these need nothing but the kernel.

use core::sync::atomic::{AtomicU32, Ordering};

use crate::abi::{Handle, SysError};
use crate::handle::Notification;

/// A notification no one signals, made on first use and kept.
static NEVER: AtomicU32 = AtomicU32::new(0);

fn never() -> Result<core::mem::ManuallyDrop<Notification>, SysError> {
    let mut raw = NEVER.load(Ordering::Relaxed);
    if raw == 0 {
        let made = Notification::create()?.0.into_raw().0;
        raw = match NEVER.compare_exchange(0, made, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => made,
            Err(theirs) => {
                // Another thread made one first: ours goes.
                // SAFETY: `made` is ours, never shared.
                drop(unsafe { Notification::from_raw(Handle(made)) });
                theirs
            }
        };
    }
    // SAFETY: kept open for the process's life (ManuallyDrop).
    Ok(core::mem::ManuallyDrop::new(unsafe {
        Notification::from_raw(Handle(raw))
    }))
}

/// Sleeps for `ns` nanoseconds (rounded up to the tick).
pub fn sleep_ns(ns: u64) {
    if ns == 0 {
        return;
    }
    if let Ok(n) = never() {
        let _ = n.wait(ns);
    }
}

/// Sleeps for `ms` milliseconds (Linux's `msleep`).
pub fn sleep_ms(ms: u64) {
    sleep_ns(ms.saturating_mul(1_000_000));
}

/// Nanoseconds since the kernel's tick started.
pub fn uptime_ns() -> u64 {
    crate::syscall::clock().map_or(0, |c| c.uptime_ns)
}
