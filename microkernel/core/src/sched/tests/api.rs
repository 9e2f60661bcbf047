//! The run queue's contract: accounting, switch counts, direct hand-off,
//! removal, policy changes, errors, and robustness against any input.

use super::{assert_close, ratio, Sim, MS, SEC};
use crate::sched::fair::nice_to_weight;
use crate::sched::{Policy, RunQueue, SchedError, State, SCHED_FIFO, SCHED_NORMAL, SCHED_RR};

fn fair(nice: i8) -> Policy {
    Policy::normal(nice).unwrap()
}

fn fifo(priority: u8) -> Policy {
    Policy::fifo(priority).unwrap()
}

/// A tiny deterministic pseudo-random generator (xorshift64).
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

#[test]
fn cpu_time_adds_up_to_the_simulated_time() {
    let mut sim = Sim::new(4 * MS);
    sim.spawn(1, fair(0));
    sim.spawn(2, fair(5));
    sim.spawn(3, Policy::round_robin(5).unwrap());
    sim.spawn(4, fifo(7));
    let mut rng = Rng(0x5eed);
    // Threads block and wake at random; sometimes all are blocked and the
    // idle thread runs.
    sim.run_watching(5 * SEC, |sim, _| {
        if rng.below(4) == 0 && sim.rq.current().is_some() {
            sim.block();
        }
        let id = 1 + rng.below(4) as u32;
        if rng.below(3) == 0 && sim.state(id) == State::Blocked {
            sim.wake(id);
        }
    });
    let total: u64 = (1..=4).map(|id| sim.sum_exec(id)).sum();
    println!(
        "accounting: threads {total} ns + idle {} ns = {} ns",
        sim.idle, sim.now
    );
    assert!(sim.idle > 0, "the scenario has idle time");
    assert_eq!(total + sim.idle, sim.now);
    for id in 1..=4 {
        assert!(sim.cpu(id) > 0);
        assert_eq!(sim.sum_exec(id), sim.cpu(id), "thread {id}");
    }
}

#[test]
fn switch_counts_after_a_known_sequence() {
    let mut rq = RunQueue::<u32>::new();
    rq.add(1, fair(0), 0).unwrap();
    rq.add(2, fair(0), 0).unwrap();
    assert!(rq.wake(1, 0).unwrap(), "idle CPU");
    assert_eq!(rq.pick_next(0), Some(1));
    assert!(!rq.wake(2, 0).unwrap());
    assert!(rq.tick(4 * MS));
    assert_eq!(rq.pick_next(4 * MS), Some(2)); // 1: involuntary
    rq.block(5 * MS); // 2: voluntary
    assert_eq!(rq.pick_next(5 * MS), Some(1));
    rq.yield_current(6 * MS); // alone: it keeps the CPU, no switch
    assert_eq!(rq.pick_next(6 * MS), Some(1));
    assert!(!rq.wake(2, 6 * MS).unwrap());
    rq.yield_current(7 * MS); // 1: voluntary
    assert_eq!(rq.pick_next(7 * MS), Some(2));
    assert!(!rq.tick(8 * MS), "2 has run 1 ms of its 3");
    assert_eq!(
        rq.pick_next(8 * MS),
        Some(2),
        "a pick that keeps it is no switch"
    );
    rq.block(9 * MS); // 2: voluntary
    assert_eq!(rq.pick_next(9 * MS), Some(1));
    rq.block(10 * MS); // 1: voluntary
    assert_eq!(rq.pick_next(10 * MS), None);

    let s1 = rq.stats(1).unwrap();
    let s2 = rq.stats(2).unwrap();
    assert_eq!(
        (s1.nr_voluntary_switches, s1.nr_involuntary_switches),
        (2, 1)
    );
    assert_eq!(
        (s2.nr_voluntary_switches, s2.nr_involuntary_switches),
        (2, 0)
    );
    assert_eq!((s1.nr_wakeups, s2.nr_wakeups), (1, 2));
    assert_eq!(s1.sum_exec_runtime + s2.sum_exec_runtime, 10 * MS);
    assert_eq!((s1.state, s2.state), (State::Blocked, State::Blocked));
    assert_eq!(rq.nr_running(), 0);
}

