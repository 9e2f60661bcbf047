//! Behaviour tests of the run queue, driven the way the kernel drives it.
//!
//! [`Sim`] is a fake CPU with a fake clock: between two timer ticks the
//! current thread runs (or the idle thread, if there is none); at each tick
//! it calls `tick` and, if that asks for a reschedule, `pick_next`. It also
//! keeps its own record of who had the CPU, so the queue's accounting can be
//! checked against an independent witness. The threads it runs are
//! CPU-bound unless a test blocks them.

mod api;
mod fair;
mod rt;

use std::collections::BTreeMap;

use super::{Policy, RunQueue, State};

pub const MS: u64 = 1_000_000;
pub const SEC: u64 = 1_000 * MS;

/// One simulated CPU running a [`RunQueue`] of `u32` thread ids.
pub struct Sim {
    pub rq: RunQueue<u32>,
    /// The fake clock, in nanoseconds.
    pub now: u64,
    /// Time between two timer ticks.
    pub tick: u64,
    /// CPU time each thread received, as observed by the simulator.
    pub ran: BTreeMap<u32, u64>,
    /// Time the idle thread ran.
    pub idle: u64,
}

impl Sim {
    pub fn new(tick: u64) -> Self {
        Sim {
            rq: RunQueue::new(),
            now: 0,
            tick,
            ran: BTreeMap::new(),
            idle: 0,
        }
    }

    /// A new thread that is runnable at once (add, then wake, and
    /// reschedule if the wake-up asks for it).
    pub fn spawn(&mut self, id: u32, policy: Policy) {
        self.rq.add(id, policy, self.now).unwrap();
        self.wake(id);
    }

    /// Wakes a thread as an interrupt handler would, rescheduling at once if
    /// the queue says so; returns what `wake` returned.
    pub fn wake(&mut self, id: u32) -> bool {
        let preempt = self.rq.wake(id, self.now).unwrap();
        if preempt {
            self.rq.pick_next(self.now);
        }
        preempt
    }

    /// The current thread blocks and another is picked.
    pub fn block(&mut self) {
        self.rq.block(self.now);
        self.rq.pick_next(self.now);
    }

    /// The current thread yields and another is picked.
    pub fn yield_now(&mut self) {
        self.rq.yield_current(self.now);
        self.rq.pick_next(self.now);
    }

    /// Runs for `duration`, tick by tick.
    pub fn run_for(&mut self, duration: u64) {
        self.run_watching(duration, |_, _| {});
    }

    /// Runs for `duration`; after each tick (and reschedule) calls `watch`
    /// with the simulator and the tick's `need_resched`.
    pub fn run_watching(&mut self, duration: u64, mut watch: impl FnMut(&mut Sim, bool)) {
        let end = self.now + duration;
        while self.now < end {
            let step = self.tick.min(end - self.now);
            match self.rq.current() {
                Some(id) => *self.ran.entry(id).or_default() += step,
                None => self.idle += step,
            }
            self.now += step;
            let need_resched = self.rq.tick(self.now);
            if need_resched {
                self.rq.pick_next(self.now);
            }
            watch(self, need_resched);
        }
    }

    /// CPU time a thread received according to the simulator.
    pub fn cpu(&self, id: u32) -> u64 {
        self.ran.get(&id).copied().unwrap_or(0)
    }

    /// CPU time a thread received according to the run queue.
    pub fn sum_exec(&self, id: u32) -> u64 {
        self.rq.stats(id).unwrap().sum_exec_runtime
    }

    pub fn state(&self, id: u32) -> State {
        self.rq.stats(id).unwrap().state
    }
}

/// `a / b` as a float, for ratios of CPU times.
pub fn ratio(a: u64, b: u64) -> f64 {
    a as f64 / b as f64
}

/// Asserts that `measured` is within `tolerance` (relative) of `expected`.
#[track_caller]
pub fn assert_close(measured: f64, expected: f64, tolerance: f64, what: &str) {
    let error = (measured / expected - 1.0).abs();
    assert!(
        error <= tolerance,
        "{what}: measured {measured:.4}, expected {expected:.4} (off by {:.2}%)",
        error * 100.0
    );
}
