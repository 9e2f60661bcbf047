//! Host tests of the work-item state machine and the timer list: unit
//! tests of each transition, then a simulated executor (workers, a list,
//! timers and a clock, stepped in a random but seeded order) that checks
//! the workqueue guarantees on every step.

use super::*;
use alloc::collections::VecDeque;
use alloc::vec;

#[test]
fn queued_twice_before_it_runs_it_runs_once() {
    let mut w = WorkState::new();
    assert_eq!(w.queue(false), QueueOutcome::Accepted(Pending::List));
    assert_eq!(w.queue(false), QueueOutcome::Refused);
    assert_eq!(w.queue(true), QueueOutcome::Refused);
    let gen = w.start().expect("runs");
    assert_eq!(w.start(), None, "a second start of the same queueing");
    assert!(!w.finish(gen));
    assert_eq!(w.flush_target(), None);
}

#[test]
fn queued_while_running_runs_again_on_the_same_runner() {
    let mut w = WorkState::new();
    w.queue(false);
    let first = w.start().unwrap();
    assert_eq!(w.queue(false), QueueOutcome::Accepted(Pending::Runner));
    // A stale list entry found meanwhile must not start a second run.
    assert_eq!(w.start(), None);
    assert!(w.finish(first), "the runner puts it back on the list");
    let second = w.start().expect("the second run");
    assert!(second > first);
    assert!(!w.finish(second));
}

#[test]
fn an_expired_timer_of_a_running_item_is_owed_by_its_runner() {
    let mut w = WorkState::new();
    w.queue(false);
    let gen = w.start().unwrap();
    assert_eq!(w.queue(true), QueueOutcome::Accepted(Pending::Timer));
    assert!(!w.finish(gen), "still waiting for its timer");
    assert_eq!(w.pending(), Some(Pending::Timer));
    assert!(w.expire());
    assert!(w.start().is_some());
}

#[test]
fn cancel_of_a_pending_item_prevents_the_run_and_reports_it() {
    let mut w = WorkState::new();
    w.queue(false);
    assert_eq!(w.cancel_begin(), Some(Pending::List));
    assert_eq!(
        w.queue(false),
        QueueOutcome::Refused,
        "refused while canceling"
    );
    assert!(w.cancel_may_end());
    w.cancel_end();
    assert_eq!(w.start(), None, "the list entry left behind is skipped");
    assert_eq!(w.cancel_begin(), None, "idle: it was not pending");
    w.cancel_end();
    assert!(matches!(w.queue(false), QueueOutcome::Accepted(_)));
}

#[test]
fn cancel_waits_for_the_running_instance() {
    let mut w = WorkState::new();
    w.queue(false);
    let gen = w.start().unwrap();
    w.queue(false);
    assert_eq!(w.cancel_begin(), Some(Pending::Runner));
    assert!(!w.cancel_may_end());
    assert!(!w.finish(gen), "the owed run was cancelled");
    assert!(w.cancel_may_end());
    w.cancel_end();
    assert_eq!(w.pending(), None);
}

#[test]
fn flush_waits_for_the_run_covering_the_last_queueing() {
    let mut w = WorkState::new();
    w.queue(false);
    let first = w.start().unwrap();
    w.queue(false);
    let target = w.flush_target().unwrap();
    assert!(!w.finish(first) || !w.flushed(target));
    let second = w.start().unwrap();
    assert!(!w.flushed(target));
    w.finish(second);
    assert!(w.flushed(target));
}

#[test]
fn a_cancel_ends_a_flush() {
    let mut w = WorkState::new();
    w.queue(true);
    let target = w.flush_target().unwrap();
    assert!(!w.flushed(target));
    w.cancel_begin();
    assert!(w.flushed(target));
}

#[test]
fn modify_moves_a_pending_item_and_keeps_its_generation() {
    let mut w = WorkState::new();
    assert_eq!(w.modify(true), Some((None, Pending::Timer)));
    let target = w.flush_target().unwrap();
    assert_eq!(w.modify(false), Some((Some(Pending::Timer), Pending::List)));
    assert_eq!(w.flush_target(), Some(target));
    assert!(!w.expire(), "its old timer no longer counts");
    w.cancel_begin();
    assert_eq!(w.modify(true), None);
}

