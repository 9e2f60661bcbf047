//! The timer server's request handling: `libsys::proto::timer` on top of
//! the wheel and the clocks, with no system call.
//!
//! Jiffies follow the TSC ([`Clock::jiffies`]): the binary hands in each
//! request with the caller's badge and the TSC, and calls [`advance`]
//! when its timer interrupt comes; either runs the timers that are due
//! first. The service answers, or defers a
//! `Sleep` (the binary keeps the caller's reply right under the sleeper's
//! key), and queues [`Event`]s for the binary to carry out: signal a
//! client's notification bit, answer a sleeper. Invariants:
//! - every timer in the wheel is either a client's (token = its bit) or a
//!   sleeper's (token = [`SLEEPER`] | key), owned by the client's badge;
//! - `clients[badge].timers` counts that client's live timers and
//!   `.sleepers` its sleepers, so the per-client bounds hold;
//! - a sleeper is answered exactly once: its `Wake` event is queued when
//!   its timer fires or it is interrupted, and its timer is destroyed then.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use libsys::proto::timer::{
    Expiry, Reply, Request, Stats, TimerError, CLOCK_MONOTONIC, CLOCK_REALTIME, LATE_BUCKETS,
    SESSIONS_PER_CLIENT, SESSION_BADGE, SLEEPERS_PER_CLIENT, TIMERS_PER_CLIENT,
};

use crate::clock::{Clock, ClockId};
use crate::jiffies::{jiffies_to_nsecs, nsecs_to_jiffies, time_after, Hz, Jiffies};
use crate::wheel::{self, TimerId, TimerWheel};

/// Token bit that marks a sleeper's timer.
pub const SLEEPER: u64 = 1 << 63;

/// What the binary must do after a request or a tick.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// Set `bit` of client `owner`'s bound notification.
    Signal { owner: u64, bit: u8 },
    /// Answer sleeper `key` with `Slept { remaining_ns }`.
    Wake { key: u64, remaining_ns: u64 },
}

/// How a request is answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Reply(Reply),
    /// A sleep: keep the reply right under `key` until a `Wake` names it.
    Defer {
        key: u64,
    },
    /// A session: give the caller a handle badged `badge`, with `Done`.
    Session {
        badge: u64,
    },
}

#[derive(Clone, Copy, Debug, Default)]
struct ClientState {
    bound: bool,
    timers: u32,
    sleepers: u32,
    sessions: u32,
    expirations: u64,
}

#[derive(Clone, Copy, Debug)]
struct Sleeper {
    owner: u64,
    timer: TimerId,
    ns: u64,
}

pub struct TimerService {
    clock: Clock,
    hz: Hz,
    wheel: TimerWheel,
    jiffies: Jiffies,
    clients: BTreeMap<u64, ClientState>,
    sleepers: BTreeMap<u64, Sleeper>,
    next_key: u64,
    next_session: u64,
    events: Vec<Event>,
    all_expirations: u64,
}

fn wheel_error(e: wheel::TimerError) -> TimerError {
    match e {
        wheel::TimerError::StaleHandle | wheel::TimerError::AlreadyPending => {
            TimerError::NoSuchTimer
        }
        wheel::TimerError::InvalidPeriod => TimerError::InvalidPeriod,
        wheel::TimerError::OutOfMemory | wheel::TimerError::TooManyTimers => {
            TimerError::OutOfMemory
        }
    }
}

impl TimerService {
    /// A service whose jiffies start at `jiffies`, with `clock` for the
    /// clocks.
    pub fn new(clock: Clock, jiffies: Jiffies) -> TimerService {
        TimerService {
            hz: clock.hz(),
            clock,
            wheel: TimerWheel::new(jiffies),
            jiffies,
            clients: BTreeMap::new(),
            sleepers: BTreeMap::new(),
            next_key: 1,
            next_session: 1,
            events: Vec::new(),
            all_expirations: 0,
        }
    }

    pub fn jiffies(&self) -> Jiffies {
        self.jiffies
    }

    /// The earliest pending expiry, if any.
    pub fn next_expiry(&self) -> Option<Jiffies> {
        self.wheel.next_expiry()
    }

    /// The TSC value at which the earliest pending timer is due (the
    /// start of its jiffy), if any: when to program the next interrupt.
    pub fn next_deadline_tsc(&self) -> Option<u64> {
        self.next_expiry().map(|j| self.clock.tsc_at_jiffies(j))
    }

