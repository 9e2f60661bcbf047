//! Replaying the timer server: its core's replies depend on the clock, so
//! its recording holds the core's hardware calls too (`timer::record`),
//! and the replay answers them from the record.
//!
//! The timer's loop is its own (`servers/timer/src/main.rs`), and the
//! replay drives a fresh core through the same calls in the same order:
//!
//! - `boot`: `TimerServer::start` with the recorded clock base (it reads
//!   the RTC and the TSC: `cmos` and `tsc` lines);
//! - each `req` (its `now` or `later` compared, as for any server), each
//!   `bind` (`TimerServer::bind`, its reply compared) and each `signal`
//!   (the PIT's interrupt, or `signal 0` for the loop's backstop timeout);
//!   a `cancel` inside a request's step is the loop giving up a caller it
//!   could not keep waiting;
//! - after each: the signals the core asks the loop to send (`sig`,
//!   compared in order) and the completions it delivers (`deliver`,
//!   compared as for any server), then `backstop_ns` — the loop asks it
//!   before each receive, and it reads the TSC when a timer is pending.
//!
//! Every hardware call the core makes must be the next one recorded (a
//! TSC read where the record has a PIT write is a difference), and a step
//! must use all the calls recorded for it.

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::rc::Rc;

use libsys::proto::timer::{Reply, Request};
use libsys::rpc::{self, LABEL_REPLY};
use libsys::server::{Dispatched, Hosted, Token};
use timer::record::HardwareCall;
use timer::server::{PitRegister, Signal, TimerHardware, TimerServer};

use super::{show, show_request, Event, Replayed};

/// The hardware a replayed core reads: the recorded calls, in order.
#[derive(Clone, Default)]
struct Playback(Rc<RefCell<Calls>>);

#[derive(Default)]
struct Calls {
    queue: VecDeque<HardwareCall>,
    /// The first call the record did not have.
    wrong: Option<String>,
}

impl Playback {
    /// The next recorded call, if it is what the core made (`made`
    /// describes the call; `fits` says whether a recorded one is it).
    fn next(&self, made: &str, fits: impl Fn(&HardwareCall) -> bool) -> Option<HardwareCall> {
        let mut calls = self.0.borrow_mut();
        if calls.wrong.is_some() {
            return None;
        }
        match calls.queue.front().copied() {
            Some(call) if fits(&call) => {
                calls.queue.pop_front();
                Some(call)
            }
            Some(call) => {
                calls.wrong = Some(format!(
                    "the core made a {made} where the recording has a {call}"
                ));
                None
            }
            None => {
                calls.wrong = Some(format!(
                    "the core made a {made} the recording does not have"
                ));
                None
            }
        }
    }

    /// Loads the calls recorded for the next step; what is left of the
    /// last one (none, if it made all of them) is returned.
    fn load(&self, calls: impl IntoIterator<Item = HardwareCall>) -> Vec<HardwareCall> {
        let mut state = self.0.borrow_mut();
        let left = state.queue.drain(..).collect();
        state.queue.extend(calls);
        left
    }

    fn take_wrong(&self) -> Option<String> {
        self.0.borrow_mut().wrong.take()
    }
}

impl TimerHardware for Playback {
    fn rdtsc(&self) -> u64 {
        match self.next("TSC read", |c| matches!(c, HardwareCall::Tsc(_))) {
            Some(HardwareCall::Tsc(value)) => value,
            _ => 0,
        }
    }

    fn pit_write(&mut self, register: PitRegister, value: u8) {
        let port = register.port();
        let made = format!("PIT write {value:#04x} to port {port:#x}");
        self.next(&made, |c| *c == HardwareCall::Pit(port, value));
    }

    fn cmos_read(&mut self, register: u8) -> u8 {
        let made = format!("CMOS read of register {register:#04x}");
        match self.next(
            &made,
            |c| matches!(c, HardwareCall::Cmos(r, _) if *r == register),
        ) {
            Some(HardwareCall::Cmos(_, value)) => value,
            _ => 0,
        }
    }
}

type Core = Hosted<TimerServer<Playback>>;

/// Whether `event` is one the loop's step begins with.
fn begins_step(event: &Event) -> bool {
    matches!(
        event,
        Event::Start
            | Event::Boot { .. }
            | Event::Request { .. }
            | Event::Bind { .. }
            | Event::Signal { .. }
    )
}