#[test]
fn switch_to_hands_the_cpu_over_directly() {
    let mut rq = RunQueue::<u32>::new();
    rq.add(1, fair(0), 0).unwrap(); // client
    rq.add(2, fair(0), 0).unwrap(); // server, waiting for a request
    rq.add(3, fair(0), 0).unwrap(); // someone else, runnable
    rq.wake(1, 0).unwrap();
    rq.wake(3, 0).unwrap();
    assert_eq!(rq.pick_next(0), Some(1));

    assert_eq!(rq.switch_to(2, MS), Ok(false));
    assert_eq!(rq.current(), Some(2), "no trip through the queue");
    let (client, server) = (rq.stats(1).unwrap(), rq.stats(2).unwrap());
    assert_eq!(
        (client.state, server.state),
        (State::Blocked, State::Running)
    );
    assert_eq!(
        (client.nr_voluntary_switches, client.sum_exec_runtime),
        (1, MS)
    );
    assert_eq!(server.nr_wakeups, 1);
    assert_eq!(rq.nr_running(), 2, "server and thread 3");
    assert_eq!(rq.stats(3).unwrap().state, State::Runnable, "untouched");

    // The reply hands it back.
    assert_eq!(rq.switch_to(1, 2 * MS), Ok(false));
    assert_eq!(rq.current(), Some(1));
    let server = rq.stats(2).unwrap();
    assert_eq!(
        (server.state, server.sum_exec_runtime),
        (State::Blocked, MS)
    );
    assert_eq!(rq.stats(1).unwrap().nr_wakeups, 2);

    // Errors change nothing.
    assert_eq!(rq.switch_to(9, 3 * MS), Err(SchedError::NoSuchThread));
    assert_eq!(
        rq.switch_to(1, 3 * MS),
        Err(SchedError::NotBlocked),
        "itself"
    );
    assert_eq!(
        rq.switch_to(3, 3 * MS),
        Err(SchedError::NotBlocked),
        "runnable"
    );
    assert_eq!(rq.current(), Some(1));
    rq.assert_invariants();
}

#[test]
fn switch_to_reports_a_higher_priority_waiting() {
    let mut rq = RunQueue::<u32>::new();
    rq.add(1, fifo(50), 0).unwrap(); // RT client
    rq.add(2, fair(0), 0).unwrap(); // fair server
    rq.add(3, fifo(10), 0).unwrap(); // RT thread waiting
    rq.wake(1, 0).unwrap();
    rq.wake(3, 0).unwrap();
    assert_eq!(rq.pick_next(0), Some(1));
    assert_eq!(rq.switch_to(2, MS), Ok(true), "thread 3 should run first");
    assert_eq!(rq.pick_next(MS), Some(3));
    // From the idle thread a hand-off is a plain wake-and-run.
    let mut rq = RunQueue::<u32>::new();
    rq.add(1, fair(0), 0).unwrap();
    assert_eq!(rq.switch_to(1, 0), Ok(false));
    assert_eq!(rq.current(), Some(1));
}

#[test]
fn remove_works_in_every_state() {
    let mut rq = RunQueue::<u32>::new();
    for id in 1..=5 {
        rq.add(id, fair(0), 0).unwrap();
    }
    rq.add(6, fifo(1), 0).unwrap();
    for id in [1, 2, 3, 6] {
        rq.wake(id, 0).unwrap();
    }
    assert_eq!(rq.pick_next(0), Some(6));
    assert_eq!(rq.nr_running(), 4);
    assert_eq!(rq.nr_queued(), 3, "the running thread is not queued");

    rq.remove(6, MS).unwrap(); // current
    assert_eq!((rq.current(), rq.nr_running()), (None, 3));
    assert_eq!(rq.nr_queued(), 3, "with none running, all runnable are");
    rq.remove(2, MS).unwrap(); // runnable
    rq.remove(4, MS).unwrap(); // blocked
    assert_eq!(rq.nr_running(), 2);
    rq.assert_invariants();
    let mut picked = Vec::new();
    while let Some(id) = rq.pick_next(MS) {
        picked.push(id);
        rq.block(MS);
    }
    picked.sort();
    assert_eq!(picked, [1, 3], "removed threads never run");
    for id in [2, 4, 6] {
        assert_eq!(rq.stats(id), None);
        assert_eq!(rq.remove(id, MS), Err(SchedError::NoSuchThread));
    }
    rq.add(6, fair(0), MS).unwrap(); // the id can be reused
}