    /// Brings jiffies up to TSC `tsc` and runs every timer due by then.
    pub fn advance(&mut self, tsc: u64) {
        let now = self.clock.jiffies(tsc);
        if time_after(now, self.jiffies) {
            self.tick(now);
        }
    }

    /// The events queued since the last call, oldest first.
    pub fn take_events(&mut self) -> Vec<Event> {
        core::mem::take(&mut self.events)
    }

    /// Whether client `owner` has bound a notification.
    pub fn bound(&self, owner: u64) -> bool {
        self.clients.get(&owner).is_some_and(|c| c.bound)
    }

    /// Client `owner` bound a notification (the binary keeps the handle).
    pub fn bind(&mut self, owner: u64) -> Reply {
        self.clients.entry(owner).or_default().bound = true;
        Reply::Done
    }

    /// The expiry `when` names, from now.
    fn expiry(&self, when: Expiry) -> Jiffies {
        match when {
            Expiry::At(j) => j,
            // Whole ticks, rounded up, and one for the tick in progress:
            // never early.
            Expiry::After(ns) => self
                .jiffies
                .wrapping_add(nsecs_to_jiffies(ns, self.hz))
                .wrapping_add(1),
        }
    }

    /// Client `owner`'s timer `raw`, checked to be its own and not a
    /// sleeper's.
    fn own_timer(&self, owner: u64, raw: u64) -> Result<TimerId, TimerError> {
        let id = TimerId::from_raw(raw);
        match self.wheel.timer_info(id) {
            Ok(info) if info.owner == owner && info.token & SLEEPER == 0 => Ok(id),
            _ => Err(TimerError::NoSuchTimer),
        }
    }

    /// Answers `request` from client `owner` at TSC `tsc` (after running
    /// the timers due by then).
    pub fn handle(&mut self, request: Request, owner: u64, tsc: u64) -> Outcome {
        self.advance(tsc);
        let reply = match request {
            Request::ClockGettime { clock } => self.clock_gettime(clock, tsc),
            Request::Jiffies => Ok(Reply::Jiffies {
                jiffies: self.jiffies,
                hz: self.hz.get(),
            }),
            Request::Sleep { ns } => return self.sleep(owner, ns),
            Request::Interrupt => Ok(Reply::Woken(self.interrupt(owner))),
            // Bind carries a handle: the binary calls `bind` itself; here
            // it came without one.
            Request::Bind => Err(TimerError::NoHandle),
            Request::AddTimer {
                when,
                period_ns,
                bit,
            } => self.add_timer(owner, when, period_ns, bit),
            Request::ModTimer { id, when } => self.own_timer(owner, id).and_then(|id| {
                let expires = self.expiry(when);
                self.wheel
                    .mod_timer(id, expires)
                    .map(Reply::Pending)
                    .map_err(wheel_error)
            }),
            Request::DelTimer { id } => self.own_timer(owner, id).and_then(|id| {
                let was = self.wheel.destroy_timer(id).map_err(wheel_error)?;
                if let Some(c) = self.clients.get_mut(&owner) {
                    c.timers = c.timers.saturating_sub(1);
                }
                Ok(Reply::Pending(was))
            }),
            Request::Stats => Ok(Reply::Stats(self.stats(owner))),
            Request::Session => return self.session(owner),
        };
        Outcome::Reply(reply.unwrap_or_else(Reply::Error))
    }

    fn session(&mut self, owner: u64) -> Outcome {
        let client = self.clients.entry(owner).or_default();
        if owner & SESSION_BADGE != 0 || client.sessions >= SESSIONS_PER_CLIENT {
            return Outcome::Reply(Reply::Error(TimerError::TooManySessions));
        }
        client.sessions += 1;
        let badge = SESSION_BADGE | self.next_session;
        self.next_session += 1;
        Outcome::Session { badge }
    }

    fn clock_gettime(&mut self, clock: u32, tsc: u64) -> Result<Reply, TimerError> {
        let id = match clock {
            CLOCK_REALTIME => ClockId::Realtime,
            CLOCK_MONOTONIC => ClockId::Monotonic,
            _ => return Err(TimerError::InvalidClock),
        };
        let t = self.clock.clock_gettime(id, tsc);
        Ok(Reply::Time {
            sec: t.sec,
            nsec: t.nsec,
        })
    }