/// The replay's state across steps.
struct Replay {
    hw: Playback,
    core: Option<Core>,
    /// Each request's text, by number (from 1).
    shown: Vec<String>,
    /// Deferred requests by recorded token, and the replay's token for each.
    recorded_tokens: HashMap<u64, usize>,
    replay_tokens: HashMap<u64, usize>,
    tokens: HashMap<usize, Token>,
    replies: usize,
}

impl Replay {
    fn describe(&self, n: usize) -> String {
        format!("request #{n} {}", self.shown[n - 1])
    }

    /// What the step that began with `event` was, for a message.
    fn step_name(&self, event: &Event) -> String {
        match event {
            Event::Request { .. } => self.describe(self.shown.len()),
            Event::Bind { badge } => format!("bind of client {badge:#x}"),
            Event::Signal { bits } => match self.shown.len() {
                0 => format!("signal {bits:#x} before any request"),
                n => format!("signal {bits:#x} after {}", self.describe(n)),
            },
            _ => "the server's start".into(),
        }
    }

    fn core(&mut self) -> Result<&mut Core, String> {
        self.core
            .as_mut()
            .ok_or_else(|| "an event before the server's `boot` line".to_string())
    }

    /// The step's input: the core called as the loop called it.
    /// `outputs` are the step's recorded events other than hardware
    /// calls, consumed as they are compared.
    fn input(&mut self, event: &Event, outputs: &mut VecDeque<&Event>) -> Result<(), String> {
        match event {
            Event::Start => {
                self.core = None;
                self.recorded_tokens.clear();
                self.replay_tokens.clear();
                self.tokens.clear();
            }
            Event::Boot { tsc_hz, boot_tsc } => {
                let server = TimerServer::start(self.hw.clone(), *tsc_hz, *boot_tsc)
                    .map_err(|e| format!("the core did not start: {e:?}"))?;
                self.core = Some(Hosted::new(server));
            }
            Event::Request {
                badge,
                label,
                bytes,
            } => {
                self.shown.push(show_request::<Request>(*label, bytes));
                let n = self.shown.len();
                let mut output = vec![0u8; 1 << 12];
                let got = self.core()?.request(*label, bytes, *badge, &mut output);
                match (outputs.pop_front(), got) {
                    (
                        Some(Event::Now {
                            label: want_label,
                            bytes: want,
                        }),
                        Dispatched::Now(label, len),
                    ) => {
                        if *want_label != label || want[..] != output[..len] {
                            return Err(format!(
                                "{}: expected {} got {}",
                                self.describe(n),
                                show::<Reply>(*want_label, want),
                                show::<Reply>(label, &output[..len])
                            ));
                        }
                        self.core()?.server.take_session();
                        self.replies += 1;
                    }
                    (Some(Event::Later { token }), Dispatched::Later(got)) => {
                        self.recorded_tokens.insert(*token, n);
                        self.replay_tokens.insert(got.raw(), n);
                        self.tokens.insert(n, got);
                    }
                    (Some(Event::Later { .. }), Dispatched::Now(label, len)) => {
                        return Err(format!(
                            "{}: expected it to block (deferred), got {} at once",
                            self.describe(n),
                            show::<Reply>(label, &output[..len])
                        ))
                    }
                    (Some(Event::Now { label, bytes }), Dispatched::Later(_)) => {
                        return Err(format!(
                            "{}: expected {} at once, got deferred (blocked)",
                            self.describe(n),
                            show::<Reply>(*label, bytes)
                        ))
                    }
                    (other, _) => {
                        return Err(format!(
                            "{}: the trace has {other:?} after it, not its reply",
                            self.describe(n)
                        ))
                    }
                }
                // The loop could not keep the caller: the token ends.
                if let Some(Event::Cancel { token }) = outputs.front() {
                    outputs.pop_front();
                    let token = self
                        .recorded_tokens
                        .get(token)
                        .and_then(|n| self.tokens.get(n).copied())
                        .ok_or_else(|| format!("cancel of token {token}, which no request got"))?;
                    self.core()?.cancel(token);
                }
            }
            Event::Bind { badge } => {
                let reply = self.core()?.server.bind(*badge);
                let mut got = [0u8; 64];
                let len = rpc::encode(&reply, &mut got).map_err(|_| "bind: reply too long")?;
                match outputs.pop_front() {
                    Some(Event::Now { label, bytes }) if *label == LABEL_REPLY && bytes[..] == got[..len] => {
                        self.replies += 1;
                    }
                    Some(Event::Now { label, bytes }) => {
                        return Err(format!(
                            "bind of client {badge:#x}: expected {} got {reply:?}",
                            show::<Reply>(*label, bytes)
                        ))
                    }
                    other => {
                        return Err(format!(
                            "bind of client {badge:#x}: the trace has {other:?} after it, not its reply"
                        ))
                    }
                }
            }
            Event::Signal { bits } => self.core()?.signal(*bits),
            other => return Err(format!("{other:?} begins no step")),
        }
        Ok(())
    }

