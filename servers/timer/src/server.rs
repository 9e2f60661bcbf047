//! The timer server as a reply-later core (`libsys::server::Server`):
//! [`TimerService`] (the wheel, the clocks, the per-client bounds) behind
//! the runtime every transport drives, with the hardware behind a trait.
//!
//! - **No blocking, no reply rights.** A `Sleep` is deferred
//!   ([`Later::defer`]) and its token kept under the sleeper; when its
//!   timer fires (or the client's `Interrupt` wakes it) the core completes
//!   the token with `Slept` through the outbox, and the transport
//!   delivers it — `reply_to` on a saved right in the process, a kernel
//!   wake-up in the monolithic placement. A sleeper whose caller is gone
//!   comes back through [`Server::cancelled`] and its timer is destroyed.
//! - **The hardware is a trait** ([`TimerHardware`]): the TSC, PIT
//!   channel 0's two registers and the CMOS RTC's registers, none of
//!   which blocks. The process implements it with port I/O on the ports
//!   `init` opened to it; a kernel would implement it with its own.
//! - **What needs a handle stays with the transport**, because the
//!   `Server` trait carries none: `Bind`'s notification is kept by the
//!   transport by badge (it calls [`TimerServer::bind`]), the signals the
//!   core wants sent come out of [`TimerServer::take_signals`], and the
//!   badge a `Session` reply must carry a handle for out of
//!   [`TimerServer::take_session`].
//! - **The interrupt** (IRQ 0) is [`Server::on_signal`]: the transport
//!   acknowledges the line, the core runs what is due and programs the
//!   PIT for the next deadline. [`TimerServer::backstop_ns`] is how long
//!   the transport may wait for it before calling `on_signal` anyway (an
//!   edge lost while the line was masked).

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use libsys::proto::timer::{Reply, Request, TimerError, HZ};
use libsys::server::{Answer, Caller, Later, Server, Token};

use crate::clock::{Clock, ClockBase, ClockError};
use crate::jiffies::{initial_jiffies, Hz};
use crate::rtc::{consistent_reading, RtcError, RtcRegisters};
use crate::service::{Event, Outcome, TimerService};
use crate::tick::{oneshot_count, ONESHOT_COMMAND, PIT_HZ};

/// The PIT's registers the server uses (ports 0x40 and 0x43).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PitRegister {
    /// Channel 0's counter (0x40): low byte, then high byte.
    Channel0,
    /// The mode/command register (0x43).
    Command,
}

impl PitRegister {
    /// Its I/O port.
    pub const fn port(self) -> u16 {
        match self {
            PitRegister::Channel0 => 0x40,
            PitRegister::Command => 0x43,
        }
    }
}

/// The CMOS index and data ports.
pub const CMOS_INDEX: u16 = 0x70;
pub const CMOS_DATA: u16 = 0x71;

/// What the core needs of the machine. No call blocks: each is a port
/// access or a register read, so the core may make them from `handle`.
pub trait TimerHardware {
    /// The time-stamp counter now.
    fn rdtsc(&self) -> u64;
    /// Writes a PIT register.
    fn pit_write(&mut self, register: PitRegister, value: u8);
    /// Reads CMOS register `register` (index port, then data port).
    fn cmos_read(&mut self, register: u8) -> u8;
}

/// Why the core could not start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StartError {
    /// The RTC gave no consistent or valid reading.
    Rtc(RtcError),
    /// The clock base is unusable (a zero TSC rate, a boot TSC after now).
    Clock(ClockError),
}

/// A signal the transport must send: bit `bit` of client `owner`'s bound
/// notification.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Signal {
    pub owner: u64,
    pub bit: u8,
}

/// The timer server's core.
pub struct TimerServer<H: TimerHardware> {
    hw: H,
    service: TimerService,
    tsc_hz: u64,
    /// The TSC deadline the PIT is programmed for, if any.
    programmed: Option<u64>,
    /// Sleepers' tokens by the service's sleeper key, and back.
    tokens: BTreeMap<u64, Token>,
    keys: BTreeMap<Token, u64>,
    signals: Vec<Signal>,
    session: Option<u64>,
    realtime_secs: i64,
}

