//! The real-time class seen from outside: it always beats the fair class,
//! higher priorities beat lower ones, FIFO never rotates on the tick and
//! round-robin rotates every `RR_TIMESLICE`.

use super::{Sim, MS, SEC};
use crate::sched::bandwidth::{RT_PERIOD, RT_RUNTIME};
use crate::sched::rt::RR_TIMESLICE;
use crate::sched::{Policy, RunQueue, State};

fn fifo(priority: u8) -> Policy {
    Policy::fifo(priority).unwrap()
}

fn rr(priority: u8) -> Policy {
    Policy::round_robin(priority).unwrap()
}

fn fair(nice: i8) -> Policy {
    Policy::normal(nice).unwrap()
}

/// A simulator with RT throttling off, for the class's own rules.
fn unthrottled(tick: u64) -> Sim {
    let mut sim = Sim::new(tick);
    sim.rq.set_rt_bandwidth(RT_PERIOD, RT_PERIOD).unwrap();
    sim
}

#[test]
fn a_woken_rt_thread_preempts_a_fair_one_and_starves_it() {
    let mut sim = unthrottled(4 * MS);
    sim.spawn(1, fair(-20)); // the heaviest fair thread still loses
    sim.run_for(50 * MS);
    sim.rq.add(2, fifo(1), sim.now).unwrap(); // the lowest RT priority
    assert!(sim.rq.wake(2, sim.now).unwrap(), "need-preempt");
    assert_eq!(sim.rq.pick_next(sim.now), Some(2));
    assert_eq!(sim.state(1), State::Runnable);
    assert_eq!(sim.rq.stats(1).unwrap().nr_involuntary_switches, 1);

    let fair_cpu = sim.cpu(1);
    sim.run_watching(SEC, |sim, need_resched| {
        assert!(!need_resched, "nothing preempts it");
        assert_eq!(sim.rq.current(), Some(2));
    });
    assert_eq!(sim.cpu(1), fair_cpu, "no CPU for fair while RT is runnable");
    assert_eq!(sim.cpu(2), SEC);

    sim.block();
    assert_eq!(sim.rq.current(), Some(1), "fair runs once RT blocks");
}

#[test]
fn a_fair_thread_never_preempts_an_rt_one() {
    let mut sim = unthrottled(4 * MS);
    sim.spawn(1, rr(1));
    sim.rq.add(2, fair(-20), sim.now).unwrap();
    assert!(!sim.wake(2));
    sim.run_for(SEC);
    assert_eq!((sim.cpu(1), sim.cpu(2)), (SEC, 0));
}

#[test]
fn fifo_runs_until_it_blocks_or_yields() {
    let mut sim = unthrottled(4 * MS);
    sim.spawn(1, fifo(10));
    sim.spawn(2, fifo(10));
    assert_eq!(sim.rq.current(), Some(1), "equal priority does not preempt");
    sim.run_watching(SEC, |_, need_resched| assert!(!need_resched));
    assert_eq!((sim.cpu(1), sim.cpu(2)), (SEC, 0), "no timeslice");

    sim.yield_now();
    assert_eq!(sim.rq.current(), Some(2));
    assert_eq!(sim.rq.stats(1).unwrap().nr_voluntary_switches, 1);
    sim.run_for(SEC);
    assert_eq!((sim.cpu(1), sim.cpu(2)), (SEC, SEC));

    sim.block();
    assert_eq!(sim.rq.current(), Some(1));
    sim.run_for(SEC);
    assert_eq!(sim.cpu(1), 2 * SEC);
}

#[test]
fn round_robin_rotates_among_equal_priorities_every_100ms() {
    for tick in [4 * MS, MS] {
        let mut sim = unthrottled(tick);
        for id in 1..=3 {
            sim.spawn(id, rr(10));
        }
        sim.spawn(4, fair(0));
        let mut order = vec![sim.rq.current().unwrap()];
        let mut runs = Vec::new();
        let mut since = sim.now;
        sim.run_watching(1200 * MS, |sim, _| {
            let current = sim.rq.current().unwrap();
            if Some(&current) != order.last() {
                runs.push(sim.now - since);
                order.push(current);
                since = sim.now;
            }
        });
        assert!(runs.iter().all(|&run| run == RR_TIMESLICE), "{runs:?}");
        assert_eq!(&order[..6], [1, 2, 3, 1, 2, 3]);
        for id in 1..=3 {
            assert_eq!(sim.cpu(id), 400 * MS);
            assert_eq!(sim.rq.stats(id).unwrap().nr_involuntary_switches, 4);
        }
        assert_eq!(sim.cpu(4), 0, "the fair thread waits for all of them");
    }
}

#[test]
fn a_lone_round_robin_thread_is_not_preempted_by_lower_priorities() {
    let mut sim = Sim::new(4 * MS);
    sim.spawn(1, rr(20));
    sim.spawn(2, fifo(10));
    sim.spawn(3, rr(19));
    sim.run_watching(SEC, |_, need_resched| assert!(!need_resched));
    assert_eq!(
        sim.cpu(1),
        SEC,
        "its slice ran out 10 times, nobody else ran"
    );
}