    /// After the step: the signals and completions the loop sent,
    /// compared with the record, in order.
    fn carry_out(&mut self, outputs: &mut VecDeque<&Event>) -> Result<(), String> {
        let Some(core) = self.core.as_mut() else {
            return Ok(());
        };
        for Signal { owner, bit } in core.server.take_signals() {
            match outputs.pop_front() {
                Some(Event::Sig { owner: o, bit: b }) if (*o, *b) == (owner, bit) => {}
                other => {
                    return Err(format!(
                        "the core signalled bit {bit} of client {owner:#x}; the recording has {other:?}"
                    ))
                }
            }
        }
        let mut error: Option<String> = None;
        let mut scratch = vec![0u8; 1 << 12];
        let (shown, recorded_tokens, replay_tokens) =
            (&self.shown, &self.recorded_tokens, &self.replay_tokens);
        let whose = |n: Option<usize>| match n {
            Some(n) => format!("request #{n} {}", shown[n - 1]),
            None => "an unknown request".to_string(),
        };
        let mut delivered = 0;
        core.deliver(&mut scratch, |token, label, bytes| {
            if error.is_some() {
                return false;
            }
            let n = replay_tokens.get(&token.raw()).copied();
            let got = show::<Reply>(label, bytes);
            match outputs.pop_front() {
                Some(Event::Deliver {
                    token: want_token,
                    label: want_label,
                    ok,
                    bytes: want,
                }) => {
                    let want_n = recorded_tokens.get(want_token).copied();
                    if n != want_n || *want_label != label || want[..] != bytes[..] {
                        error = Some(format!(
                            "completion: expected {} for {}, got {got} for {}",
                            show::<Reply>(*want_label, want),
                            whose(want_n),
                            whose(n)
                        ));
                        return false;
                    }
                    delivered += 1;
                    *ok
                }
                other => {
                    error = Some(format!(
                        "{}: completed with {got}; the recording has {other:?}",
                        whose(n)
                    ));
                    false
                }
            }
        });
        self.replies += delivered;
        if let Some(error) = error {
            return Err(error);
        }
        if let Some(left) = outputs.front() {
            return Err(format!(
                "the recording has {left:?} here; the core did not make it"
            ));
        }
        // The loop's next turn asks how long it may wait.
        core.server.backstop_ns();
        Ok(())
    }
}