/// How many readings of the RTC to try for two equal ones (an update
/// takes under 2 ms; a few thousand readings span several).
const RTC_READINGS: usize = 5000;

impl<H: TimerHardware> TimerServer<H> {
    /// Reads the RTC through `hw` and starts the clocks: monotonic time
    /// counts from TSC `boot_tsc` (the kernel's start of time, the same
    /// for every instance of the server), at `tsc_hz`.
    pub fn start(mut hw: H, tsc_hz: u64, boot_tsc: u64) -> Result<TimerServer<H>, StartError> {
        let hz = Hz::new(HZ).ok_or(StartError::Clock(ClockError::ZeroTscRate))?;
        // Read as needed: two equal readings end it (usually the first
        // two), so the clock is not read thousands of times for nothing.
        let readings = core::iter::repeat_with(|| {
            RtcRegisters::read_with(|register| hw.cmos_read(register), None)
        })
        .take(RTC_READINGS);
        let reading = consistent_reading(readings).map_err(StartError::Rtc)?;
        let rtc_tsc = hw.rdtsc();
        let realtime_secs = reading.decode().map_err(StartError::Rtc)?.to_unix_seconds();
        let mut clock = Clock::new(ClockBase {
            realtime_secs,
            tsc: rtc_tsc,
            boot_tsc,
            tsc_hz,
            hz,
            initial_jiffies: initial_jiffies(hz),
        })
        .map_err(StartError::Clock)?;
        // Not `initial_jiffies`: after a restart jiffies continue from the
        // kernel's start, so the wheel starts at the current jiffy.
        let now = clock.jiffies(hw.rdtsc());
        Ok(TimerServer {
            hw,
            service: TimerService::new(clock, now),
            tsc_hz,
            programmed: None,
            tokens: BTreeMap::new(),
            keys: BTreeMap::new(),
            signals: Vec::new(),
            session: None,
            realtime_secs,
        })
    }

    /// The wall time the RTC gave at start, in seconds since the epoch.
    pub fn realtime_secs(&self) -> i64 {
        self.realtime_secs
    }

    /// Client `owner` bound a notification (the transport keeps it).
    pub fn bind(&mut self, owner: u64) -> Reply {
        self.service.bind(owner)
    }

    /// Client `owner`'s bound notification is gone (the transport saw the
    /// client close it or exit): its timers are destroyed
    /// ([`TimerService::unbind`]); how many.
    pub fn unbind(&mut self, owner: u64) -> usize {
        self.service.unbind(owner)
    }

    /// The signals to send since the last call, oldest first.
    pub fn take_signals(&mut self) -> Vec<Signal> {
        core::mem::take(&mut self.signals)
    }

    /// The badge the handle answering the last `Session` must carry (its
    /// reply was `Done`), once.
    pub fn take_session(&mut self) -> Option<u64> {
        self.session.take()
    }

    /// Live sleepers (deferred `Sleep`s).
    pub fn sleepers(&self) -> usize {
        self.tokens.len()
    }

    /// How long the transport may wait for the interrupt before calling
    /// `on_signal` anyway: a little past the programmed deadline (two
    /// ticks), `None` with no timer pending.
    pub fn backstop_ns(&self) -> Option<u64> {
        let deadline = self.service.next_deadline_tsc()?;
        let delta = deadline.saturating_sub(self.hw.rdtsc());
        let delta_ns = (u128::from(delta) * 1_000_000_000 / u128::from(self.tsc_hz.max(1))) as u64;
        Some(delta_ns.saturating_add(2 * 1_000_000_000 / u64::from(HZ)))
    }

