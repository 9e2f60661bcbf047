//! The `timer` server process: the core (`service.rs`) behind IPC, with
//! the hardware it needs.
//!
//! - **The PIT.** `init` gives it ISA IRQ 0 and ports 0x40–0x43 (and
//!   nothing else of the PIT: the kernel calibrates its clocks on channel
//!   2 at boot, before any server runs, and ticks its scheduler with the
//!   local APIC timer). Jiffies (at `HZ`) follow the TSC; channel 0 is a
//!   one-shot deadline timer ([`timer::tick`]), programmed for the start
//!   of the next jiffy that holds a timer, so the server is woken when
//!   something is due rather than at every tick. Should its interrupt be
//!   lost (an edge while the line is masked), the receive's kernel timeout
//!   wakes the server a little later.
//! - **The RTC.** Ports 0x70–0x71, read once at start: the wall time
//!   `CLOCK_REALTIME` starts from; from then on both clocks follow the TSC.
//! - **One thread, one loop.** The IRQ's notification is bound to the
//!   thread, so `recv` returns either a request or the tick. A `Sleep` is
//!   not answered at once: its reply right is saved (`ipc::save_reply`)
//!   under the sleeper's key and used when the sleeper's timer fires, so
//!   the server goes on serving everyone else meanwhile.
//! - **Clients' notifications.** `Bind` brings a SEND handle to a client's
//!   notification, kept by badge; an expired timer signals its bit.
//!
//! A client that dies keeps its timers here until the server restarts
//! (their signals reach no one), within its quota; its sleepers' replies
//! fail harmlessly.
#![no_std]
#![forbid(unsafe_code)]
#![no_main]

extern crate alloc;

use alloc::collections::BTreeMap;

use libsys::abi::ipc::{FOREVER, PAYLOAD_MAX};
use libsys::abi::{ObjectType, Rights, SysError};
use libsys::handle::{Borrowed, Endpoint, Irq, Notification, OwnedHandle};
use libsys::ipc::{self, Message, SavedReply};
use libsys::port::{inb, outb};
use libsys::proto::timer::{Reply, Request, HZ};
use libsys::rpc::{self, LABEL_BAD_REQUEST, LABEL_REPLY, LABEL_REQUEST, LABEL_SERVER_ERROR};
use libsys::{eprintln, println};
use timer::clock::{Clock, ClockBase};
use timer::jiffies::{initial_jiffies, Hz};
use timer::rtc::{consistent_reading, RtcRegisters};
use timer::service::{Event, Outcome, TimerService};
use timer::tick::{oneshot_count, ONESHOT_COMMAND};

libsys::entry!(main);

const PIT_CHANNEL0: u16 = 0x40;
const PIT_COMMAND: u16 = 0x43;
const CMOS_INDEX: u16 = 0x70;
const CMOS_DATA: u16 = 0x71;
/// The notification bit the PIT's interrupt sets.
const IRQ_BIT: u32 = 0;

/// What the loop keeps besides the core.
struct Server {
    service: TimerService,
    tsc_hz: u64,
    /// The TSC deadline the PIT is programmed for, if any.
    programmed: Option<u64>,
    irq: Borrowed<Irq>,
    /// Each client's bound notification, by badge.
    notifications: BTreeMap<u64, Notification>,
    /// Sleepers' saved reply rights, by key.
    sleepers: BTreeMap<u64, SavedReply>,
}