#[test]
fn a_higher_rt_priority_preempts_a_lower_one() {
    let mut sim = Sim::new(4 * MS);
    sim.spawn(1, fifo(10));
    sim.run_for(10 * MS);
    sim.rq.add(2, rr(20), sim.now).unwrap();
    sim.rq.add(3, fifo(5), sim.now).unwrap();
    assert!(!sim.wake(3), "a lower priority waits");
    assert!(sim.wake(2), "a higher priority preempts");
    assert_eq!(sim.rq.current(), Some(2));
    sim.run_for(SEC);
    assert_eq!((sim.cpu(1), sim.cpu(2), sim.cpu(3)), (10 * MS, SEC, 0));
    sim.block();
    assert_eq!(sim.rq.current(), Some(1), "then the next priority down");
}

#[test]
fn tick_notices_a_higher_priority_that_was_not_scheduled_yet() {
    let mut rq = RunQueue::<u32>::new();
    rq.add(1, fifo(10), 0).unwrap();
    rq.add(2, fifo(50), 0).unwrap();
    rq.wake(1, 0).unwrap();
    rq.pick_next(0);
    // The kernel ignored the wake-up's answer (interrupts were off, say).
    assert!(rq.wake(2, MS).unwrap());
    assert!(rq.tick(4 * MS));
    assert_eq!(rq.pick_next(4 * MS), Some(2));
}

#[test]
fn a_preempted_rt_thread_keeps_its_turn() {
    let mut sim = Sim::new(4 * MS);
    sim.spawn(1, rr(10));
    sim.spawn(2, rr(10));
    sim.run_for(60 * MS);
    assert!(sim.wake_new_rt(3, fifo(30)));
    sim.run_for(20 * MS);
    sim.block();
    // Thread 1 was preempted at the head of its list, not sent to the tail,
    // and its slice was not refilled: it runs its remaining 40 ms.
    assert_eq!(sim.rq.current(), Some(1));
    let mut switched_at = None;
    let start = sim.now;
    sim.run_watching(200 * MS, |sim, _| {
        if switched_at.is_none() && sim.rq.current() == Some(2) {
            switched_at = Some(sim.now - start);
        }
    });
    assert_eq!(switched_at, Some(40 * MS));
}

impl Sim {
    fn wake_new_rt(&mut self, id: u32, policy: Policy) -> bool {
        self.rq.add(id, policy, self.now).unwrap();
        self.wake(id)
    }
}

#[test]
fn a_woken_rt_thread_queues_behind_its_peers() {
    let mut sim = Sim::new(4 * MS);
    sim.spawn(1, fifo(10));
    sim.spawn(2, fifo(10));
    sim.rq.add(3, fifo(10), sim.now).unwrap();
    assert!(!sim.wake(3));
    sim.block();
    assert_eq!(sim.rq.current(), Some(2));
    sim.block();
    assert_eq!(sim.rq.current(), Some(3));
}

#[test]
fn a_spinning_fifo_thread_leaves_each_period_5_percent_to_fair_threads() {
    for tick in [4 * MS, MS] {
        let mut sim = Sim::new(tick);
        assert_eq!(sim.rq.rt_bandwidth(), (RT_RUNTIME, RT_PERIOD));
        sim.spawn(1, fair(0));
        sim.spawn(2, fifo(99));
        assert_eq!(sim.rq.current(), Some(2));
        for period in 1..=3 {
            let fair_before = sim.cpu(1);
            sim.run_for(RT_PERIOD);
            let fair = sim.cpu(1) - fair_before;
            assert!(
                fair >= RT_PERIOD - RT_RUNTIME - tick,
                "period {period}: fair ran {fair} ns"
            );
            assert!(
                fair <= RT_PERIOD - RT_RUNTIME + tick,
                "period {period}: {fair}"
            );
        }
        sim.rq.assert_invariants();
    }
}

#[test]
fn a_throttled_rt_thread_still_runs_when_no_fair_thread_wants_the_cpu() {
    let mut sim = Sim::new(4 * MS);
    sim.spawn(1, fifo(1));
    sim.run_for(3 * SEC);
    assert_eq!(sim.cpu(1), 3 * SEC);
    assert_eq!(sim.idle, 0);
}

#[test]
fn the_bandwidth_is_settable() {
    let mut sim = Sim::new(MS);
    sim.rq.set_rt_bandwidth(50 * MS, 100 * MS).unwrap();
    sim.spawn(1, fair(0));
    sim.spawn(2, rr(5));
    sim.run_for(SEC);
    let fair = sim.cpu(1);
    assert!((490 * MS..=510 * MS).contains(&fair), "fair ran {fair} ns");
    assert!(sim.rq.set_rt_bandwidth(2 * SEC, SEC).is_err());
    assert_eq!(sim.rq.rt_bandwidth(), (50 * MS, 100 * MS));
}
