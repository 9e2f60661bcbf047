//! How a workqueue's timer thread waits for its earliest deadline: the
//! [`DeadlineClock`] seam and its two clocks.
//!
//! - [`KernelTimeout`]: a wait on a notification with the kernel's
//!   timeout. Needs nothing but the kernel.
//! - [`ServerClock`] (what [`super::Workqueue::new`] uses): one kernel-style
//!   timer of the timer server, on a session of its own (so its `Bind`
//!   replaces no notification the program bound itself), armed for the
//!   earliest deadline; it sets bit [`FIRE_BIT`] of the notification the
//!   timer thread waits on, where other threads' kicks set [`KICK_BIT`].
//!   The decisions are [`crate::workstate::DeadlineKeeper`], host-tested;
//!   this file makes the calls. Without a timer server (no name service,
//!   none registered, no session left) it keeps deadlines with the
//!   kernel's timeout, as `KernelTimeout` does.
//!
//! The guarantees of `ServerClock` (delayed work is never run early,
//! never lost, never run twice — that is the workqueue's part):
//! - while the server is up, it keeps the deadline and the thread wakes on
//!   its signal; the thread's own wait has a kernel timeout
//!   [`BACKSTOP_NS`] after the deadline;
//! - if the server dies while it keeps a deadline, the thread learns it
//!   at the latest at that backstop, and runs what is due then: delayed
//!   work is late by at most `BACKSTOP_NS` (20 ms) plus a kernel tick.
//!   It learns it sooner if an earlier deadline arrives meanwhile (its
//!   `mod_timer` fails with `PeerDied`);
//! - after `PeerDied` or a failed look-up, the kernel's timeout keeps every
//!   deadline exactly, and the server is looked up again after
//!   [`RETRY_NS`] (doubling on each failure, up to 3.2 s): the restarted
//!   server gets a new session, the notification bound again, and a timer
//!   for the earliest deadline;
//! - a process gets [`SESSIONS_PER_CLIENT`] sessions from one run of the
//!   server: its workqueues beyond that (or made again and again) keep
//!   their deadlines with the kernel's timeout.

use crate::abi::ipc::FOREVER;
use crate::abi::SysError;
use crate::handle::Notification;
pub use crate::proto::timer::SESSIONS_PER_CLIENT;
use crate::proto::timer::{Client, ClientError, Expiry, Stats, TimerError};
use crate::sync::Mutex;
use crate::workstate::{Action, DeadlineKeeper, Woken};
pub use crate::workstate::{ClockStats, BACKSTOP_NS, RETRY_NS};

/// How the timer thread waits for a deadline: the seam between the
/// workqueue and whatever keeps time for it.
pub trait DeadlineClock: Send + Sync {
    /// Nanoseconds on the clock deadlines are given in.
    fn now_ns(&self) -> u64;
    /// Sleeps until `deadline` (`None`: until kicked), or until
    /// [`DeadlineClock::kick`]; may return early. Only the timer thread
    /// calls it.
    fn wait_until(&self, deadline: Option<u64>);
    /// Ends a `wait_until` in progress (or the next one) early.
    fn kick(&self);
    /// What it counted so far.
    fn stats(&self) -> ClockStats {
        ClockStats::default()
    }
    /// The timer server's view of this clock's session, if it has one
    /// (a call to the server).
    fn server_stats(&self) -> Option<Stats> {
        None
    }
    /// The workqueue is gone: let go of what is held outside the process.
    fn stop(&self) {}
}

/// The bit other threads set to wake the timer thread.
pub const KICK_BIT: u64 = 1 << 0;
/// The bit the timer server's timer sets.
pub const FIRE_BIT: u8 = 1;

/// Deadlines kept by a kernel timeout: a wait on a notification that
/// [`DeadlineClock::kick`] signals.
pub struct KernelTimeout {
    notification: Notification,
    timeouts: Mutex<u64>,
}

impl KernelTimeout {
    /// Fails if the notification cannot be made.
    pub fn new() -> Result<Self, SysError> {
        Ok(KernelTimeout {
            notification: Notification::create()?,
            timeouts: Mutex::new(0),
        })
    }
}

impl DeadlineClock for KernelTimeout {
    fn now_ns(&self) -> u64 {
        crate::time::uptime_ns()
    }

    fn wait_until(&self, deadline: Option<u64>) {
        let timeout = match deadline {
            None => FOREVER,
            Some(at) => match at.checked_sub(self.now_ns()) {
                Some(left) if left > 0 => left,
                _ => return,
            },
        };
        if let Err(SysError::TimedOut) = self.notification.wait(timeout) {
            *self.timeouts.lock() += 1;
        }
    }