/// Replays a timer trace (parsed) against fresh timer cores.
pub fn replay_timer(events: &[Event]) -> Result<Replayed, String> {
    let mut replay = Replay {
        hw: Playback::default(),
        core: None,
        shown: Vec::new(),
        recorded_tokens: HashMap::new(),
        replay_tokens: HashMap::new(),
        tokens: HashMap::new(),
        replies: 0,
    };
    let events = &super::before_end(events, begins_step)[..];
    let mut i = 0;
    while i < events.len() {
        let event = &events[i];
        if !begins_step(event) {
            return Err(format!("event {} ({event:?}) begins no step", i + 1));
        }
        let end = events[i + 1..]
            .iter()
            .position(begins_step)
            .map_or(events.len(), |k| i + 1 + k);
        let step = &events[i + 1..end];
        let calls = step.iter().filter_map(|e| match e {
            Event::Hardware(call) => Some(*call),
            _ => None,
        });
        replay.hw.load(calls);
        let mut outputs: VecDeque<&Event> = step
            .iter()
            .filter(|e| !matches!(e, Event::Hardware(_)))
            .collect();
        let done = replay
            .input(event, &mut outputs)
            .and_then(|()| replay.carry_out(&mut outputs));
        let name = replay.step_name(event);
        if let Some(wrong) = replay.hw.take_wrong() {
            return Err(format!("{name}: {wrong}"));
        }
        done.map_err(|e| {
            if e.starts_with("request #") {
                e
            } else {
                format!("{name}: {e}")
            }
        })?;
        let left = replay.hw.load([]);
        if let Some(first) = left.first() {
            return Err(format!(
                "{name}: the recording has {} more hardware call(s) here, the first a {first}",
                left.len()
            ));
        }
        i = end;
    }
    Ok(Replayed {
        requests: replay.shown.len(),
        replies: replay.replies,
    })
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;
    use std::fmt;

    use libsys::proto::timer::{Expiry, TICK_NS};
    use libsys::rpc::LABEL_REQUEST;
    use timer::record::Recording;
    use timer::rtc::{RTC_24H, RTC_DM_BINARY, RTC_REG_B};

    use super::*;
    use crate::trace::{parse, replay_server};

    const TSC_HZ: u64 = 1_000_000_000;

    thread_local! {
        static LOG: RefCell<String> = const { RefCell::new(String::new()) };
    }

    fn emit(header: fmt::Arguments, bytes: &[u8]) {
        libsys::record::format_event("timer", header, bytes, |line| {
            LOG.with(|log| {
                let mut log = log.borrow_mut();
                log.push_str(line);
                log.push('\n');
            })
        });
    }

    fn line(header: fmt::Arguments) {
        emit(header, &[]);
    }

    /// A machine whose TSC the test moves; its RTC says 2024-01-02
    /// 03:04:05 UTC.
    #[derive(Clone, Default)]
    struct Fake {
        tsc: Rc<Cell<u64>>,
    }

    impl TimerHardware for Fake {
        fn rdtsc(&self) -> u64 {
            self.tsc.get()
        }
        fn pit_write(&mut self, _: PitRegister, _: u8) {}
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

    /// The timer's loop (servers/timer/src/main.rs) on the host, with its
    /// recording: what a `record`ing timer writes to the log.
    struct Loop {
        fake: Fake,
        hosted: Hosted<TimerServer<Recording<Fake>>>,
    }

    impl Loop {
        fn start() -> Loop {
            LOG.with(|log| log.borrow_mut().clear());
            let fake = Fake::default();
            fake.tsc.set(5 * TSC_HZ);
            line(format_args!("boot {TSC_HZ} 0"));
            let hw = Recording::new(fake.clone(), Some(line));
            let hosted = Hosted::new(TimerServer::start(hw, TSC_HZ, 0).unwrap());
            let mut l = Loop { fake, hosted };
            l.carry_out();
            l
        }

        fn carry_out(&mut self) {
            for s in self.hosted.server.take_signals() {
                line(format_args!("sig {} {}", s.owner, s.bit));
            }
            let mut scratch = [0u8; 512];
            self.hosted.deliver(&mut scratch, |token, label, bytes| {
                emit(
                    format_args!("deliver {} {label} ok {}", token.raw(), bytes.len()),
                    bytes,
                );
                true
            });
            self.hosted.server.backstop_ns();
        }

        fn request(&mut self, badge: u64, request: Request) {
            let mut input = [0u8; 64];
            let n = rpc::encode(&request, &mut input).unwrap();
            emit(format_args!("req {badge} {LABEL_REQUEST} {n}"), &input[..n]);
            let mut output = [0u8; 512];
            match self
                .hosted
                .request(LABEL_REQUEST, &input[..n], badge, &mut output)
            {
                Dispatched::Now(label, len) => {
                    emit(format_args!("now {label} {len}"), &output[..len]);
                    self.hosted.server.take_session();
                }
                Dispatched::Later(token) => line(format_args!("later {}", token.raw())),
            }
            self.carry_out();
        }

        fn bind(&mut self, badge: u64) {
            line(format_args!("bind {badge}"));
            let reply = self.hosted.server.bind(badge);
            let mut bytes = [0u8; 64];
            let n = rpc::encode(&reply, &mut bytes).unwrap();
            emit(format_args!("now {LABEL_REPLY} {n}"), &bytes[..n]);
            self.carry_out();
        }

        fn interrupt(&mut self, after_ns: u64) {
            self.fake.tsc.set(self.fake.tsc.get() + after_ns);
            line(format_args!("signal 1"));
            self.hosted.signal(1);
            self.carry_out();
        }
    }

    /// A session of every kind of step: clocks, a bound client's timer
    /// firing, sleeps completed by the interrupt and by `Interrupt`.
    fn session() -> String {
        let mut l = Loop::start();
        l.request(7, Request::ClockGettime { clock: 1 });
        l.request(7, Request::Jiffies);
        l.bind(4);
        l.request(
            4,
            Request::AddTimer {
                when: Expiry::After(TICK_NS),
                period_ns: 0,
                bit: 5,
            },
        );
        l.request(7, Request::Sleep { ns: 3 * TICK_NS });
        l.request(8, Request::Sleep { ns: 50 * TICK_NS });
        l.interrupt(2 * TICK_NS);
        l.interrupt(2 * TICK_NS);
        l.request(8, Request::Interrupt);
        l.request(7, Request::ClockGettime { clock: 0 });
        LOG.with(|log| log.borrow().clone())
    }

    #[test]
    fn a_recorded_session_replays_with_its_hardware_calls() {
        let trace = session();
        assert!(
            trace.contains("REC timer cmos 11 6"),
            "the RTC read: {trace}"
        );
        assert!(trace.contains("REC timer pit 67 "), "the PIT armed");
        assert!(
            trace.contains("REC timer sig 4 5"),
            "the bound client's timer"
        );
        assert!(trace.contains("REC timer deliver "), "the sleeps completed");
        assert_eq!(
            replay_server("timer", &trace).unwrap(),
            Replayed {
                requests: 7,
                replies: 8
            },
            "7 requests and a bind; each answered, the two sleeps later"
        );
    }

    #[test]
    fn a_different_clock_reading_is_the_first_wrong_reply() {
        let trace = session();
        let events = parse(&trace, "timer").unwrap();
        // The first request's TSC read, a second later than recorded.
        let at = events
            .iter()
            .position(|e| matches!(e, Event::Request { .. }))
            .unwrap();
        let mut changed = events.clone();
        let Some(Event::Hardware(HardwareCall::Tsc(t))) = changed.get_mut(at + 1) else {
            panic!(
                "the request's TSC read follows it: {:?}",
                &changed[at..at + 3]
            )
        };
        *t += TSC_HZ;
        let err = replay_timer(&changed).unwrap_err();
        assert_eq!(
            err,
            "request #1 ClockGettime { clock: 1 }: expected Time { sec: 5, nsec: 0 } got Time { sec: 6, nsec: 0 }"
        );
    }

    #[test]
    fn a_hardware_call_the_record_lacks_or_has_more_of_is_reported() {
        let events = parse(&session(), "timer").unwrap();
        // The PIT's command write (arming for the bound client's timer)
        // gone from the record.
        let pit = events
            .iter()
            .position(|e| matches!(e, Event::Hardware(HardwareCall::Pit(0x43, _))))
            .unwrap();
        let mut lacking = events.clone();
        lacking.remove(pit);
        let err = replay_timer(&lacking).unwrap_err();
        assert!(
            err.starts_with("request #3 AddTimer")
                && err.contains("the core made a PIT write 0x30 to port 0x43 where the recording has a PIT write"),
            "{err}"
        );
        // One call more in the record than the core makes.
        let mut more = events.clone();
        more.insert(pit, Event::Hardware(HardwareCall::Tsc(1)));
        let err = replay_timer(&more).unwrap_err();
        assert!(err.contains("the core made a PIT write 0x30"), "{err}");
        let first = events
            .iter()
            .position(|e| matches!(e, Event::Request { .. }))
            .unwrap();
        let mut extra = events.clone();
        // After the request's reply, before the next request: unused.
        extra.insert(first + 4, Event::Hardware(HardwareCall::Cmos(0, 0)));
        let err = replay_timer(&extra).unwrap_err();
        assert!(
            err.contains("request #1 ClockGettime { clock: 1 }: the recording has 1 more hardware call(s) here, the first a CMOS read of register 0x00"),
            "{err}"
        );
    }

    #[test]
    fn a_record_cut_short_replays_up_to_its_last_whole_step() {
        let trace = session();
        // `record=<lines>` ended it inside the fifth request's step (its
        // PIT writes and reply not written).
        let lines: Vec<&str> = trace.lines().collect();
        let fifth = lines
            .iter()
            .enumerate()
            .filter(|(_, l)| l.starts_with("REC timer req "))
            .nth(4)
            .unwrap()
            .0;
        let cut = lines[..fifth + 3].join("\n") + "\nREC timer end\n";
        assert_eq!(
            replay_server("timer", &cut).unwrap(),
            Replayed {
                requests: 4,
                replies: 4
            },
            "three answered and a bind; the fourth a sleep, deferred"
        );
        // A restarted timer's part after it is replayed whole.
        let restarted = cut + "REC timer start\n" + &session();
        assert_eq!(
            replay_server("timer", &restarted).unwrap(),
            Replayed {
                requests: 11,
                replies: 12
            }
        );
    }

    #[test]
    fn a_signal_the_core_does_not_send_is_a_difference() {
        let trace = session().replace("REC timer sig 4 5", "REC timer sig 4 6");
        let err = replay_server("timer", &trace).unwrap_err();
        assert!(
            err.contains("the core signalled bit 5 of client 0x4; the recording has Some(Sig { owner: 4, bit: 6 })"),
            "{err}"
        );
    }
}