fn main(_args: &str) -> u64 {
    let Some(hz) = Hz::new(HZ) else {
        return 1;
    };
    let (irq, tsc_hz, boot_tsc) = match hardware() {
        Ok(found) => found,
        Err(why) => {
            eprintln!("timer: {why}");
            return 1;
        }
    };
    let (realtime_secs, rtc_tsc) = match read_rtc() {
        Ok(read) => read,
        Err(why) => {
            eprintln!("timer: cannot read the RTC: {why:?}");
            return 1;
        }
    };
    let start = initial_jiffies(hz);
    let mut clock = match Clock::new(ClockBase {
        realtime_secs,
        tsc: rtc_tsc,
        boot_tsc,
        tsc_hz,
        hz,
        initial_jiffies: start,
    }) {
        Ok(clock) => clock,
        Err(e) => {
            eprintln!("timer: {e:?}");
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
    let date = timer::rtc::DateTime::from_unix_seconds(realtime_secs);
    if let Some(date) = date {
        println!("jiffies at {HZ} Hz, PIT channel 0 one-shot, RTC {date} UTC");
    }
    let mut server = Server {
        service: {
            // Not `start`: after a restart jiffies continue from the
            // kernel's start, so the wheel starts at the current jiffy.
            let now = clock.jiffies(libsys::syscall::rdtsc());
            TimerService::new(clock, now)
        },
        tsc_hz,
        programmed: None,
        irq,
        notifications: BTreeMap::new(),
        sleepers: BTreeMap::new(),
    };
    let error = server.serve(&endpoint);
    eprintln!("timer: stopped serving: {error}");
    3
}

/// The IRQ line and ports `init` gave (opened), the TSC rate and the TSC
/// value at the kernel's start of time (what monotonic time counts from,
/// the same for every instance of this server).
fn hardware() -> Result<(Borrowed<Irq>, u64, u64), &'static str> {
    let irq = libsys::env::irq_line().ok_or("no IRQ line given (manifest irq=isa:0)")?;
    for (first, count) in [(PIT_CHANNEL0, 4), (CMOS_INDEX, 2)] {
        libsys::env::io_ports(first, count)
            .ok_or("I/O ports not given (manifest ports=0x40:4,0x70:2)")?
            .grant(first, count)
            .map_err(|_| "cannot open the I/O ports")?;
    }
    let tsc_before = libsys::syscall::rdtsc();
    let clock = libsys::syscall::clock().map_err(|_| "no clock")?;
    let boot_tsc = Clock::boot_tsc(tsc_before, clock.uptime_ns, clock.tsc_hz);
    Ok((irq, clock.tsc_hz, boot_tsc))
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

fn cmos_read(register: u8) -> u8 {
    outb(CMOS_INDEX, register);
    inb(CMOS_DATA)
}

/// The RTC's time in seconds since the epoch, and the TSC when it was read.
fn read_rtc() -> Result<(i64, u64), timer::rtc::RtcError> {
    // An update takes under 2 ms; a few thousand readings span several.
    let readings = core::iter::repeat_with(|| RtcRegisters::read_with(cmos_read, None)).take(5000);
    let reading = consistent_reading(readings)?;
    let tsc = libsys::syscall::rdtsc();
    Ok((reading.decode()?.to_unix_seconds(), tsc))
}

impl Server {
    /// Receives requests and ticks for good; returns why receiving failed.
    fn serve(&mut self, endpoint: &Endpoint) -> libsys::abi::SysError {
        let mut input = [0u8; PAYLOAD_MAX];
        let mut reply: Option<Message> = None;
        loop {
            let timeout = self.arm();
            let received = match reply.take() {
                Some(msg) => endpoint.reply_recv(&msg, timeout),
                None => endpoint.recv(timeout),
            };
            let mut received = match received {
                Ok(r) => r,
                // The interrupt did not come in time: run what is due.
                Err(SysError::TimedOut) => {
                    self.service.advance(libsys::syscall::rdtsc());
                    self.carry_out();
                    continue;
                }
                Err(e) => return e,
            };
            if let Some(bits) = received.signals() {
                if bits & (1 << IRQ_BIT) != 0 {
                    let _ = self.irq.ack();
                    self.programmed = None;
                }
                self.service.advance(libsys::syscall::rdtsc());
                self.carry_out();
                continue;
            }
            let msg = received.msg;
            let badge = received.badge;
            let n = ipc::read_payload(msg.info.length.into(), &mut input);
            let request = if msg.label() == LABEL_REQUEST {
                rpc::decode::<Request>(&input[..n]).ok()
            } else {
                None
            };
            // Handles not kept close here, when the iterator is dropped.
            let mut handles = received.take_handles();
            let outcome = match (request, handles.next(), handles.next()) {
                (Some(Request::Bind), Some(handle), None) => {
                    Some(Outcome::Reply(self.bind(badge, handle)))
                }
                (Some(request), None, None) => Some(self.service.handle(
                    request,
                    badge,
                    libsys::syscall::rdtsc(),
                )),
                _ => None,
            };
            drop(handles);
            reply = match outcome {
                None => Some(Message::new(LABEL_BAD_REQUEST)),
                Some(Outcome::Defer { key }) => {
                    match ipc::save_reply() {
                        Ok(saved) => {
                            self.sleepers.insert(key, saved);
                        }
                        Err(e) => {
                            eprintln!("timer: cannot keep a sleeper's reply: {e}");
                            self.service.forget_sleeper(key);
                        }
                    }
                    None
                }
                Some(Outcome::Session { badge }) => {
                    self.carry_out();
                    Some(session(endpoint, badge))
                }
                Some(Outcome::Reply(r)) => {
                    // Events first: answering them uses the IPC buffer.
                    self.carry_out();
                    Some(encode(&r))
                }
            };
            if reply.is_none() {
                self.carry_out();
            }
        }
    }

    /// Programs the PIT for the next deadline (if it is not already) and
    /// returns the receive timeout: the backstop should the interrupt be
    /// lost, a kernel tick or two after the deadline.
    fn arm(&mut self) -> u64 {
        let Some(deadline) = self.service.next_deadline_tsc() else {
            return FOREVER;
        };
        let now = libsys::syscall::rdtsc();
        let delta = deadline.saturating_sub(now);
        let count = oneshot_count(delta, self.tsc_hz);
        // Reprogrammed when the deadline moved, or when the last count fell
        // short of it (a deadline more than one count away).
        if self.programmed != Some(deadline) {
            outb(PIT_COMMAND, ONESHOT_COMMAND);
            outb(PIT_CHANNEL0, count as u8);
            outb(PIT_CHANNEL0, (count >> 8) as u8);
            let reaches =
                u128::from(count) * u128::from(self.tsc_hz) / u128::from(timer::tick::PIT_HZ);
            self.programmed = (reaches >= u128::from(delta)).then_some(deadline);
        }
        let delta_ns = (u128::from(delta) * 1_000_000_000 / u128::from(self.tsc_hz.max(1))) as u64;
        delta_ns.saturating_add(2 * 1_000_000_000 / u64::from(HZ))
    }

    /// `Bind` with a handle: kept if it is a notification we may signal.
    fn bind(&mut self, badge: u64, handle: OwnedHandle) -> Reply {
        match handle.info() {
            Ok((ObjectType::Notification, rights)) if rights.contains(Rights::SEND) => {
                self.notifications.insert(badge, Notification(handle));
                self.service.bind(badge)
            }
            _ => Reply::Error(libsys::proto::timer::TimerError::NoHandle),
        }
    }

    /// Signals and answers what the core queued.
    fn carry_out(&mut self) {
        for event in self.service.take_events() {
            match event {
                Event::Signal { owner, bit } => {
                    if let Some(n) = self.notifications.get(&owner) {
                        let _ = n.signal(1 << bit);
                    }
                }
                Event::Wake { key, remaining_ns } => {
                    if let Some(saved) = self.sleepers.remove(&key) {
                        // A sleeper that died or gave up gets nothing.
                        let _ = saved.reply(&encode(&Reply::Slept { remaining_ns }));
                    }
                }
            }
        }
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
fn session(endpoint: &Endpoint, badge: u64) -> Message {
    match endpoint.dup(Rights::SEND | Rights::GRANT, Some(badge)) {
        Ok(copy) => {
            // Moved out of our table by the reply.
            let raw = copy.0.into_raw();
            encode(&Reply::Done).with_handles(&[raw]).moving_handles()
        }
        Err(_) => encode(&Reply::Error(libsys::proto::timer::TimerError::OutOfMemory)),
    }
}
