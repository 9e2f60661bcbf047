//! The fair class seen from outside: CPU shares by weight, sleepers and
//! newcomers placed so that nobody starves, wake-up preemption, yield.

use super::{assert_close, ratio, Sim, MS, SEC};
use crate::sched::fair::{nice_to_weight, SCHED_LATENCY, SCHED_MIN_GRANULARITY};
use crate::sched::{Policy, State};

fn nice(n: i8) -> Policy {
    Policy::normal(n).unwrap()
}

/// Runs CPU-bound threads of the given nice values (ids 1, 2, ...) for one
/// second and returns the CPU time each received.
fn share(nices: &[i8], tick: u64) -> Vec<u64> {
    let mut sim = Sim::new(tick);
    for (id, &n) in (1..).zip(nices) {
        sim.spawn(id, nice(n));
    }
    sim.run_for(SEC);
    assert_eq!(sim.idle, 0, "CPU-bound threads leave no idle time");
    (1..=nices.len() as u32)
        .map(|id| {
            assert_eq!(sim.cpu(id), sim.sum_exec(id), "queue and witness agree");
            sim.cpu(id)
        })
        .collect()
}

fn nice_0_vs_nice_5(tick: u64) {
    let cpu = share(&[0, 5], tick);
    let measured = ratio(cpu[0], cpu[1]);
    let expected = ratio(1024, 335);
    println!(
        "nice 0 vs nice 5, {} ms ticks: {} ns vs {} ns, ratio {measured:.4} (expected {expected:.4})",
        tick as f64 / MS as f64,
        cpu[0],
        cpu[1]
    );
    assert_close(measured, expected, 0.05, "nice 0 : nice 5");
}

#[test]
fn nice_0_and_nice_5_share_1024_to_335_with_4ms_ticks() {
    nice_0_vs_nice_5(4 * MS);
}

#[test]
fn nice_0_and_nice_5_share_1024_to_335_with_1ms_ticks() {
    nice_0_vs_nice_5(MS);
}

#[test]
fn three_nice_0_threads_share_equally() {
    for tick in [4 * MS, MS] {
        let cpu = share(&[0, 0, 0], tick);
        println!("three nice 0, {} ms ticks: {cpu:?} ns", tick / MS);
        for (i, &t) in cpu.iter().enumerate() {
            assert_close(ratio(t, SEC), 1.0 / 3.0, 0.05, &format!("thread {}", i + 1));
        }
    }
}

#[test]
fn nice_minus_5_and_nice_0_share_in_the_ratio_of_their_weights() {
    for tick in [4 * MS, MS] {
        let cpu = share(&[-5, 0], tick);
        let measured = ratio(cpu[0], cpu[1]);
        let expected = ratio(nice_to_weight(-5), nice_to_weight(0));
        println!(
            "nice -5 vs nice 0, {} ms ticks: {} ns vs {} ns, ratio {measured:.4} (expected {expected:.4})",
            tick / MS,
            cpu[0],
            cpu[1]
        );
        assert_close(measured, expected, 0.05, "nice -5 : nice 0");
    }
}

#[test]
fn many_threads_run_at_least_the_minimum_granularity() {
    // Twelve threads: 6 ms / 12 would be 0.5 ms, under the 0.75 ms floor,
    // so the period stretches to 12 * 0.75 ms = 9 ms.
    let mut sim = Sim::new(MS / 4);
    for id in 1..=12 {
        sim.spawn(id, nice(0));
    }
    let mut runs = Vec::new();
    let (mut who, mut since) = (sim.rq.current(), sim.now);
    sim.run_watching(SEC, |sim, _| {
        if sim.rq.current() != who {
            runs.push(sim.now - since);
            (who, since) = (sim.rq.current(), sim.now);
        }
    });
    let shortest = runs[1..].iter().min().unwrap();
    assert!(*shortest >= SCHED_MIN_GRANULARITY, "ran only {shortest} ns");
    for id in 1..=12 {
        assert_close(ratio(sim.cpu(id), SEC), 1.0 / 12.0, 0.05, "equal share");
    }
}