#[test]
fn unknown_ids_and_invalid_policies_are_errors() {
    let mut rq = RunQueue::<u32>::new();
    rq.add(1, fair(0), 0).unwrap();
    assert_eq!(rq.add(1, fair(0), 0), Err(SchedError::AlreadyPresent));
    assert_eq!(rq.wake(9, 0), Err(SchedError::NoSuchThread));
    assert_eq!(rq.remove(9, 0), Err(SchedError::NoSuchThread));
    assert_eq!(rq.switch_to(9, 0), Err(SchedError::NoSuchThread));
    assert_eq!(rq.set_policy(9, fair(0), 0), Err(SchedError::NoSuchThread));
    assert_eq!(rq.stats(9), None);

    for bad in [
        Policy::Normal { nice: 20 },
        Policy::Normal { nice: -21 },
        Policy::Fifo { priority: 0 },
        Policy::RoundRobin { priority: 100 },
    ] {
        assert_eq!(rq.add(2, bad, 0), Err(SchedError::InvalidPolicy));
        assert_eq!(rq.set_policy(1, bad, 0), Err(SchedError::InvalidPolicy));
    }
    assert_eq!(rq.stats(2), None);
    assert_eq!(rq.stats(1).unwrap().policy, fair(0), "unchanged");

    for (policy, param) in [
        (SCHED_NORMAL, 20),
        (SCHED_NORMAL, -21),
        (SCHED_NORMAL, i64::MAX),
    ]
    .into_iter()
    .chain([
        (SCHED_FIFO, 0),
        (SCHED_FIFO, 100),
        (SCHED_RR, -1),
        (SCHED_RR, 256),
    ])
    .chain([(3, 0), (u64::MAX, 1)])
    {
        assert_eq!(
            Policy::from_raw(policy, param),
            Err(SchedError::InvalidPolicy)
        );
        assert_eq!(
            Policy::try_from((policy, param)),
            Err(SchedError::InvalidPolicy)
        );
    }
    assert_eq!(
        Policy::from_raw(SCHED_NORMAL, -20),
        Ok(Policy::Normal { nice: -20 })
    );
    assert_eq!(
        Policy::from_raw(SCHED_FIFO, 99),
        Ok(Policy::Fifo { priority: 99 })
    );
    assert_eq!(
        Policy::try_from((SCHED_RR, 1)),
        Ok(Policy::RoundRobin { priority: 1 })
    );
    assert_eq!(Policy::default(), fair(0));
}

#[test]
fn waking_a_thread_that_is_not_blocked_does_nothing() {
    let mut rq = RunQueue::<u32>::new();
    rq.add(1, fair(0), 0).unwrap();
    rq.add(2, fair(0), 0).unwrap();
    rq.wake(1, 0).unwrap();
    rq.wake(2, 0).unwrap();
    rq.pick_next(0);
    assert_eq!(rq.wake(1, MS), Ok(false), "running");
    assert_eq!(rq.wake(2, MS), Ok(false), "runnable");
    assert_eq!(rq.stats(1).unwrap().nr_wakeups, 1);
    assert_eq!(rq.stats(2).unwrap().nr_wakeups, 1);
    assert_eq!(rq.nr_running(), 2);
}

#[test]
fn time_going_backwards_or_huge_never_panics_nor_counts() {
    let mut rq = RunQueue::<u32>::new();
    rq.add(1, fair(19), 100 * MS).unwrap();
    rq.add(2, fair(-20), 100 * MS).unwrap();
    rq.wake(1, 100 * MS).unwrap();
    assert_eq!(rq.pick_next(100 * MS), Some(1));
    assert!(!rq.tick(50 * MS));
    rq.wake(2, 0).unwrap();
    assert_eq!(rq.stats(1).unwrap().sum_exec_runtime, 0, "no time passed");
    rq.tick(150 * MS);
    assert_eq!(rq.stats(1).unwrap().sum_exec_runtime, 50 * MS);

    // Centuries in one step: everything saturates.
    for now in [u64::MAX, 0, u64::MAX - 1, u64::MAX] {
        rq.tick(now);
        rq.pick_next(now);
        rq.yield_current(now);
        rq.pick_next(now);
        rq.assert_invariants();
    }
    let vruntimes = [rq.stats(1).unwrap().vruntime, rq.stats(2).unwrap().vruntime];
    assert!(vruntimes.contains(&u64::MAX), "{vruntimes:?}");
    assert!(rq.current().is_some());
    rq.add(3, fair(0), 0).unwrap();
    rq.wake(3, 0).unwrap();
    rq.block(0);
    rq.remove(1, 0).unwrap();
    rq.assert_invariants();
}