    /// Runs what is due, turns the service's events into completions and
    /// signals, and programs the PIT for the next deadline.
    fn settle(&mut self, later: &mut Later<Reply>) {
        self.service.advance(self.hw.rdtsc());
        for event in self.service.take_events() {
            match event {
                Event::Signal { owner, bit } => self.signals.push(Signal { owner, bit }),
                Event::Wake { key, remaining_ns } => {
                    if let Some(token) = self.tokens.remove(&key) {
                        self.keys.remove(&token);
                        // A token the runtime no longer knows (its caller
                        // gave up) was cancelled already.
                        let _ = later.complete(token, Reply::Slept { remaining_ns });
                    }
                }
            }
        }
        self.arm();
    }

    /// Programs channel 0 for the next deadline, if it is not already
    /// (or the last count fell short of it).
    fn arm(&mut self) {
        let Some(deadline) = self.service.next_deadline_tsc() else {
            return;
        };
        if self.programmed == Some(deadline) {
            return;
        }
        let delta = deadline.saturating_sub(self.hw.rdtsc());
        let count = oneshot_count(delta, self.tsc_hz);
        self.hw.pit_write(PitRegister::Command, ONESHOT_COMMAND);
        self.hw.pit_write(PitRegister::Channel0, count as u8);
        self.hw.pit_write(PitRegister::Channel0, (count >> 8) as u8);
        let reaches = u128::from(count) * u128::from(self.tsc_hz) / u128::from(PIT_HZ);
        self.programmed = (reaches >= u128::from(delta)).then_some(deadline);
    }
}

impl<H: TimerHardware> Server for TimerServer<H> {
    type Request = Request;
    type Reply = Reply;

    fn handle(
        &mut self,
        request: Request,
        from: Caller,
        later: &mut Later<Reply>,
    ) -> Answer<Reply> {
        let tsc = self.hw.rdtsc();
        let answer = match self.service.handle(request, from.badge, tsc) {
            Outcome::Reply(reply) => Answer::Now(reply),
            Outcome::Session { badge } => {
                self.session = Some(badge);
                Answer::Now(Reply::Done)
            }
            Outcome::Defer { key } => match later.defer() {
                Ok(token) => {
                    self.tokens.insert(key, token);
                    self.keys.insert(token, key);
                    Answer::Later(token)
                }
                // The runtime's token bounds are reached: the sleep is
                // refused now, its timer gone.
                Err(_) => {
                    self.service.forget_sleeper(key);
                    Answer::Now(Reply::Error(TimerError::TooManySleepers))
                }
            },
        };
        self.settle(later);
        answer
    }

    /// IRQ 0 (or the backstop): whatever the bits, time has passed.
    fn on_signal(&mut self, _bits: u64, later: &mut Later<Reply>) {
        // The PIT fired: what it was programmed for is spent.
        self.programmed = None;
        self.settle(later);
    }

    /// A sleeper asked out of its call: answered now with what is left.
    fn interrupted(&mut self, token: Token, later: &mut Later<Reply>) {
        if let Some(key) = self.keys.get(&token).copied() {
            self.service.interrupt_sleeper(key);
            self.settle(later);
        }
    }

