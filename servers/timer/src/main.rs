//! The `timer` server process: the reply-later core
//! ([`timer::server::TimerServer`]) behind IPC, with the hardware it
//! needs.
//!
//! - **The PIT.** `init` gives it ISA IRQ 0 and ports 0x40–0x43 (and
//!   nothing else of the PIT: the kernel calibrates its clocks on channel
//!   2 at boot, before any server runs, and ticks its scheduler with the
//!   local APIC timer). The core programs channel 0 as a one-shot
//!   deadline timer through [`Ports`], this process's
//!   [`TimerHardware`]. Should its interrupt be lost (an edge while the
//!   line is masked), the receive's kernel timeout (the core's
//!   `backstop_ns`) wakes the loop a little later.
//! - **The RTC.** Ports 0x70–0x71, read by the core once at start.
//! - **One thread, one loop**, `libsys::server::serve`'s loop plus what
//!   needs handles: the IRQ's notification is bound to the thread, so
//!   `recv` returns a request or the tick (`Hosted::signal`); a `Sleep`
//!   is deferred by the core and its reply right saved under the token
//!   (`ipc::save_reply`), answered when the core completes it
//!   (`Hosted::deliver`). `Bind` brings a SEND handle to a client's
//!   notification, kept here by badge, which the core's signals name;
//!   `Session`'s `Done` carries a badged handle to the endpoint.
//!
//! - **Recording** (`record` among its arguments: `libsys::record`): the
//!   loop logs each request, reply, completion, signal and bind, and the
//!   core's hardware is wrapped in `timer::record::Recording`, which logs
//!   each TSC read, PIT write and CMOS read between them, so that `lab
//!   replay timer` can replay the core on the host (docs/labs/README.md).
//!
//! A client that dies keeps its timers here until the server restarts
//! (their signals reach no one), within its quota; its sleepers' replies
//! fail, and the core hears `cancelled`.
#![no_std]
#![forbid(unsafe_code)]
#![no_main]

extern crate alloc;

use alloc::collections::BTreeMap;

use driver_hal::port::IoWindow;
use driver_hal::{ReadOnly, Reg, WriteOnly};
use libsys::abi::ipc::{FOREVER, PAYLOAD_MAX};
use libsys::abi::{ObjectType, Rights, SysError};
use libsys::handle::{Borrowed, Endpoint, Irq, Notification, OwnedHandle};
use libsys::ipc::{self, Message, SavedReply};
use libsys::proto::timer::{Reply, Request, TimerError, HZ};
use libsys::rpc::{self, LABEL_BAD_REQUEST, LABEL_REPLY, LABEL_REQUEST, LABEL_SERVER_ERROR};
use libsys::server::{Dispatched, Hosted, Token};
use libsys::{eprintln, println};
use timer::clock::Clock;
use timer::record::Recording;
use timer::server::{PitRegister, TimerHardware, TimerServer, CMOS_DATA, CMOS_INDEX};

libsys::entry!(main);

/// The notification bit the PIT's interrupt sets.
const IRQ_BIT: u32 = 0;

/// PIT channel 0 and the command register, in the window at 0x40.
const PIT_CHANNEL0: Reg<u8, WriteOnly> = Reg::new(0);
const PIT_COMMAND: Reg<u8, WriteOnly> = Reg::new(3);
/// The CMOS index and data registers, in the window at 0x70.
const CMOS_SELECT: Reg<u8, WriteOnly> = Reg::new(0);
const CMOS_VALUE: Reg<u8, ReadOnly> = Reg::new(1);

/// The process's hardware: the two port windows `init` gave.
struct Ports {
    pit: IoWindow,
    cmos: IoWindow,
}

impl TimerHardware for Ports {
    fn rdtsc(&self) -> u64 {
        libsys::syscall::rdtsc()
    }

    fn pit_write(&mut self, register: PitRegister, value: u8) {
        let reg = match register {
            PitRegister::Channel0 => PIT_CHANNEL0,
            PitRegister::Command => PIT_COMMAND,
        };
        self.pit.write(reg, value);
    }

    fn cmos_read(&mut self, register: u8) -> u8 {
        self.cmos.write(CMOS_SELECT, register);
        self.cmos.read(CMOS_VALUE)
    }
}

/// What the loop keeps besides the core.
struct Transport {
    irq: Borrowed<Irq>,
    /// Each client's bound notification, by badge.
    notifications: BTreeMap<u64, Notification>,
    /// Deferred requests' reply rights, by token.
    saved: BTreeMap<Token, SavedReply>,
}