/// Runs until `id` is the current thread (it must be runnable).
fn run_until_current(sim: &mut Sim, id: u32) {
    while sim.rq.current() != Some(id) {
        sim.run_for(sim.tick);
    }
}

#[test]
fn a_long_sleeper_runs_soon_but_cannot_monopolise_the_cpu() {
    let mut sim = Sim::new(MS);
    for id in 1..=3 {
        sim.spawn(id, nice(0));
    }
    sim.run_for(100 * MS);
    run_until_current(&mut sim, 3);
    sim.block();
    let slept_at_vruntime = sim.rq.stats(3).unwrap().vruntime;

    // Ten seconds asleep while the others run: thread 3's own vruntime is
    // now ~5 s behind theirs. Without the clamp it would own the CPU for 5 s.
    sim.run_for(10 * SEC);
    assert!(sim.rq.min_vruntime() > slept_at_vruntime + 4 * SEC);
    let woke_at = sim.now;
    assert!(
        sim.wake(3),
        "the sleeper preempts at once: it is not starved"
    );
    assert_eq!(sim.rq.current(), Some(3));
    let placed = sim.rq.stats(3).unwrap().vruntime;
    assert_eq!(placed, sim.rq.min_vruntime() - SCHED_LATENCY / 2, "clamped");

    // From now on all three are CPU-bound. Thread 3's head start is worth
    // half a latency of CPU: it must hand the CPU back within one period.
    let (cpu1, cpu2, cpu3) = (sim.cpu(1), sim.cpu(2), sim.cpu(3));
    let mut first_other_run = None;
    sim.run_watching(300 * MS, |sim, _| {
        if first_other_run.is_none() && sim.rq.current() != Some(3) {
            first_other_run = Some(sim.now - woke_at);
        }
    });
    let first_other_run = first_other_run.unwrap();
    println!("long sleeper: ran {first_other_run} ns before the others got the CPU back");
    assert!(first_other_run <= SCHED_LATENCY / 2 + SCHED_LATENCY / 3 + sim.tick);
    let gained = sim.cpu(3) - cpu3;
    let (gained1, gained2) = (sim.cpu(1) - cpu1, sim.cpu(2) - cpu2);
    println!("long sleeper: 300 ms after waking it ran {gained} ns, the others {gained1} and {gained2} ns");
    assert!(
        gained <= 100 * MS + SCHED_LATENCY / 2 + sim.tick,
        "no monopoly"
    );
    assert!(gained >= 100 * MS - sim.tick, "not starved either");
}

#[test]
fn a_short_sleeper_keeps_its_vruntime() {
    let mut sim = Sim::new(MS);
    sim.spawn(1, nice(0));
    sim.spawn(2, nice(0));
    run_until_current(&mut sim, 2);
    sim.block();
    let before = sim.rq.stats(2).unwrap().vruntime;
    sim.run_for(MS);
    sim.rq.wake(2, sim.now).unwrap();
    assert_eq!(
        sim.rq.stats(2).unwrap().vruntime,
        before,
        "no credit needed"
    );
}

#[test]
fn a_new_thread_does_not_starve_the_existing_ones() {
    let mut sim = Sim::new(4 * MS);
    sim.spawn(1, nice(0));
    sim.spawn(2, nice(0));
    sim.run_for(SEC);

    let min_vruntime = sim.rq.min_vruntime();
    assert!(!sim.wake_new(3), "a newcomer does not preempt");
    let placed = sim.rq.stats(3).unwrap().vruntime;
    // START_DEBIT: one virtual slice (6 ms / 3 threads) after min_vruntime.
    assert_eq!(placed, min_vruntime + SCHED_LATENCY / 3);

    let before: Vec<u64> = (1..=3).map(|id| sim.cpu(id)).collect();
    sim.run_for(300 * MS);
    for id in 1..=3 {
        let got = sim.cpu(id) - before[id as usize - 1];
        assert_close(
            ratio(got, 300 * MS),
            1.0 / 3.0,
            0.05,
            &format!("thread {id}"),
        );
    }
}