#[test]
fn timers_expire_in_deadline_order_then_arming_order() {
    let mut t = TimerList::new();
    t.insert(30, 'c');
    let b = t.insert(20, 'b');
    t.insert(10, 'a');
    t.insert(20, 'B');
    assert_eq!(t.next_deadline(), Some(10));
    assert_eq!(t.remove(b), Some('b'));
    assert_eq!(t.remove(b), None);
    assert!(t.expire(9).is_empty());
    let due: Vec<char> = t.expire(20).into_iter().map(|(_, c)| c).collect();
    assert_eq!(due, ['a', 'B']);
    assert_eq!(t.len(), 1);
    assert_eq!(t.expire(u64::MAX).len(), 1);
    assert!(t.is_empty());
}

/// A deterministic pseudo-random sequence (xorshift64).
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// What the simulation knows of one item, to check the guarantees.
#[derive(Default)]
struct Item {
    state: WorkState,
    timer: Option<TimerKey>,
    /// Step of the last accepted queueing, and its deadline if delayed.
    last_accepted: Option<(u64, u64)>,
    /// Step at which the last run started.
    last_start: Option<u64>,
    /// Step at which the last run that has ended started.
    last_finished_start: Option<u64>,
    /// Step at which the last cancel began.
    last_cancel: Option<u64>,
    accepted: u64,
    runs: u64,
}

/// Workers, a list, timers and a clock: the executor of the host tests.
struct Sim {
    items: Vec<Item>,
    list: VecDeque<usize>,
    timers: TimerList<usize>,
    /// Each worker's running item and the generation its run covers, and
    /// the step it started.
    workers: Vec<Option<(usize, u64, u64)>>,
    now: u64,
    step: u64,
}

impl Sim {
    fn new(items: usize, workers: usize) -> Sim {
        Sim {
            items: (0..items).map(|_| Item::default()).collect(),
            list: VecDeque::new(),
            timers: TimerList::new(),
            workers: vec![None; workers],
            now: 0,
            step: 0,
        }
    }

    fn tick(&mut self) -> u64 {
        self.step += 1;
        self.step
    }

    fn queue(&mut self, i: usize, delay: Option<u64>) -> bool {
        let step = self.tick();
        let was_pending = self.items[i].state.pending().is_some();
        let outcome = self.items[i].state.queue(delay.is_some());
        let item = &mut self.items[i];
        match outcome {
            QueueOutcome::Refused => {
                assert!(was_pending || item.last_cancel.is_some());
                false
            }
            QueueOutcome::Accepted(at) => {
                assert!(!was_pending, "a pending item was queued again");
                item.accepted += 1;
                let deadline = self.now + delay.unwrap_or(0);
                item.last_accepted = Some((step, deadline));
                match at {
                    Pending::List => self.list.push_back(i),
                    Pending::Timer => item.timer = Some(self.timers.insert(deadline, i)),
                    Pending::Runner => {}
                }
                true
            }
        }
    }

    fn modify(&mut self, i: usize, delay: u64) {
        let step = self.tick();
        let Some((was, now)) = self.items[i].state.modify(true) else {
            return;
        };
        self.take_out(i, was);
        let deadline = self.now + delay;
        let item = &mut self.items[i];
        if was.is_none() {
            item.accepted += 1;
        }
        item.last_accepted = Some((step, deadline));
        assert_eq!(now, Pending::Timer);
        item.timer = Some(self.timers.insert(deadline, i));
    }

    /// Removes item `i` from where it was pending.
    fn take_out(&mut self, i: usize, was: Option<Pending>) {
        match was {
            Some(Pending::List) => self.list.retain(|&x| x != i),
            Some(Pending::Timer) => {
                let key = self.items[i].timer.take().expect("armed");
                assert_eq!(self.timers.remove(key), Some(i));
            }
            _ => {}
        }
    }

    /// One step of worker `w`: start the next item, or end its run.
    fn work(&mut self, w: usize) {
        let step = self.tick();
        match self.workers[w].take() {
            None => {
                let Some(i) = self.list.pop_front() else {
                    return;
                };
                if let Some(gen) = self.items[i].state.start() {
                    for other in self.workers.iter().flatten() {
                        assert_ne!(other.0, i, "two runs of one item at once");
                    }
                    let item = &mut self.items[i];
                    let (accepted_at, deadline) = item.last_accepted.expect("queued");
                    assert!(accepted_at < step);
                    assert!(self.now >= deadline, "delayed work ran early");
                    if let Some(cancel) = item.last_cancel {
                        assert!(accepted_at > cancel, "ran after its cancel");
                    }
                    item.runs += 1;
                    assert!(item.runs <= item.accepted, "more runs than queueings");
                    item.last_start = Some(step);
                    self.workers[w] = Some((i, gen, step));
                }
            }
            Some((i, gen, started)) => {
                self.items[i].last_finished_start = Some(started);
                if self.items[i].state.finish(gen) {
                    self.list.push_back(i);
                }
            }
        }
    }