    fn sleep(&mut self, owner: u64, ns: u64) -> Outcome {
        if ns == 0 {
            return Outcome::Reply(Reply::Slept { remaining_ns: 0 });
        }
        let client = self.clients.entry(owner).or_default();
        if client.sleepers >= SLEEPERS_PER_CLIENT {
            return Outcome::Reply(Reply::Error(TimerError::TooManySleepers));
        }
        let key = self.next_key;
        let expires = self.expiry(Expiry::After(ns));
        let armed = self
            .wheel
            .init_timer(owner, SLEEPER | key)
            .and_then(|timer| match self.wheel.add_timer(timer, expires) {
                Ok(()) => Ok(timer),
                Err(e) => {
                    let _ = self.wheel.destroy_timer(timer);
                    Err(e)
                }
            });
        let timer = match armed {
            Ok(timer) => timer,
            Err(e) => return Outcome::Reply(Reply::Error(wheel_error(e))),
        };
        self.next_key += 1;
        self.clients.entry(owner).or_default().sleepers += 1;
        self.sleepers.insert(key, Sleeper { owner, timer, ns });
        Outcome::Defer { key }
    }

    /// Ends sleeper `key`, queueing its answer.
    fn wake(&mut self, key: u64, remaining_ns: u64) {
        if let Some(sleeper) = self.sleepers.remove(&key) {
            let _ = self.wheel.destroy_timer(sleeper.timer);
            if let Some(c) = self.clients.get_mut(&sleeper.owner) {
                c.sleepers = c.sleepers.saturating_sub(1);
            }
            self.events.push(Event::Wake { key, remaining_ns });
        }
    }

    /// Wakes every sleeper of `owner` early; how many.
    fn interrupt(&mut self, owner: u64) -> u32 {
        let theirs: Vec<u64> = self
            .sleepers
            .iter()
            .filter(|(_, s)| s.owner == owner)
            .map(|(k, _)| *k)
            .collect();
        for key in &theirs {
            self.interrupt_sleeper(*key);
        }
        theirs.len() as u32
    }

    /// Wakes sleeper `key` early, with the time it had left (its caller
    /// asked out of the call); false if there is no such sleeper.
    pub fn interrupt_sleeper(&mut self, key: u64) -> bool {
        let Some(sleeper) = self.sleepers.get(&key).copied() else {
            return false;
        };
        let now = self.jiffies;
        let expires = self
            .wheel
            .timer_info(sleeper.timer)
            .map_or(now, |i| i.expires);
        // Whole ticks left, less the one added for the tick in progress;
        // never more than was asked for.
        let left = if time_after(expires, now) {
            expires.wrapping_sub(now) - 1
        } else {
            0
        };
        let remaining = jiffies_to_nsecs(left, self.hz).min(sleeper.ns);
        self.wake(key, remaining);
        true
    }

    fn add_timer(
        &mut self,
        owner: u64,
        when: Expiry,
        period_ns: u64,
        bit: u8,
    ) -> Result<Reply, TimerError> {
        let client = self.clients.get(&owner).copied().unwrap_or_default();
        if !client.bound {
            return Err(TimerError::NotBound);
        }
        if bit >= 64 {
            return Err(TimerError::InvalidBit);
        }
        if client.timers >= TIMERS_PER_CLIENT {
            return Err(TimerError::TooManyTimers);
        }
        let period = if period_ns == 0 {
            0
        } else {
            nsecs_to_jiffies(period_ns, self.hz).max(1)
        };
        let expires = self.expiry(when);
        let id = self
            .wheel
            .init_timer(owner, u64::from(bit))
            .map_err(wheel_error)?;
        let armed = self
            .wheel
            .set_period(id, period)
            .and_then(|()| self.wheel.add_timer(id, expires));
        if let Err(e) = armed {
            let _ = self.wheel.destroy_timer(id);
            return Err(wheel_error(e));
        }
        self.clients.entry(owner).or_default().timers += 1;
        Ok(Reply::Timer {
            id: id.to_raw(),
            expires,
        })
    }

    fn stats(&self, owner: u64) -> Stats {
        let client = self.clients.get(&owner).copied().unwrap_or_default();
        let mut late = [0u64; LATE_BUCKETS];
        for (bucket, count) in self.wheel.late_histogram().iter().enumerate() {
            late[bucket.min(LATE_BUCKETS - 1)] += count;
        }
        Stats {
            pending: self
                .wheel
                .pending_for_owner(owner)
                .saturating_sub(client.sleepers as usize) as u32,
            timers: client.timers,
            sleepers: client.sleepers,
            expirations: client.expirations,
            all_expirations: self.all_expirations,
            late,
            jiffies: self.jiffies,
        }
    }