fn main(_args: &str) -> u64 {
    let (ports, irq, tsc_hz, boot_tsc) = match hardware() {
        Ok(found) => found,
        Err(why) => {
            eprintln!("timer: {why}");
            return 1;
        }
    };
    let recording = libsys::record::start_if_asked("timer");
    if recording {
        libsys::record::line(format_args!("boot {tsc_hz} {boot_tsc}"));
    }
    let log: fn(core::fmt::Arguments) = libsys::record::line;
    let ports = Recording::new(ports, recording.then_some(log));
    let server = match TimerServer::start(ports, tsc_hz, boot_tsc) {
        Ok(server) => server,
        Err(e) => {
            eprintln!("timer: cannot start: {e:?}");
            return 1;
        }
    };
    let endpoint = match setup(&irq) {
        Ok(endpoint) => endpoint,
        Err(why) => {
            eprintln!("timer: {why}");
            return 2;
        }
    };
    if let Err(e) = libsys::names::register("timer", &endpoint) {
        eprintln!("timer: cannot register: {e}");
        return 2;
    }
    if let Some(date) = timer::rtc::DateTime::from_unix_seconds(server.realtime_secs()) {
        println!("jiffies at {HZ} Hz, PIT channel 0 one-shot, RTC {date} UTC");
    }
    let mut transport = Transport {
        irq,
        notifications: BTreeMap::new(),
        saved: BTreeMap::new(),
    };
    let error = transport.serve(&endpoint, &mut Hosted::new(server));
    eprintln!("timer: stopped serving: {error}");
    3
}

/// The port windows and IRQ line `init` gave (opened), the TSC rate and
/// the TSC value at the kernel's start of time (what monotonic time
/// counts from, the same for every instance of this server).
fn hardware() -> Result<(Ports, Borrowed<Irq>, u64, u64), &'static str> {
    let irq = libsys::env::irq_line().ok_or("no IRQ line given (manifest irq=isa:0)")?;
    let claim = |base, len| {
        IoWindow::claim(base, len).map_err(|_| "I/O ports not given (manifest ports=0x40:4,0x70:2)")
    };
    let ports = Ports {
        pit: claim(PitRegister::Channel0.port(), 4)?,
        cmos: claim(CMOS_INDEX, (CMOS_DATA - CMOS_INDEX) + 1)?,
    };
    let tsc_before = libsys::syscall::rdtsc();
    let clock = libsys::syscall::clock().map_err(|_| "no clock")?;
    let boot_tsc = Clock::boot_tsc(tsc_before, clock.uptime_ns, clock.tsc_hz);
    Ok((ports, irq, clock.tsc_hz, boot_tsc))
}

/// Binds the IRQ's notification to this thread and makes the endpoint.
fn setup(irq: &Irq) -> Result<Endpoint, &'static str> {
    let notification = Notification::create().map_err(|_| "cannot create a notification")?;
    notification
        .bind_current()
        .map_err(|_| "cannot bind the notification")?;
    irq.bind(&notification, IRQ_BIT)
        .map_err(|_| "cannot bind the IRQ line")?;
    // The thread keeps it bound; the handle stays open for the process.
    core::mem::forget(notification);
    Endpoint::create().map_err(|_| "cannot create an endpoint")
}

type Core = Hosted<TimerServer<Recording<Ports>>>;

impl Transport {
    /// Receives requests and ticks for good; returns why receiving failed.
    fn serve(&mut self, endpoint: &Endpoint, hosted: &mut Core) -> SysError {
        let mut input = [0u8; PAYLOAD_MAX];
        let mut reply: Option<Message> = None;
        loop {
            let timeout = hosted.server.backstop_ns().unwrap_or(FOREVER);
            let received = match reply.take() {
                Some(msg) => endpoint.reply_recv(&msg, timeout),
                None => endpoint.recv(timeout),
            };
            let mut received = match received {
                Ok(r) => r,
                // The interrupt did not come in time: run what is due.
                Err(SysError::TimedOut) => {
                    libsys::record::signal(0);
                    hosted.signal(0);
                    self.carry_out(hosted, &mut input, 0);
                    continue;
                }
                Err(e) => return e,
            };
            if let Some(bits) = received.signals() {
                if bits & (1 << IRQ_BIT) != 0 {
                    let _ = self.irq.ack();
                }
                libsys::record::signal(bits);
                hosted.signal(bits);
                self.carry_out(hosted, &mut input, 0);
                continue;
            }
            let msg = received.msg;
            let badge = received.badge;
            let n = ipc::read_payload(msg.info.length.into(), &mut input);
            // Handles not kept close here, when the iterator is dropped.
            let mut handles = received.take_handles();
            let answer = match (handles.next(), handles.next()) {
                (None, _) => {
                    libsys::record::request(badge, msg.label(), &input[..n]);
                    self.request(hosted, endpoint, msg.label(), &input[..n], badge)
                }
                (Some(handle), None) => {
                    let bind = msg.label() == LABEL_REQUEST
                        && rpc::decode::<Request>(&input[..n]) == Ok(Request::Bind);
                    if bind {
                        Some(encode(&self.bind(hosted, badge, handle)))
                    } else {
                        Some(Message::new(LABEL_BAD_REQUEST))
                    }
                }
                _ => Some(Message::new(LABEL_BAD_REQUEST)),
            };
            drop(handles);
            // The reply (in the IPC buffer) waits aside while completions
            // use the buffer.
            let length = answer.as_ref().map_or(0, |m| usize::from(m.info.length));
            self.carry_out(hosted, &mut input, length);
            reply = answer;
        }
    }