    fn advance(&mut self, by: u64) {
        self.tick();
        self.now += by;
        for (key, i) in self.timers.expire(self.now) {
            let item = &mut self.items[i];
            assert_eq!(item.timer, Some(key), "a stale timer left armed");
            item.timer = None;
            if item.state.expire() {
                self.list.push_back(i);
            }
        }
    }

    /// A random step of the machinery (a worker or the clock).
    fn background(&mut self, rng: &mut Rng) {
        if rng.below(4) == 0 {
            self.advance(rng.below(5));
        } else {
            let w = rng.below(self.workers.len() as u64) as usize;
            self.work(w);
        }
    }

    /// `cancel_work_sync`, with the machinery running while it waits.
    fn cancel(&mut self, i: usize, rng: &mut Rng) -> bool {
        let step = self.tick();
        let was = self.items[i].state.cancel_begin();
        self.items[i].last_cancel = Some(step);
        self.take_out(i, was);
        while !self.items[i].state.cancel_may_end() {
            self.background(rng);
        }
        self.items[i].state.cancel_end();
        was.is_some()
    }

    /// `flush_work`, with the machinery running while it waits; checks
    /// that the run covering the queueing before it has ended.
    fn flush(&mut self, i: usize, rng: &mut Rng) {
        let step = self.tick();
        let Some(target) = self.items[i].state.flush_target() else {
            return;
        };
        let (accepted_at, _) = self.items[i].last_accepted.expect("queued");
        while !self.items[i].state.flushed(target) {
            self.background(rng);
        }
        let item = &self.items[i];
        let ran = item.last_finished_start.is_some_and(|s| s > accepted_at);
        let cancelled = item.last_cancel.is_some_and(|c| c > step);
        assert!(ran || cancelled, "flush ended before the run it waited for");
    }

    /// Runs everything due, and checks every accepted queueing ran or was
    /// cancelled.
    fn drain(&mut self) {
        loop {
            self.advance(1_000);
            for w in 0..self.workers.len() {
                self.work(w);
            }
            let idle = self.list.is_empty()
                && self.timers.is_empty()
                && self.workers.iter().all(Option::is_none);
            if idle {
                break;
            }
        }
        for item in &self.items {
            let Some((accepted_at, _)) = item.last_accepted else {
                continue;
            };
            let ran = item.last_start.is_some_and(|s| s > accepted_at);
            let cancelled = item.last_cancel.is_some_and(|c| c > accepted_at);
            assert!(ran || cancelled, "an accepted queueing never ran");
            assert_eq!(item.state.pending(), None);
        }
    }
}

#[test]
fn simulated_executor_keeps_every_guarantee() {
    for seed in 1..=200u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
        let workers = 1 + rng.below(4) as usize;
        let mut sim = Sim::new(5, workers);
        for _ in 0..400 {
            let i = rng.below(5) as usize;
            match rng.below(10) {
                0..=2 => {
                    sim.queue(i, None);
                }
                3 => {
                    let delay = rng.below(20);
                    sim.queue(i, Some(delay));
                }
                4 => sim.modify(i, rng.below(20)),
                5 => {
                    let pending = sim.items[i].state.pending().is_some();
                    assert_eq!(sim.cancel(i, &mut rng), pending);
                    assert!(!sim.items[i].state.running());
                    assert_eq!(sim.items[i].state.pending(), None);
                }
                6 => sim.flush(i, &mut rng),
                _ => sim.background(&mut rng),
            }
        }
        sim.drain();
    }
}

#[test]
fn simulated_executor_runs_a_burst_of_queueings_once() {
    let mut sim = Sim::new(1, 3);
    assert!(sim.queue(0, None));
    for _ in 0..10 {
        assert!(!sim.queue(0, None));
    }
    sim.drain();
    assert_eq!(sim.items[0].runs, 1);
}

#[test]
fn simulated_delayed_work_runs_in_deadline_order_not_before() {
    let mut sim = Sim::new(4, 1);
    for (i, delay) in [(0, 30), (1, 10), (2, 20), (3, 10)] {
        assert!(sim.queue(i, Some(delay)));
    }
    let mut order = Vec::new();
    for _ in 0..40 {
        sim.advance(1);
        sim.work(0);
        if let Some((i, _, _)) = sim.workers[0] {
            order.push((i, sim.now));
        }
        sim.work(0);
    }
    assert_eq!(order, [(1, 10), (3, 11), (2, 20), (0, 30)]);
}
