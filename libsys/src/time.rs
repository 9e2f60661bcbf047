//! Time for programs: the clocks, jiffies, sleeping and kernel-style
//! timers (LKD chapter 11).
//!
//! Two layers:
//! - **The kernel alone**: [`sleep_ns`] and [`sleep_ms`] wait with a kernel
//!   timeout (on a notification no one signals), accurate to the kernel's
//!   tick; [`uptime_ns`] and [`Instant`] read the kernel's clock and the
//!   TSC. They work in every process, `init` and the servers included.
//! - **The timer server** (`timer`, found through the name service on
//!   first use): [`jiffies`], [`clock_gettime`], [`nanosleep`] and the
//!   helpers named as in Linux ([`msleep`], [`ssleep`], [`usleep_range`],
//!   [`sleep`]), and [`Timer`]. A process without the name service or
//!   without a timer server gets the kernel's clock and sleeps with a kernel
//!   timeout instead (`clock_gettime(CLOCK_REALTIME)` then fails).
//!
//! If the timer server dies, a sleeper's call fails with `PeerDied`: these
//! functions look the server up again (`init` restarts it) and sleep what
//! is left. The old server's timers are gone: [`Timer`] calls fail with
//! `PeerDied` once, and the caller must [`bind`] and add them again.

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

/// Nanoseconds since the kernel was entered (its first instruction; the
/// firmware and the loader before it not counted).
pub fn since_kernel_entry_ns() -> u64 {
    crate::syscall::clock().map_or(0, |c| c.since_entry_ns)
}

use core::sync::atomic::AtomicU64;
use core::time::Duration;

use crate::handle::Endpoint;
use crate::proto::timer::Client;
pub use crate::proto::timer::{ClientError, Expiry, CLOCK_MONOTONIC, CLOCK_REALTIME, HZ};

/// TSC ticks per second, read from the kernel once.
static TSC_HZ: AtomicU64 = AtomicU64::new(0);

fn tsc_hz() -> u64 {
    let mut hz = TSC_HZ.load(Ordering::Relaxed);
    if hz == 0 {
        hz = crate::syscall::clock().map_or(1, |c| c.tsc_hz.max(1));
        TSC_HZ.store(hz, Ordering::Relaxed);
    }
    hz
}

/// A moment of the TSC, for measuring intervals (Rust's `Instant`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Instant(u64);

impl Instant {
    pub fn now() -> Instant {
        Instant(crate::syscall::rdtsc())
    }

    /// The TSC value.
    pub fn tsc(self) -> u64 {
        self.0
    }

    /// Time from `earlier` to `self` (zero if `earlier` is later).
    pub fn duration_since(self, earlier: Instant) -> Duration {
        let ticks = self.0.saturating_sub(earlier.0) as u128;
        Duration::from_nanos((ticks * 1_000_000_000 / tsc_hz() as u128) as u64)
    }

    pub fn elapsed(self) -> Duration {
        Instant::now().duration_since(self)
    }
}

/// The timer server's endpoint: 0 before the first look-up, `NONE` when
/// there is none to find.
static SERVER: AtomicU32 = AtomicU32::new(0);
const NONE: u32 = u32::MAX;

/// In a `fork` child: the parent's timer handle and notification name
/// nothing in its table; they are looked up and made again on first use.
pub fn after_fork() {
    SERVER.store(0, Ordering::Release);
    NEVER.store(0, Ordering::Release);
}

/// The timer server, looked up on first use (waiting up to `wait_ms` for
/// it to register); `None` without one.
fn server(wait_ms: u64) -> Option<core::mem::ManuallyDrop<Client>> {
    let mut raw = SERVER.load(Ordering::Acquire);
    if raw == 0 {
        let found = crate::env::name_service()
            .and_then(|_| crate::names::lookup_wait("timer", wait_ms).ok())
            .map_or(NONE, |e| e.0.into_raw().0);
        raw = match SERVER.compare_exchange(0, found, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => found,
            Err(theirs) => {
                if found != NONE {
                    // SAFETY: ours, never shared.
                    drop(unsafe { crate::handle::OwnedHandle::from_raw(Handle(found)) });
                }
                theirs
            }
        };
    }
    if raw == NONE {
        return None;
    }
    // SAFETY: kept open for the process's life (ManuallyDrop); a handle
    // replaced after the server died is left open (see `forget_server`).
    Some(core::mem::ManuallyDrop::new(Client::from_endpoint(
        Endpoint(unsafe { crate::handle::OwnedHandle::from_raw(Handle(raw)) }),
    )))
}

/// The server died: the next call looks it up again. The dead handle is
/// left open (another thread may be using it; a call on it fails with
/// `PeerDied` too), one per restart.
fn forget_server(dead: &Client) {
    let raw = dead.endpoint().raw().0;
    let _ = SERVER.compare_exchange(raw, 0, Ordering::AcqRel, Ordering::Acquire);
}

/// Runs `f` on the timer server; after `PeerDied`, looks it up again
/// (waiting for the restart) and runs `f` once more.
fn with_server<T>(
    mut f: impl FnMut(&Client) -> Result<T, ClientError>,
) -> Option<Result<T, ClientError>> {
    let client = server(2_000)?;
    match f(&client) {
        Err(e) if e.peer_died() => {
            forget_server(&client);
            let client = server(2_000)?;
            Some(f(&client))
        }
        other => Some(other),
    }
}

/// The timer server's jiffies (ticks of [`HZ`] since it started, from
/// Linux's `INITIAL_JIFFIES`); without a server, the kernel's tick count.
pub fn jiffies() -> u64 {
    match with_server(|c| c.jiffies()) {
        Some(Ok(j)) => j,
        _ => crate::syscall::clock().map_or(0, |c| c.jiffies),
    }
}