    fn cancelled(&mut self, token: Token, _reply: Option<Reply>, later: &mut Later<Reply>) {
        if let Some(key) = self.keys.remove(&token) {
            self.tokens.remove(&key);
            self.service.forget_sleeper(key);
            self.settle(later);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::rc::Rc;
    use core::cell::{Cell, RefCell};
    use libsys::proto::timer::{Expiry, TICK_NS};
    use libsys::rpc::{self, LABEL_REPLY, LABEL_REQUEST};
    use libsys::server::{Dispatched, Hosted};

    use crate::rtc::{RTC_24H, RTC_DM_BINARY, RTC_REG_B};

    const TSC_HZ: u64 = 1_000_000_000;

    /// A machine whose TSC the test moves and whose PIT writes it reads;
    /// the RTC says 2024-01-02 03:04:05 UTC (binary, 24-hour).
    #[derive(Clone, Default)]
    struct Fake {
        tsc: Rc<Cell<u64>>,
        pit: Rc<RefCell<Vec<(PitRegister, u8)>>>,
    }

    impl TimerHardware for Fake {
        fn rdtsc(&self) -> u64 {
            self.tsc.get()
        }
        fn pit_write(&mut self, register: PitRegister, value: u8) {
            self.pit.borrow_mut().push((register, value));
        }
        fn cmos_read(&mut self, register: u8) -> u8 {
            match register {
                0x00 => 5,
                0x02 => 4,
                0x04 => 3,
                0x07 => 2,
                0x08 => 1,
                0x09 => 24,
                RTC_REG_B => RTC_DM_BINARY | RTC_24H,
                _ => 0,
            }
        }
    }

    fn start() -> (Fake, Hosted<TimerServer<Fake>>) {
        let fake = Fake::default();
        fake.tsc.set(5 * TSC_HZ);
        let server = TimerServer::start(fake.clone(), TSC_HZ, 0).unwrap();
        (fake, Hosted::new(server))
    }

    fn ask(h: &mut Hosted<TimerServer<Fake>>, request: Request, badge: u64) -> Dispatched {
        let mut input = [0u8; 64];
        let n = rpc::encode(&request, &mut input).unwrap();
        let mut output = [0u8; 512];
        h.request(LABEL_REQUEST, &input[..n], badge, &mut output)
    }

    fn now(h: &mut Hosted<TimerServer<Fake>>, request: Request, badge: u64) -> Reply {
        let mut input = [0u8; 64];
        let n = rpc::encode(&request, &mut input).unwrap();
        let mut output = [0u8; 512];
        match h.request(LABEL_REQUEST, &input[..n], badge, &mut output) {
            Dispatched::Now(LABEL_REPLY, len) => rpc::decode(&output[..len]).unwrap(),
            other => panic!("{other:?}"),
        }
    }

    fn delivered(h: &mut Hosted<TimerServer<Fake>>) -> Vec<(Token, Reply)> {
        let mut scratch = [0u8; 512];
        let mut got = Vec::new();
        h.deliver(&mut scratch, |token, label, bytes| {
            assert_eq!(label, LABEL_REPLY);
            got.push((token, rpc::decode(bytes).unwrap()));
            true
        });
        got
    }

    #[test]
    fn the_rtc_reading_starts_the_wall_clock() {
        let (_, mut h) = start();
        assert_eq!(h.server.realtime_secs(), 1_704_164_645);
        let Reply::Time { sec, .. } = now(&mut h, Request::ClockGettime { clock: 0 }, 1) else {
            panic!()
        };
        assert_eq!(sec, 1_704_164_645, "read at TSC 5 s, asked at 5 s");
        let Reply::Time { sec, nsec } = now(&mut h, Request::ClockGettime { clock: 1 }, 1) else {
            panic!()
        };
        assert_eq!((sec, nsec), (5, 0), "monotonic from the boot TSC");
    }

    #[test]
    fn a_sleep_is_deferred_the_pit_armed_and_the_interrupt_completes_it() {
        let (fake, mut h) = start();
        let Dispatched::Later(token) = ask(&mut h, Request::Sleep { ns: 3 * TICK_NS }, 7) else {
            panic!("a sleep answers later")
        };
        assert_eq!(h.server.sleepers(), 1);
        let writes = fake.pit.borrow().clone();
        assert_eq!(writes[0], (PitRegister::Command, ONESHOT_COMMAND));
        assert_eq!(writes.len(), 3, "command, low, high");
        assert!(h.server.backstop_ns().is_some());
        assert!(delivered(&mut h).is_empty(), "not yet");
        // Early interrupts (a count that fell short) complete nothing.
        fake.tsc.set(fake.tsc.get() + 2 * TICK_NS);
        h.signal(1);
        assert!(delivered(&mut h).is_empty());
        fake.tsc.set(fake.tsc.get() + 2 * TICK_NS);
        h.signal(1);
        assert_eq!(
            delivered(&mut h),
            [(token, Reply::Slept { remaining_ns: 0 })]
        );
        assert_eq!((h.server.sleepers(), h.later.pending()), (0, 0));
        assert_eq!(h.server.backstop_ns(), None, "nothing pending");
    }

    #[test]
    fn a_gone_sleeper_is_cancelled_and_an_interrupted_one_told_what_is_left() {
        let (fake, mut h) = start();
        let Dispatched::Later(gone) = ask(&mut h, Request::Sleep { ns: 10 * TICK_NS }, 7) else {
            panic!()
        };
        let Dispatched::Later(asked_out) = ask(&mut h, Request::Sleep { ns: 10 * TICK_NS }, 8)
        else {
            panic!()
        };
        h.cancel(gone);
        assert_eq!(h.server.sleepers(), 1);
        h.interrupt(asked_out).unwrap();
        let got = delivered(&mut h);
        assert_eq!(got.len(), 1);
        assert!(
            matches!(got[0], (t, Reply::Slept { remaining_ns }) if t == asked_out && remaining_ns > 0)
        );
        // The gone sleeper's timer went too: nothing fires later.
        fake.tsc.set(fake.tsc.get() + 20 * TICK_NS);
        h.signal(1);
        assert!(delivered(&mut h).is_empty());
        let Reply::Stats(stats) = now(&mut h, Request::Stats, 7) else {
            panic!()
        };
        assert_eq!((stats.sleepers, stats.pending), (0, 0));
    }

    #[test]
    fn interrupt_completes_the_clients_sleepers_through_the_outbox() {
        let (_, mut h) = start();
        let Dispatched::Later(token) = ask(&mut h, Request::Sleep { ns: 50 * TICK_NS }, 3) else {
            panic!()
        };
        assert_eq!(now(&mut h, Request::Interrupt, 3), Reply::Woken(1));
        let got = delivered(&mut h);
        assert!(matches!(got[..], [(t, Reply::Slept { .. })] if t == token));
    }

    #[test]
    fn timers_signal_through_the_transport_and_sessions_leave_a_badge() {
        let (fake, mut h) = start();
        assert_eq!(
            now(
                &mut h,
                Request::AddTimer {
                    when: Expiry::After(TICK_NS),
                    period_ns: 0,
                    bit: 5
                },
                4
            ),
            Reply::Error(TimerError::NotBound)
        );
        assert_eq!(h.server.bind(4), Reply::Done);
        assert!(matches!(
            now(
                &mut h,
                Request::AddTimer {
                    when: Expiry::After(TICK_NS),
                    period_ns: 0,
                    bit: 5
                },
                4
            ),
            Reply::Timer { .. }
        ));
        fake.tsc.set(fake.tsc.get() + 3 * TICK_NS);
        h.signal(1);
        assert_eq!(h.server.take_signals(), [Signal { owner: 4, bit: 5 }]);
        assert_eq!(h.server.take_signals(), [], "once");
        assert_eq!(now(&mut h, Request::Session, 4), Reply::Done);
        let badge = h.server.take_session().unwrap();
        assert!(badge & libsys::proto::timer::SESSION_BADGE != 0);
        assert_eq!(h.server.take_session(), None);
    }

    #[test]
    fn sleepers_past_the_bound_are_refused_now() {
        let (_, mut h) = start();
        for _ in 0..libsys::proto::timer::SLEEPERS_PER_CLIENT {
            assert!(matches!(
                ask(&mut h, Request::Sleep { ns: TICK_NS }, 9),
                Dispatched::Later(_)
            ));
        }
        assert_eq!(
            now(&mut h, Request::Sleep { ns: TICK_NS }, 9),
            Reply::Error(TimerError::TooManySleepers)
        );
    }
}