impl Sim {
    /// Adds and wakes a new nice-0 thread; returns the wake's verdict.
    fn wake_new(&mut self, id: u32) -> bool {
        self.rq.add(id, nice(0), self.now).unwrap();
        self.wake(id)
    }
}

#[test]
fn a_forked_thread_is_placed_when_first_woken_not_when_added() {
    let mut sim = Sim::new(4 * MS);
    sim.spawn(1, nice(0));
    sim.rq.add(2, nice(0), sim.now).unwrap();
    sim.run_for(SEC);
    // Added a second ago, woken only now: still placed after min_vruntime,
    // not a second behind it.
    sim.wake(2);
    assert!(sim.rq.stats(2).unwrap().vruntime > sim.rq.min_vruntime());
}

/// Thread 2 sleeps while thread 1 runs, and wakes when thread 1 is
/// `1 ms + extra` ahead of it in vruntime; returns the wake's verdict.
fn wake_with_lead_of_1ms_plus(extra: u64) -> bool {
    let mut rq = crate::sched::RunQueue::<u32>::new();
    rq.add(1, nice(0), 0).unwrap();
    rq.add(2, nice(0), 0).unwrap();
    rq.wake(1, 0).unwrap();
    assert_eq!(rq.pick_next(0), Some(1));
    rq.wake(2, 0).unwrap(); // placed at 3 ms: one slice of the two
    assert!(rq.tick(4 * MS), "thread 1 ran 4 ms, past its 3 ms slice");
    assert_eq!(rq.pick_next(4 * MS), Some(2));
    rq.block(4 * MS); // at vruntime 3 ms, thread 1 at 4 ms
    assert_eq!(rq.pick_next(4 * MS), Some(1));
    rq.wake(2, 4 * MS + extra).unwrap()
}

#[test]
fn wakeup_preemption_needs_more_than_the_wakeup_granularity() {
    assert!(!wake_with_lead_of_1ms_plus(0), "exactly the granularity");
    assert!(wake_with_lead_of_1ms_plus(1), "just beyond it");
}

#[test]
fn a_woken_thread_with_less_vruntime_preempts() {
    let mut sim = Sim::new(MS);
    sim.spawn(1, nice(0));
    sim.spawn(2, nice(0));
    run_until_current(&mut sim, 2);
    sim.block();
    sim.run_for(20 * MS);
    assert!(sim.wake(2), "2 ms ahead is beyond the 1 ms granularity");
    assert_eq!(sim.rq.current(), Some(2));
    assert_eq!(sim.state(1), State::Runnable);
}

#[test]
fn a_yielding_thread_goes_behind_all_its_peers() {
    let mut sim = Sim::new(4 * MS);
    for id in 1..=3 {
        sim.spawn(id, nice(0));
    }
    sim.run_for(100 * MS);
    let yielder = sim.rq.current().unwrap();
    let switches = sim.rq.stats(yielder).unwrap().nr_voluntary_switches;
    sim.yield_now();
    assert_ne!(sim.rq.current(), Some(yielder));
    let stats = sim.rq.stats(yielder).unwrap();
    assert_eq!(stats.state, State::Runnable);
    assert_eq!(stats.nr_voluntary_switches, switches + 1);
    for other in (1..=3).filter(|&id| id != yielder) {
        assert!(stats.vruntime > sim.rq.stats(other).unwrap().vruntime);
    }
    // Both peers run before the yielder gets the CPU back.
    let mut seen = Vec::new();
    while sim.rq.current() != Some(yielder) {
        seen.extend(sim.rq.current().filter(|id| !seen.contains(id)));
        sim.run_for(sim.tick);
    }
    assert_eq!(seen.len(), 2);
}

#[test]
fn a_lone_thread_that_yields_keeps_the_cpu_without_a_switch() {
    let mut sim = Sim::new(4 * MS);
    sim.spawn(1, nice(0));
    sim.run_for(10 * MS);
    sim.yield_now();
    assert_eq!(sim.rq.current(), Some(1));
    let stats = sim.rq.stats(1).unwrap();
    assert_eq!(
        (stats.nr_voluntary_switches, stats.nr_involuntary_switches),
        (0, 0)
    );
}