    /// A request without handles, through the core: its reply now, or
    /// `None` when deferred (its reply right saved under the token).
    fn request(
        &mut self,
        hosted: &mut Core,
        endpoint: &Endpoint,
        label: u32,
        input: &[u8],
        badge: u64,
    ) -> Option<Message> {
        let mut output = [0u8; PAYLOAD_MAX];
        match hosted.request(label, input, badge, &mut output) {
            Dispatched::Now(label, length) => {
                libsys::record::now(label, &output[..length]);
                if let Some(session) = hosted.server.take_session() {
                    return Some(session_reply(endpoint, session));
                }
                let _ = ipc::write_payload(&output[..length]);
                Some(Message::new(label).with_payload(length as u16))
            }
            Dispatched::Later(token) => {
                libsys::record::later(token.raw());
                match ipc::save_reply() {
                    Ok(right) => {
                        self.saved.insert(token, right);
                    }
                    Err(e) => {
                        eprintln!("timer: cannot keep a sleeper's reply: {e}");
                        libsys::record::line(format_args!("cancel {}", token.raw()));
                        hosted.cancel(token);
                    }
                }
                None
            }
        }
    }

    /// `Bind` with a handle: kept if it is a notification we may signal.
    fn bind(&mut self, hosted: &mut Core, badge: u64, handle: OwnedHandle) -> Reply {
        match handle.info() {
            Ok((ObjectType::Notification, rights)) if rights.contains(Rights::SEND) => {
                self.notifications.insert(badge, Notification(handle));
                libsys::record::line(format_args!("bind {badge}"));
                let reply = hosted.server.bind(badge);
                if libsys::record::enabled() {
                    let mut bytes = [0u8; 64];
                    if let Ok(n) = rpc::encode(&reply, &mut bytes) {
                        libsys::record::now(LABEL_REPLY, &bytes[..n]);
                    }
                }
                reply
            }
            _ => Reply::Error(TimerError::NoHandle),
        }
    }

    /// Sends the core's signals and delivers its completions; the first
    /// `keep` bytes of the IPC buffer (a reply not sent yet) survive.
    fn carry_out(&mut self, hosted: &mut Core, aside: &mut [u8; PAYLOAD_MAX], keep: usize) {
        for signal in hosted.server.take_signals() {
            libsys::record::line(format_args!("sig {} {}", signal.owner, signal.bit));
            if let Some(n) = self.notifications.get(&signal.owner) {
                let _ = n.signal(1 << signal.bit);
            }
        }
        if !hosted.later.has_completions() {
            return;
        }
        ipc::read_payload(keep, &mut aside[..keep]);
        let mut scratch = [0u8; PAYLOAD_MAX];
        let saved = &mut self.saved;
        hosted.deliver(&mut scratch, |token, label, bytes| {
            let Some(right) = saved.remove(&token) else {
                libsys::record::deliver(token.raw(), label, false, bytes);
                return false;
            };
            let _ = ipc::write_payload(bytes);
            // A sleeper that died or gave up gets nothing: `PeerDied`.
            let ok = right
                .reply(&Message::new(label).with_payload(bytes.len() as u16))
                .is_ok();
            libsys::record::deliver(token.raw(), label, ok, bytes);
            ok
        });
        let _ = ipc::write_payload(&aside[..keep]);
    }
}

/// `reply` encoded into this thread's IPC buffer, as a reply message.
fn encode(reply: &Reply) -> Message {
    match rpc::encode_payload(reply) {
        Ok(length) => Message::new(LABEL_REPLY).with_payload(length),
        Err(_) => Message::new(LABEL_SERVER_ERROR),
    }
}

/// The answer to `Session`: `Done` and a send handle badged `badge`,
/// moved to the caller (or the error, if none could be made).
fn session_reply(endpoint: &Endpoint, badge: u64) -> Message {
    match endpoint.dup(Rights::SEND | Rights::GRANT, Some(badge)) {
        Ok(copy) => {
            // Moved out of our table by the reply.
            let raw = copy.0.into_raw();
            encode(&Reply::Done).with_handles(&[raw]).moving_handles()
        }
        Err(_) => encode(&Reply::Error(TimerError::OutOfMemory)),
    }
}