    fn kick(&self) {
        let _ = self.notification.signal(KICK_BIT);
    }

    fn stats(&self) -> ClockStats {
        ClockStats {
            kernel_timeouts: *self.timeouts.lock(),
            ..ClockStats::default()
        }
    }
}

/// What the timer thread holds of the server.
struct Line {
    keeper: DeadlineKeeper,
    /// The session, once open.
    session: Option<Client>,
    /// Our timer on it, once added.
    timer: Option<u64>,
}

/// Deadlines kept by the timer server when there is one (see the module
/// documentation), else by the kernel's timeout.
pub struct ServerClock {
    notification: Notification,
    line: Mutex<Line>,
}

impl ServerClock {
    /// A clock that looks the server up on the first deadline (so a
    /// workqueue that never delays work never calls it). Fails if the
    /// notification cannot be made.
    pub fn new() -> Result<Self, SysError> {
        Ok(ServerClock {
            notification: Notification::create()?,
            line: Mutex::new(Line {
                keeper: DeadlineKeeper::new(),
                session: None,
                timer: None,
            }),
        })
    }

    /// Looks the server up, opens a session and binds our notification.
    fn connect(&self, line: &mut Line) {
        line.session = None;
        line.timer = None;
        let now = self.now_ns();
        if crate::env::name_service().is_none() {
            line.keeper.refused();
            return;
        }
        let Ok(main) = crate::names::lookup("timer") else {
            line.keeper.lost(now);
            return;
        };
        let session = match Client::from_endpoint(main).session() {
            Ok(endpoint) => Client::from_endpoint(endpoint),
            Err(ClientError::Timer(TimerError::TooManySessions)) => {
                line.keeper.refused();
                return;
            }
            Err(_) => {
                line.keeper.lost(now);
                return;
            }
        };
        match session.bind(&self.notification) {
            Ok(()) => {
                line.session = Some(session);
                line.keeper.connected();
            }
            Err(_) => line.keeper.lost(now),
        }
    }

    /// Arms our timer (adding it the first time on this session) to fire
    /// no earlier than `deadline`.
    fn arm(&self, line: &mut Line, deadline: u64) {
        let now = self.now_ns();
        let when = Expiry::After(deadline.saturating_sub(now));
        let Some(session) = &line.session else {
            line.keeper.lost(now);
            return;
        };
        let result = match line.timer {
            Some(id) => session.mod_timer(id, when).map(|_| id),
            None => session.add_timer(when, 0, FIRE_BIT).map(|(id, _)| id),
        };
        match result {
            Ok(id) => {
                line.timer = Some(id);
                line.keeper.armed(deadline);
            }
            // PeerDied (the server was killed: init restarts it) or
            // anything else: the kernel keeps it; look up again later.
            Err(_) => {
                line.session = None;
                line.timer = None;
                line.keeper.lost(now);
            }
        }
    }
}

impl DeadlineClock for ServerClock {
    fn now_ns(&self) -> u64 {
        crate::time::uptime_ns()
    }

    fn wait_until(&self, deadline: Option<u64>) {
        // Calls to the server until the keeper says wait (each call moves
        // it on: connected, armed, or lost with a retry time ahead).
        let (timeout, server) = loop {
            let mut line = self.line.lock();
            match line.keeper.next(self.now_ns(), deadline) {
                Action::Due => return,
                Action::Connect => self.connect(&mut line),
                Action::Arm(at) => self.arm(&mut line, at),
                Action::Wait { timeout, server } => break (timeout, server),
            }
        };
        let how = match self.notification.wait(timeout) {
            Ok(bits) if bits & (1 << FIRE_BIT) != 0 => Woken::Fired,
            Ok(_) => Woken::Kicked,
            Err(SysError::TimedOut) => Woken::TimedOut,
            Err(_) => Woken::Kicked,
        };
        self.line.lock().keeper.woke(how, server);
    }

    fn kick(&self) {
        let _ = self.notification.signal(KICK_BIT);
    }

    fn stats(&self) -> ClockStats {
        self.line.lock().keeper.stats()
    }

    fn server_stats(&self) -> Option<Stats> {
        let line = self.line.lock();
        line.session.as_ref()?.stats().ok()
    }

    fn stop(&self) {
        let mut line = self.line.lock();
        if let (Some(session), Some(id)) = (&line.session, line.timer) {
            let _ = session.del_timer(id);
        }
        line.timer = None;
        line.session = None;
    }
}