    /// Jiffies are now `jiffies`: runs every timer due, queueing their
    /// events in expiry order.
    pub fn tick(&mut self, jiffies: Jiffies) {
        self.jiffies = jiffies;
        let mut fired = Vec::new();
        self.wheel.run_timers(jiffies, |e| fired.push(e));
        for e in fired {
            self.all_expirations += 1;
            if e.token & SLEEPER != 0 {
                self.wake(e.token & !SLEEPER, 0);
            } else {
                if let Some(c) = self.clients.get_mut(&e.owner) {
                    c.expirations += 1;
                }
                self.events.push(Event::Signal {
                    owner: e.owner,
                    bit: e.token as u8,
                });
            }
        }
    }

    /// Client `owner`'s notification is gone (the server was the last to
    /// hold it: the client closed it or exited): its timers can signal no
    /// one, so they are destroyed and its binding forgotten — it must bind
    /// again before adding timers. Its sleepers are left alone (each is
    /// answered, or cancelled through its own call). Returns how many
    /// timers went.
    pub fn unbind(&mut self, owner: u64) -> usize {
        let destroyed = self
            .wheel
            .destroy_timers_matching(owner, |token| token & SLEEPER == 0);
        if let Some(c) = self.clients.get_mut(&owner) {
            c.bound = false;
            c.timers = 0;
        }
        destroyed
    }