/// `clock_gettime(clock)`: `CLOCK_REALTIME` (wall time since the epoch,
/// from the RTC) or `CLOCK_MONOTONIC` (since the server started). Without
/// a server, `CLOCK_MONOTONIC` is the kernel's uptime and
/// `CLOCK_REALTIME` fails with `PeerDied`.
pub fn clock_gettime(clock: u32) -> Result<Duration, ClientError> {
    let to_duration = |(sec, nsec): (i64, u32)| Duration::new(sec.max(0) as u64, nsec);
    match with_server(|c| c.clock_gettime(clock)) {
        Some(result) => result.map(to_duration),
        None if clock == CLOCK_MONOTONIC => Ok(Duration::from_nanos(uptime_ns())),
        None => Err(ClientError::Rpc(crate::rpc::RpcError::Sys(
            SysError::PeerDied,
        ))),
    }
}

/// Sleeps at least `ns` nanoseconds (`nanosleep`); returns the time left
/// if another thread [`interrupt`]ed the sleep, else 0. With the timer
/// server the sleep ends within two of its ticks after `ns`; without it,
/// with a kernel timeout.
pub fn nanosleep(ns: u64) -> u64 {
    if ns == 0 {
        return 0;
    }
    let start = Instant::now();
    let left = |asked: u64| asked.saturating_sub(start.elapsed().as_nanos() as u64);
    let Some(client) = server(2_000) else {
        sleep_ns(ns);
        return 0;
    };
    match client.sleep(ns) {
        Ok(remaining) => remaining,
        Err(e) if e.peer_died() => {
            // The server died while we slept: ask the next one for the rest.
            forget_server(&client);
            match server(2_000) {
                Some(next) => next.sleep(left(ns)).unwrap_or_else(|_| {
                    sleep_ns(left(ns));
                    0
                }),
                None => {
                    sleep_ns(left(ns));
                    0
                }
            }
        }
        Err(_) => {
            sleep_ns(left(ns));
            0
        }
    }
}

/// Sleeps for `duration`; the time left if interrupted.
pub fn sleep(duration: Duration) -> Duration {
    Duration::from_nanos(nanosleep(duration.as_nanos().min(u64::MAX as u128) as u64))
}

/// Sleeps at least `ms` milliseconds (Linux's `msleep`).
pub fn msleep(ms: u64) {
    nanosleep(ms.saturating_mul(1_000_000));
}

/// Sleeps at least `s` seconds (Linux's `ssleep`).
pub fn ssleep(s: u64) {
    nanosleep(s.saturating_mul(1_000_000_000));
}

/// Sleeps between `min_us` and (about) `max_us` microseconds (Linux's
/// `usleep_range`): the timer server's tick decides where in the range.
pub fn usleep_range(min_us: u64, max_us: u64) {
    let _ = max_us;
    nanosleep(min_us.saturating_mul(1_000));
}

/// Wakes this process's threads sleeping in the timer server early (they
/// get the time left); how many there were.
pub fn interrupt() -> Result<u32, ClientError> {
    with_server(|c| c.interrupt()).unwrap_or(Err(no_server()))
}

fn no_server() -> ClientError {
    ClientError::Rpc(crate::rpc::RpcError::Sys(SysError::NotFound))
}

/// Hands the timer server the notification this process's [`Timer`]s
/// signal (once per process, and again after a server restart).
pub fn bind(notification: &Notification) -> Result<(), ClientError> {
    let client = server(2_000).ok_or_else(no_server)?;
    let result = client.bind(notification);
    if matches!(&result, Err(e) if e.peer_died()) {
        forget_server(&client);
    }
    result
}

/// A kernel-style timer in the timer server: it sets a bit of the
/// notification this process [`bind`]s. Calls fail with `PeerDied` (once)
/// when the server died: the timer is gone with it. Like a Linux
/// `timer_list`, it stays in the server (counted in the process's quota)
/// until [`Timer::delete`]: dropping the value does not delete it.
#[derive(Debug, PartialEq, Eq)]
pub struct Timer {
    id: u64,
    /// The jiffy it was last set to fire at.
    pub expires: u64,
}

impl Timer {
    fn call<T>(f: impl FnOnce(&Client) -> Result<T, ClientError>) -> Result<T, ClientError> {
        let client = server(2_000).ok_or_else(no_server)?;
        let result = f(&client);
        if matches!(&result, Err(e) if e.peer_died()) {
            forget_server(&client);
        }
        result
    }

    /// `add_timer`: sets `bit` at `when`, then every `period` if it is not
    /// zero.
    pub fn add(when: Expiry, period: Duration, bit: u8) -> Result<Timer, ClientError> {
        let period_ns = period.as_nanos().min(u64::MAX as u128) as u64;
        Timer::call(|c| c.add_timer(when, period_ns, bit))
            .map(|(id, expires)| Timer { id, expires })
    }

    /// A one-shot timer `delay` from now.
    pub fn after(delay: Duration, bit: u8) -> Result<Timer, ClientError> {
        let ns = delay.as_nanos().min(u64::MAX as u128) as u64;
        Timer::add(Expiry::After(ns), Duration::ZERO, bit)
    }

    /// The server's name for it.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// `mod_timer`: re-arms it for `when`; whether it was pending.
    pub fn modify(&mut self, when: Expiry) -> Result<bool, ClientError> {
        let was = Timer::call(|c| c.mod_timer(self.id, when))?;
        if let Expiry::At(j) = when {
            self.expires = j;
        }
        Ok(was)
    }

    /// `del_timer`: it will not fire; whether it was pending.
    pub fn delete(self) -> Result<bool, ClientError> {
        Timer::call(|c| c.del_timer(self.id))
    }
}
