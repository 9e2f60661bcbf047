//! The timer server's core inside the kernel (`placement=mono`): the same
//! `timer::server::TimerServer` the `timer` process runs, driven through
//! `libsys::server::Hosted` like every service, with what a process
//! transport does by handles done here with kernel objects.
//!
//! - **The hardware** ([`KernelTimerHardware`]): the TSC, PIT channel 0
//!   and the CMOS RTC through the kernel's own port accessors
//!   (`arch::x86_64::pit`). The core reads the RTC once, here at boot.
//! - **IRQ 0** is given to the kernel handler [`interrupt`]
//!   (`irq::bind_kernel`), which runs the core's `on_signal` inside the
//!   interrupt — a Linux timer softirq, run at the end of the interrupt:
//!   what is due fires, sleepers' completions wake their callers, the PIT
//!   is programmed for the next deadline. The line is unmasked before the
//!   core runs, so a deadline it programs that comes at once is latched.
//! - **`Bind`**: the notification the request carries is kept by badge
//!   (an `Arc`, as the process keeps a handle); the core's signals are
//!   sent to it after every entry. A notification only the service still
//!   holds (its client closed it or exited) is dropped at the next
//!   interrupt or `Bind`, and that client's timers destroyed
//!   (`TimerServer::unbind`). **`Session`**: the reply carries a new
//!   service handle with the core's badge (`ipc::service` inserts it).
//!
//! Differences from the process, said plainly: there is no receive
//! timeout to catch a lost interrupt (the line is unmasked before the
//! core runs, so none is lost to masking), and the service cannot be
//! killed or restarted (timertest's restart check runs only where the
//! server is a process).

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::sync::Arc;

use libsys::proto::timer::{Reply, Request, TimerError};
use libsys::rpc::{self, LABEL_REPLY, LABEL_REQUEST, LABEL_SERVER_ERROR};
use libsys::server::{Dispatched, Hosted, Token};
use spin::Once;
use timer::server::{PitRegister, TimerHardware, TimerServer};

use super::irq;
use super::notification::Notification;
use super::service::{Core, Service};
use crate::arch::time;
use crate::arch::x86_64::pit::{self, TimerRegister};

/// The kernel's side of the core's hardware.
pub struct KernelTimerHardware;

impl TimerHardware for KernelTimerHardware {
    fn rdtsc(&self) -> u64 {
        time::rdtsc()
    }

    fn pit_write(&mut self, register: PitRegister, value: u8) {
        let register = match register {
            PitRegister::Channel0 => TimerRegister::Channel0,
            PitRegister::Command => TimerRegister::Command,
        };
        pit::write_timer(register, value);
    }

    fn cmos_read(&mut self, register: u8) -> u8 {
        pit::cmos_read(register)
    }
}

/// The core and the clients' bound notifications.
struct TimerCore {
    hosted: Hosted<TimerServer<KernelTimerHardware>>,
    notifications: BTreeMap<u64, Arc<Notification>>,
}

impl TimerCore {
    /// Forgets the notifications only this service still holds — their
    /// clients closed them or exited — and destroys those clients' timers
    /// (`TimerServer::unbind`), so a client that is gone leaves nothing
    /// firing behind it.
    fn prune_gone(&mut self) {
        let gone: alloc::vec::Vec<u64> = self
            .notifications
            .iter()
            .filter(|(_, n)| Arc::strong_count(n) == 1)
            .map(|(&badge, _)| badge)
            .collect();
        for badge in gone {
            self.notifications.remove(&badge);
            self.hosted.server.unbind(badge);
        }
    }

    /// Sends the signals the core asked for.
    fn send_signals(&mut self) {
        for signal in self.hosted.server.take_signals() {
            if let Some(n) = self.notifications.get(&signal.owner) {
                n.signal(1 << signal.bit);
            }
        }
    }
}

impl Core for TimerCore {
    fn request(
        &mut self,
        label: u32,
        input: &[u8],
        badge: u64,
        output: &mut [u8],
        grant: &mut dyn libsys::grant::GrantAccess,
    ) -> Dispatched {
        let dispatched = self.hosted.request_with(label, input, badge, output, grant);
        self.send_signals();
        dispatched
    }

    fn deliver(&mut self, scratch: &mut [u8], send: &mut dyn FnMut(Token, u32, &[u8]) -> bool) {
        self.hosted.deliver(scratch, send);
        self.send_signals();
    }

    fn cancel(&mut self, token: Token) {
        self.hosted.cancel(token);
        self.send_signals();
    }

    fn interrupt(&mut self, token: Token) {
        // Answered already (not live): nothing to interrupt. An
        // interrupted sleeper is answered with the time it had left.
        let _ = self.hosted.interrupt(token);
        self.send_signals();
    }

    fn signal(&mut self, bits: u64) {
        self.prune_gone();
        self.hosted.signal(bits);
        self.send_signals();
    }

    fn with_handle(
        &mut self,
        label: u32,
        input: &[u8],
        badge: u64,
        notification: Option<Arc<Notification>>,
        output: &mut [u8],
    ) -> Option<(u32, usize)> {
        if label != LABEL_REQUEST || rpc::decode::<Request>(input) != Ok(Request::Bind) {
            return None;
        }
        // Bounded by the live clients.
        self.prune_gone();
        let reply = match notification {
            Some(n) => {
                self.notifications.insert(badge, n);
                self.hosted.server.bind(badge)
            }
            None => Reply::Error(TimerError::NoHandle),
        };
        Some(match rpc::encode(&reply, output) {
            Ok(length) => (LABEL_REPLY, length),
            Err(_) => (LABEL_SERVER_ERROR, 0),
        })
    }

    fn take_session(&mut self) -> Option<u64> {
        self.hosted.server.take_session()
    }
}

/// The one timer service (IRQ 0 has one handler).
static TIMER: Once<Arc<Service>> = Once::new();

/// IRQ 0's kernel handler: the core's `on_signal`.
fn interrupt() {
    if let Some(service) = TIMER.get() {
        service.signal(1);
    }
}

/// Starts the core (reading the RTC), takes IRQ 0 for it; `None` (logged)
/// if the RTC gives no reading, IRQ 0 is taken, or a timer service exists.
pub fn create() -> Option<Arc<Service>> {
    if TIMER.get().is_some() {
        return None;
    }
    let boot_tsc = timer::clock::Clock::boot_tsc(time::rdtsc(), time::now_ns(), time::tsc_hz());
    let server = match TimerServer::start(KernelTimerHardware, time::tsc_hz(), boot_tsc) {
        Ok(server) => server,
        Err(e) => {
            crate::printk!(Warning, "timer: the core cannot start: {e:?}");
            return None;
        }
    };
    let service = Service::new(
        "timer",
        Box::new(TimerCore {
            hosted: Hosted::new(server),
            notifications: BTreeMap::new(),
        }),
    );
    let service = TIMER.call_once(|| service).clone();
    if let Err(e) = irq::bind_kernel(irq::isa_gsi(0), interrupt) {
        crate::printk!(Warning, "timer: cannot take IRQ 0: {e}");
        return None;
    }
    Some(service)
}