    /// A sleeper whose reply right could not be kept (the binary failed
    /// to save it): forget it without an answer.
    pub fn forget_sleeper(&mut self, key: u64) {
        self.wake(key, 0);
        self.events.retain(|e| {
            *e != Event::Wake {
                key,
                remaining_ns: 0,
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ClockBase;
    use crate::jiffies::initial_jiffies;
    use libsys::proto::timer::HZ;

    const TSC_HZ: u64 = 1_000_000_000;

    fn service() -> TimerService {
        let hz = Hz::new(HZ).unwrap();
        let clock = Clock::new(ClockBase {
            realtime_secs: 1_700_000_000,
            tsc: 0,
            boot_tsc: 0,
            tsc_hz: TSC_HZ,
            hz,
            initial_jiffies: initial_jiffies(hz),
        })
        .unwrap();
        TimerService::new(clock, initial_jiffies(hz))
    }

    fn reply(outcome: Outcome) -> Reply {
        match outcome {
            Outcome::Reply(r) => r,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn clocks_and_jiffies() {
        let mut s = service();
        assert_eq!(
            reply(s.handle(
                Request::ClockGettime {
                    clock: CLOCK_REALTIME
                },
                1,
                1_500_000_000
            )),
            Reply::Time {
                sec: 1_700_000_001,
                nsec: 500_000_000
            }
        );
        assert_eq!(
            reply(s.handle(
                Request::ClockGettime {
                    clock: CLOCK_MONOTONIC
                },
                1,
                2_000_000_001
            )),
            Reply::Time { sec: 2, nsec: 1 }
        );
        assert_eq!(
            reply(s.handle(Request::ClockGettime { clock: 7 }, 1, 0)),
            Reply::Error(TimerError::InvalidClock)
        );
        let j = s.jiffies();
        assert_eq!(
            reply(s.handle(Request::Jiffies, 1, 0)),
            Reply::Jiffies { jiffies: j, hz: HZ }
        );
    }

    #[test]
    fn timers_need_a_binding_a_bit_and_stay_within_the_quota() {
        let mut s = service();
        let add = |s: &mut TimerService, bit| {
            reply(s.handle(
                Request::AddTimer {
                    when: Expiry::After(1),
                    period_ns: 0,
                    bit,
                },
                9,
                0,
            ))
        };
        assert_eq!(add(&mut s, 1), Reply::Error(TimerError::NotBound));
        s.bind(9);
        assert_eq!(add(&mut s, 64), Reply::Error(TimerError::InvalidBit));
        for _ in 0..TIMERS_PER_CLIENT {
            assert!(matches!(add(&mut s, 3), Reply::Timer { .. }));
        }
        assert_eq!(add(&mut s, 3), Reply::Error(TimerError::TooManyTimers));
        s.bind(10);
        let other = reply(s.handle(
            Request::AddTimer {
                when: Expiry::After(1),
                period_ns: 0,
                bit: 0,
            },
            10,
            0,
        ));
        assert!(
            matches!(other, Reply::Timer { .. }),
            "quotas are per client"
        );
    }

    #[test]
    fn timers_fire_in_order_and_del_prevents_one() {
        let mut s = service();
        s.bind(1);
        s.bind(2);
        let start = s.jiffies();
        let mut ids = Vec::new();
        for (i, owner) in [(5u64, 1u64), (3, 2), (4, 1), (6, 2)] {
            let r = reply(s.handle(
                Request::AddTimer {
                    when: Expiry::At(start.wrapping_add(i)),
                    period_ns: 0,
                    bit: i as u8,
                },
                owner,
                0,
            ));
            let Reply::Timer { id, expires } = r else {
                panic!("{r:?}")
            };
            assert_eq!(expires, start.wrapping_add(i));
            ids.push((id, owner));
        }
        // Another client cannot touch it; its owner can.
        assert_eq!(
            reply(s.handle(Request::DelTimer { id: ids[3].0 }, 1, 0)),
            Reply::Error(TimerError::NoSuchTimer)
        );
        assert_eq!(
            reply(s.handle(Request::DelTimer { id: ids[3].0 }, 2, 0)),
            Reply::Pending(true)
        );
        assert_eq!(
            reply(s.handle(Request::DelTimer { id: ids[3].0 }, 2, 0)),
            Reply::Error(TimerError::NoSuchTimer),
            "freed"
        );
        for j in 1..=10 {
            s.tick(start.wrapping_add(j));
        }
        assert_eq!(
            s.take_events(),
            [
                Event::Signal { owner: 2, bit: 3 },
                Event::Signal { owner: 1, bit: 4 },
                Event::Signal { owner: 1, bit: 5 },
            ]
        );
        // A fired one-shot timer can be re-armed; it was not pending.
        assert_eq!(
            reply(s.handle(
                Request::ModTimer {
                    id: ids[0].0,
                    when: Expiry::At(start.wrapping_add(12))
                },
                1,
                0
            )),
            Reply::Pending(false)
        );
        let Reply::Stats(stats) = reply(s.handle(Request::Stats, 1, 0)) else {
            panic!()
        };
        assert_eq!((stats.pending, stats.timers, stats.expirations), (1, 2, 2));
        assert_eq!(stats.all_expirations, 3);
        assert_eq!(stats.late.iter().sum::<u64>(), 3);
    }

    #[test]
    fn periodic_timers_rearm() {
        let mut s = service();
        s.bind(1);
        let start = s.jiffies();
        let tick = 1_000_000_000 / HZ as u64;
        reply(s.handle(
            Request::AddTimer {
                when: Expiry::At(start.wrapping_add(2)),
                period_ns: 2 * tick,
                bit: 0,
            },
            1,
            0,
        ));
        for j in 1..=8 {
            s.tick(start.wrapping_add(j));
        }
        assert_eq!(s.take_events().len(), 4, "at +2, +4, +6, +8");
    }

    #[test]
    fn sleep_is_deferred_and_answered_at_expiry_or_interrupted() {
        let mut s = service();
        let tick = 1_000_000_000 / HZ as u64;
        assert_eq!(
            s.handle(Request::Sleep { ns: 0 }, 1, 0),
            Outcome::Reply(Reply::Slept { remaining_ns: 0 })
        );
        let start = s.jiffies();
        let Outcome::Defer { key } = s.handle(Request::Sleep { ns: 10 * tick }, 1, 0) else {
            panic!()
        };
        let Outcome::Defer { key: other } = s.handle(Request::Sleep { ns: 100 * tick }, 1, 0)
        else {
            panic!()
        };
        // 10 ticks, plus one for the tick in progress: never early.
        s.tick(start.wrapping_add(10));
        assert_eq!(s.take_events(), []);
        s.tick(start.wrapping_add(11));
        assert_eq!(
            s.take_events(),
            [Event::Wake {
                key,
                remaining_ns: 0
            }]
        );
        s.tick(start.wrapping_add(21));
        assert_eq!(
            reply(s.handle(Request::Interrupt, 2, 0)),
            Reply::Woken(0),
            "only the client's own"
        );
        assert_eq!(reply(s.handle(Request::Interrupt, 1, 0)), Reply::Woken(1));
        assert_eq!(
            s.take_events(),
            [Event::Wake {
                key: other,
                remaining_ns: 79 * tick
            }]
        );
        s.tick(start.wrapping_add(200));
        assert_eq!(s.take_events(), [], "answered once");
        for _ in 0..SLEEPERS_PER_CLIENT {
            assert!(matches!(
                s.handle(Request::Sleep { ns: tick }, 3, 0),
                Outcome::Defer { .. }
            ));
        }
        assert_eq!(
            s.handle(Request::Sleep { ns: tick }, 3, 0),
            Outcome::Reply(Reply::Error(TimerError::TooManySleepers))
        );
    }

    #[test]
    fn jiffies_follow_the_tsc_and_deadlines_are_tick_starts() {
        let mut s = service();
        let start = s.jiffies();
        let tick = TSC_HZ / HZ as u64;
        assert_eq!(s.next_deadline_tsc(), None);
        s.bind(1);
        reply(s.handle(
            Request::AddTimer {
                when: Expiry::After(1),
                period_ns: 0,
                bit: 2,
            },
            1,
            tick / 2,
        ));
        // Due at start + 2 (one tick for the nanosecond, one for the tick
        // in progress): its jiffy starts 2 ticks after the base.
        assert_eq!(s.next_deadline_tsc(), Some(2 * tick));
        s.advance(2 * tick - 1);
        assert_eq!(s.take_events(), []);
        assert_eq!(s.jiffies(), start.wrapping_add(1));
        s.advance(2 * tick);
        assert_eq!(s.take_events(), [Event::Signal { owner: 1, bit: 2 }]);
        s.advance(0);
        assert_eq!(s.jiffies(), start.wrapping_add(2), "never backwards");
    }

    #[test]
    fn sessions_are_new_clients_and_bounded() {
        let mut s = service();
        let mut badges = Vec::new();
        for _ in 0..SESSIONS_PER_CLIENT {
            let Outcome::Session { badge } = s.handle(Request::Session, 4, 0) else {
                panic!()
            };
            assert!(badge & SESSION_BADGE != 0 && !badges.contains(&badge));
            badges.push(badge);
        }
        assert_eq!(
            s.handle(Request::Session, 4, 0),
            Outcome::Reply(Reply::Error(TimerError::TooManySessions))
        );
        assert_eq!(
            s.handle(Request::Session, badges[0], 0),
            Outcome::Reply(Reply::Error(TimerError::TooManySessions)),
            "not through a session"
        );
        assert!(matches!(
            s.handle(Request::Session, 5, 0),
            Outcome::Session { .. }
        ));
    }

    #[test]
    fn unbinding_destroys_the_clients_timers_but_not_its_sleepers() {
        let mut s = service();
        let tick = 1_000_000_000 / HZ as u64;
        s.bind(1);
        s.bind(2);
        for owner in [1, 1, 2] {
            assert!(matches!(
                reply(s.handle(
                    Request::AddTimer {
                        when: Expiry::After(5 * tick),
                        period_ns: tick,
                        bit: 1
                    },
                    owner,
                    0
                )),
                Reply::Timer { .. }
            ));
        }
        let Outcome::Defer { key } = s.handle(Request::Sleep { ns: 3 * tick }, 1, 0) else {
            panic!()
        };
        assert_eq!(s.unbind(1), 2, "the two timers, not the sleeper's");
        let Reply::Stats(stats) = reply(s.handle(Request::Stats, 1, 0)) else {
            panic!()
        };
        assert_eq!((stats.timers, stats.pending, stats.sleepers), (0, 0, 1));
        assert_eq!(
            reply(s.handle(
                Request::AddTimer {
                    when: Expiry::After(tick),
                    period_ns: 0,
                    bit: 1
                },
                1,
                0
            )),
            Reply::Error(TimerError::NotBound)
        );
        let start = s.jiffies();
        s.tick(start.wrapping_add(10));
        let events = s.take_events();
        assert!(events.contains(&Event::Wake {
            key,
            remaining_ns: 0
        }));
        assert!(events.contains(&Event::Signal { owner: 2, bit: 1 }));
        assert!(
            !events.contains(&Event::Signal { owner: 1, bit: 1 }),
            "no signal to a gone notification"
        );
    }

    #[test]
    fn a_sleepers_timer_is_not_a_client_timer() {
        let mut s = service();
        let Outcome::Defer { key } = s.handle(Request::Sleep { ns: 1_000_000 }, 1, 0) else {
            panic!()
        };
        // Guess the id of the sleeper's timer: the first in the arena.
        for raw in [1u64 << 32, 0, key, SLEEPER | key] {
            assert_eq!(
                reply(s.handle(Request::DelTimer { id: raw }, 1, 0)),
                Reply::Error(TimerError::NoSuchTimer)
            );
        }
        s.forget_sleeper(key);
        assert_eq!(s.take_events(), []);
    }
}