#[test]
fn set_policy_moves_threads_between_classes() {
    let mut sim = Sim::new(4 * MS);
    sim.spawn(1, fair(0));
    sim.spawn(2, fair(0));
    sim.rq.add(3, fair(0), 0).unwrap();
    let current = sim.rq.current().unwrap();
    let waiting = 3 - current;

    assert_eq!(sim.rq.set_policy(3, fifo(5), 0), Ok(false), "blocked");
    assert_eq!(sim.state(3), State::Blocked);
    assert_eq!(
        sim.rq.set_policy(current, fifo(5), 0),
        Ok(false),
        "now RT itself"
    );
    assert_eq!(
        sim.rq.set_policy(waiting, fifo(9), 0),
        Ok(true),
        "outranks it"
    );
    assert_eq!(sim.rq.pick_next(0), Some(waiting));
    assert_eq!(
        sim.rq.set_policy(waiting, fair(0), 0),
        Ok(true),
        "back to fair"
    );
    assert_eq!(sim.rq.pick_next(0), Some(current));
    sim.rq.assert_invariants();
    sim.rq.set_policy(current, fair(0), 0).unwrap();
    sim.rq.assert_invariants();
}

#[test]
fn renicing_a_running_thread_changes_its_share() {
    let mut sim = Sim::new(MS);
    sim.spawn(1, fair(0));
    sim.spawn(2, fair(0));
    sim.run_for(SEC);
    assert_close(ratio(sim.cpu(1), sim.cpu(2)), 1.0, 0.05, "equal at first");
    let running = sim.rq.current().unwrap();
    sim.rq.set_policy(running, fair(5), sim.now).unwrap();
    let before = [sim.cpu(1), sim.cpu(2)];
    sim.run_for(SEC);
    let got = |id: u32| sim.cpu(id) - before[id as usize - 1];
    let other = 3 - running;
    let expected = ratio(nice_to_weight(0), nice_to_weight(5));
    assert_close(
        ratio(got(other), got(running)),
        expected,
        0.05,
        "after renice",
    );
}

#[test]
fn random_operations_keep_every_invariant() {
    let mut rng = Rng(0x1234_5678_9abc_def1);
    let mut rq = RunQueue::<u8>::new();
    let mut now = 0u64;
    let mut min_vruntime = 0;
    for _ in 0..20_000 {
        let id = rng.below(12) as u8;
        let policy = match rng.below(3) {
            0 => Policy::Normal {
                nice: rng.below(42) as i8 - 21,
            },
            1 => Policy::Fifo {
                priority: rng.below(101) as u8,
            },
            _ => Policy::RoundRobin {
                priority: rng.below(101) as u8,
            },
        };
        // Mostly forward in small steps, sometimes backwards or far away.
        now = match rng.below(50) {
            0 => now.saturating_sub(rng.below(10 * MS)),
            1 => u64::MAX - rng.below(SEC),
            2 => 0,
            _ => now.saturating_add(rng.below(5 * MS)),
        };
        let _ = match rng.below(10) {
            0 => rq.add(id, policy, now).map(|_| false),
            1 => rq.remove(id, now).map(|_| false),
            2 | 3 => rq.wake(id, now),
            4 => Ok(rq.tick(now)),
            5 => Ok(rq.pick_next(now).is_some()),
            6 => Ok({
                rq.block(now);
                false
            }),
            7 => Ok({
                rq.yield_current(now);
                false
            }),
            8 => rq.switch_to(id, now),
            _ => rq.set_policy(id, policy, now),
        };
        rq.assert_invariants();
        assert!(rq.min_vruntime() >= min_vruntime, "min_vruntime went back");
        min_vruntime = rq.min_vruntime();
    }
}
