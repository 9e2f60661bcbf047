//! Host tests of the timer wheel: placement and cascading at every level
//! boundary, 10^5 random timers against a model, periodic timers, the
//! return values Linux defines, stale handles, the 64-bit wrap and the
//! statistics.

use super::*;
use std::collections::{BTreeMap, HashMap};
use std::vec::Vec;

const OWNER: u64 = 7;

/// splitmix64: a small seeded generator, so every run sees the same timers.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// A delay that lands in `tv1`..`tv5` or the overflow list, each about
    /// equally often.
    fn delay(&mut self) -> u64 {
        let (low, high) = match self.below(6) {
            0 => (0, 1 << 8),
            1 => (1 << 8, 1 << 14),
            2 => (1 << 14, 1 << 20),
            3 => (1 << 20, 1 << 26),
            4 => (1 << 26, 1 << 32),
            _ => (1 << 32, 1 << 34),
        };
        low + self.below(high - low)
    }
}

fn timer(wheel: &mut TimerWheel, token: u64, expires: Jiffies) -> TimerId {
    let id = wheel.init_timer(OWNER, token).unwrap();
    wheel.add_timer(id, expires).unwrap();
    id
}

fn run(wheel: &mut TimerWheel, now: Jiffies) -> Vec<Expired> {
    let mut fired = Vec::new();
    let count = wheel.run_timers(now, |expired| fired.push(expired));
    assert_eq!(count, fired.len());
    fired
}

/// Where a timer `ahead` jiffies after `timer_jiffies` must be filed.
fn expected_placement(expires: Jiffies, ahead: u64) -> Placement {
    let slot = |shift: u32| ((expires >> shift) & 63) as u8;
    match ahead {
        0..=255 => Placement::Vector {
            tv: 1,
            slot: (expires & 255) as u8,
        },
        256..=0x3fff => Placement::Vector {
            tv: 2,
            slot: slot(8),
        },
        0x4000..=0xf_ffff => Placement::Vector {
            tv: 3,
            slot: slot(14),
        },
        0x10_0000..=0x3ff_ffff => Placement::Vector {
            tv: 4,
            slot: slot(20),
        },
        0x400_0000..=0xffff_ffff => Placement::Vector {
            tv: 5,
            slot: slot(26),
        },
        _ => Placement::Overflow,
    }
}

const BOUNDARY_DELAYS: [u64; 22] = [
    0,
    1,
    255,
    256,
    257,
    (1 << 14) - 1,
    1 << 14,
    (1 << 14) + 1,
    (1 << 20) - 1,
    1 << 20,
    (1 << 20) + 1,
    (1 << 26) - 1,
    1 << 26,
    (1 << 26) + 1,
    (1 << 32) - 1,
    1 << 32,
    (1 << 32) + 1,
    (1 << 32) + (1 << 26) + 3,
    1 << 33,
    (1 << 38) + 12_345,
    300,
    (1 << 14) + 300,
];

const BOUNDARY_BASES: [u64; 14] = [
    0,
    1,
    254,
    255,
    (1 << 14) - 2,
    (1 << 14) - 1,
    (1 << 20) - 1,
    (1 << 26) - 1,
    (1 << 32) - 1,
    (1 << 32) - 256,
    (1 << 38) - 1,
    u64::MAX - 1,
    u64::MAX - (1 << 20),
    0x1234_5678_9abc_def0,
];

#[test]
fn timers_at_every_level_boundary_are_filed_cascaded_and_fired_on_time() {
    for base in BOUNDARY_BASES {
        for delay in BOUNDARY_DELAYS {
            let expires = base.wrapping_add(delay);
            let mut wheel = TimerWheel::new(base);
            let id = timer(&mut wheel, 1, expires);
            // A twin with the same expiry, deleted: it must never fire.
            let twin = timer(&mut wheel, 2, expires);
            // One jiffy later, to show the first fires alone.
            let after = timer(&mut wheel, 3, expires.wrapping_add(1));
            let context = format!("base {base:#x} delay {delay:#x}");

            let placed = wheel.placement(id).unwrap();
            assert_eq!(
                placed,
                Some(expected_placement(expires, delay)),
                "{context}"
            );
            assert_eq!(wheel.del_timer(twin), Ok(true), "{context}");
            assert_eq!(wheel.next_expiry(), Some(expires), "{context}");
            assert_eq!(wheel.pending_count(), 2);

            if delay > 0 {
                assert!(
                    run(&mut wheel, expires.wrapping_sub(1)).is_empty(),
                    "{context}"
                );
                assert_eq!(wheel.timer_pending(id), Ok(true), "{context}");
                // One jiffy before expiry the timer has cascaded into tv1,
                // unless its expiry is where tv1's index wraps: then the
                // cascade and the expiry are the same jiffy.
                let placed = wheel.placement(id).unwrap();
                if expires & 255 != 0 {
                    let tv1 = Placement::Vector {
                        tv: 1,
                        slot: (expires & 255) as u8,
                    };
                    assert_eq!(placed, Some(tv1), "{context}");
                } else {
                    assert!(
                        matches!(placed, Some(Placement::Vector { tv: 1, slot: 0 }))
                            || matches!(placed, Some(Placement::Vector { tv: 2..=5, .. })),
                        "{context}: {placed:?}"
                    );
                }
                assert_eq!(wheel.next_expiry(), Some(expires), "{context}");
            }
            let fired = run(&mut wheel, expires);
            assert_eq!(fired.len(), 1, "{context}");
            assert_eq!((fired[0].id, fired[0].token), (id, 1), "{context}");
            assert_eq!(
                (fired[0].expires, fired[0].late_by),
                (expires, 0),
                "{context}"
            );
            assert_eq!(wheel.timer_pending(id), Ok(false));
            assert_eq!(wheel.next_expiry(), Some(expires.wrapping_add(1)));

            let fired = run(&mut wheel, expires.wrapping_add(1));
            assert_eq!(fired.len(), 1, "{context}");
            assert_eq!(fired[0].id, after);
            assert_eq!(wheel.pending_count(), 0);
            assert_eq!(wheel.next_expiry(), None);
        }
    }
}

#[test]
fn a_far_timer_cascades_down_one_level_at_a_time() {
    let expires: u64 = (1 << 20) + (1 << 14) + 300;
    let mut wheel = TimerWheel::new(0);
    let id = timer(&mut wheel, 1, expires);
    let at = |wheel: &TimerWheel| match wheel.placement(id).unwrap() {
        Some(Placement::Vector { tv, .. }) => tv,
        other => panic!("{other:?}"),
    };
    assert_eq!(at(&wheel), 4);
    assert!(run(&mut wheel, (1 << 20) - 1).is_empty());
    assert_eq!(at(&wheel), 4);
    assert!(run(&mut wheel, 1 << 20).is_empty());
    assert_eq!(
        at(&wheel),
        3,
        "tv4 cascaded when the tv1..tv3 indices wrapped"
    );
    assert!(run(&mut wheel, (1 << 20) + (1 << 14)).is_empty());
    assert_eq!(at(&wheel), 2, "tv3 cascaded");
    assert!(run(&mut wheel, (1 << 20) + (1 << 14) + 256).is_empty());
    assert_eq!(at(&wheel), 1, "tv2 cascaded");
    assert!(run(&mut wheel, expires - 1).is_empty());
    let fired = run(&mut wheel, expires);
    assert_eq!(fired.len(), 1);
    assert_eq!(fired[0].late_by, 0);
}

#[test]
fn stepping_one_jiffy_at_a_time_fires_each_timer_at_its_jiffy() {
    let mut rng = Rng(1);
    let base = (1 << 14) - 100;
    let mut wheel = TimerWheel::new(base);
    let mut expected: BTreeMap<(u64, u64), TimerId> = BTreeMap::new();
    for order in 0..3000 {
        let expires = base + rng.below(70_000);
        expected.insert((expires, order), timer(&mut wheel, order, expires));
    }
    let mut fired = Vec::new();
    for now in base..base + 70_001 {
        wheel.run_timers(now, |expired| {
            assert_eq!(expired.expires, now, "never early, never late");
            assert_eq!(expired.late_by, 0);
            fired.push((expired.expires, expired.token));
        });
    }
    let expected_order: Vec<(u64, u64)> = expected.keys().copied().collect();
    assert_eq!(
        fired, expected_order,
        "expiry order, ties in the order added"
    );
    assert_eq!(wheel.pending_count(), 0);
}

/// The model of the random test: pending timers by (expiry offset from the
/// start, order added), and the way back from a handle.
#[derive(Default)]
struct Model {
    by_expiry: BTreeMap<(u64, u64), TimerId>,
    by_id: HashMap<TimerId, (u64, u64)>,
    pending: Vec<TimerId>,
    position: HashMap<TimerId, usize>,
    idle: Vec<TimerId>,
    order: u64,
}

impl Model {
    fn insert(&mut self, id: TimerId, offset: u64) {
        let key = (offset, self.order);
        self.order += 1;
        self.by_expiry.insert(key, id);
        self.by_id.insert(id, key);
        self.position.insert(id, self.pending.len());
        self.pending.push(id);
    }

    fn remove(&mut self, id: TimerId) -> (u64, u64) {
        let key = self.by_id.remove(&id).expect("the model knows the timer");
        self.by_expiry.remove(&key);
        let at = self.position.remove(&id).unwrap();
        self.pending.swap_remove(at);
        if let Some(&moved) = self.pending.get(at) {
            self.position.insert(moved, at);
        }
        key
    }
}

fn random_timers_fire_exactly_on_time(start: Jiffies, seed: u64) {
    const TIMERS: u64 = 100_000;
    let mut rng = Rng(seed);
    let mut wheel = TimerWheel::new(start);
    let mut model = Model::default();
    for token in 0..TIMERS {
        let offset = rng.delay();
        model.insert(timer(&mut wheel, token, start.wrapping_add(offset)), offset);
    }
    let (mut deleted, mut modified, mut fired_total, mut now_offset) = (0u64, 0u64, 0u64, 0u64);
    let mut next_token = TIMERS;

    while let Some(next) = wheel.next_expiry() {
        assert_eq!(
            next.wrapping_sub(start),
            model.by_expiry.keys().next().unwrap().0,
            "next_expiry is the earliest pending expiry"
        );
        // Meddle before the clock moves on: delete, modify, add, re-arm.
        let future = |rng: &mut Rng, now: u64| now + 1 + rng.delay();
        match rng.below(10) {
            0 | 1 if !model.pending.is_empty() => {
                let id = model.pending[rng.below(model.pending.len() as u64) as usize];
                assert_eq!(wheel.del_timer(id), Ok(true));
                model.remove(id);
                model.idle.push(id);
                deleted += 1;
            }
            2 | 3 if !model.pending.is_empty() => {
                let id = model.pending[rng.below(model.pending.len() as u64) as usize];
                let offset = future(&mut rng, now_offset);
                assert_eq!(wheel.mod_timer(id, start.wrapping_add(offset)), Ok(true));
                model.remove(id);
                model.insert(id, offset);
                modified += 1;
            }
            4 => {
                let offset = future(&mut rng, now_offset);
                let id = timer(&mut wheel, next_token, start.wrapping_add(offset));
                next_token += 1;
                model.insert(id, offset);
            }
            5 if !model.idle.is_empty() => {
                let at = rng.below(model.idle.len() as u64) as usize;
                let id = model.idle.swap_remove(at);
                if rng.below(2) == 0 {
                    let offset = future(&mut rng, now_offset);
                    assert_eq!(wheel.mod_timer(id, start.wrapping_add(offset)), Ok(false));
                    model.insert(id, offset);
                } else {
                    assert_eq!(wheel.destroy_timer(id), Ok(false));
                    assert_eq!(wheel.del_timer(id), Err(TimerError::StaleHandle));
                }
            }
            _ => {}
        }
        let Some(&(offset, _)) = model.by_expiry.keys().next() else {
            assert_eq!(wheel.next_expiry(), None);
            break;
        };
        assert_eq!(wheel.next_expiry(), Some(start.wrapping_add(offset)));

        now_offset = offset;
        let now = start.wrapping_add(now_offset);
        let fired = run(&mut wheel, now);
        let due: Vec<TimerId> = model
            .by_expiry
            .range((now_offset, 0)..(now_offset + 1, 0))
            .map(|(_, &id)| id)
            .collect();
        let fired_ids: Vec<TimerId> = fired.iter().map(|expired| expired.id).collect();
        assert_eq!(fired_ids, due, "exactly the due timers, in the order added");
        for expired in &fired {
            assert_eq!(
                (expired.expires, expired.now, expired.late_by),
                (now, now, 0)
            );
            model.remove(expired.id);
            model.idle.push(expired.id);
        }
        fired_total += fired.len() as u64;
        assert_eq!(wheel.pending_count(), model.by_id.len());
    }
    assert!(model.by_id.is_empty());
    assert!(deleted > 1000 && modified > 1000, "{deleted} {modified}");
    assert_eq!(wheel.expirations(), fired_total);
    assert_eq!(wheel.late_histogram()[0], fired_total, "none ran late");
    assert!(
        wheel.timer_jiffies().wrapping_sub(start) > 1 << 33,
        "ran past tv5's reach"
    );
}

#[test]
fn hundred_thousand_random_timers_fire_in_order_exactly_on_time() {
    random_timers_fire_exactly_on_time(0, 0x5eed);
}

#[test]
fn hundred_thousand_random_timers_across_the_64_bit_wrap() {
    random_timers_fire_exactly_on_time(u64::MAX - (1 << 31), 0xdead_beef);
}

#[test]
fn periodic_timers_fire_at_exact_multiples() {
    let mut wheel = TimerWheel::new(0);
    let id = timer(&mut wheel, 1, 5);
    wheel.set_period(id, 7).unwrap();
    let mut fired = Vec::new();
    for now in 0..=1000 {
        for expired in run(&mut wheel, now) {
            assert_eq!(
                (expired.expires, expired.late_by, expired.overruns),
                (now, 0, 0)
            );
            assert_eq!(expired.next, Some(now + 7));
            fired.push(now);
        }
    }
    let multiples: Vec<u64> = (0..)
        .map(|k| 5 + 7 * k)
        .take_while(|&t| t <= 1000)
        .collect();
    assert_eq!(fired, multiples);

    // Driven by next_expiry over a long stretch and a period spanning
    // levels: still exactly on the grid, no drift.
    let mut wheel = TimerWheel::new(3);
    let period = 100_003;
    let id = timer(&mut wheel, 1, 3 + period);
    wheel.set_period(id, period).unwrap();
    for k in 1..=2000 {
        let next = wheel.next_expiry().unwrap();
        assert_eq!(next, 3 + k * period);
        assert_eq!(run(&mut wheel, next).len(), 1);
    }
}

#[test]
fn a_late_periodic_timer_skips_to_the_grid_and_counts_overruns() {
    let mut wheel = TimerWheel::new(0);
    let id = timer(&mut wheel, 1, 10);
    wheel.set_period(id, 10).unwrap();
    let fired = run(&mut wheel, 55);
    assert_eq!(fired.len(), 1, "no burst of catch-up expiries");
    assert_eq!((fired[0].expires, fired[0].late_by), (10, 45));
    assert_eq!((fired[0].overruns, fired[0].next), (4, Some(60)));
    assert_eq!(wheel.next_expiry(), Some(60));
    assert!(run(&mut wheel, 59).is_empty());
    assert_eq!(run(&mut wheel, 60)[0].late_by, 0);

    // Made one-shot again, it fires once more and stops.
    wheel.set_period(id, 0).unwrap();
    assert_eq!(run(&mut wheel, 70)[0].next, None);
    assert_eq!(wheel.timer_pending(id), Ok(false));
    assert_eq!(
        wheel.set_period(id, MAX_JIFFY_OFFSET + 1),
        Err(TimerError::InvalidPeriod)
    );
}

#[test]
fn del_timer_and_mod_timer_return_whether_the_timer_was_pending() {
    let mut wheel = TimerWheel::new(100);
    let id = wheel.init_timer(OWNER, 1).unwrap();
    assert_eq!(wheel.timer_pending(id), Ok(false));
    assert_eq!(wheel.del_timer(id), Ok(false), "never started");
    assert_eq!(
        wheel.mod_timer(id, 150),
        Ok(false),
        "mod_timer starts an idle timer"
    );
    assert_eq!(wheel.timer_pending(id), Ok(true));
    assert_eq!(wheel.add_timer(id, 160), Err(TimerError::AlreadyPending));
    assert_eq!(
        wheel.timer_info(id).unwrap().expires,
        150,
        "the refused add changed nothing"
    );
    assert_eq!(wheel.mod_timer(id, 170), Ok(true));
    assert_eq!(wheel.mod_timer(id, 170), Ok(true), "same expiry");
    assert_eq!(wheel.del_timer(id), Ok(true));
    assert_eq!(wheel.del_timer(id), Ok(false));
    assert_eq!(wheel.pending_count(), 0);
    assert!(
        run(&mut wheel, 1000).is_empty(),
        "a deleted timer never fires"
    );

    wheel.add_timer(id, 1010).unwrap();
    assert_eq!(run(&mut wheel, 1010).len(), 1);
    assert_eq!(
        wheel.del_timer(id),
        Ok(false),
        "it expired, so it is not pending"
    );
    assert_eq!(
        wheel.mod_timer(id, 1020),
        Ok(false),
        "re-armed after it fired"
    );
    assert_eq!(run(&mut wheel, 1020).len(), 1);
    let info = wheel.timer_info(id).unwrap();
    assert_eq!(
        info,
        TimerInfo {
            owner: OWNER,
            token: 1,
            expires: 1020,
            period: 0,
            pending: false
        }
    );
}

#[test]
fn a_stale_handle_is_refused_and_cannot_touch_the_slots_next_timer() {
    let mut wheel = TimerWheel::new(0);
    let old = timer(&mut wheel, 1, 50);
    assert_eq!(wheel.destroy_timer(old), Ok(true));
    let new = timer(&mut wheel, 2, 60);
    assert_eq!(TimerId::from_raw(new.to_raw()), new);
    assert_eq!(
        new.to_raw() as u32,
        old.to_raw() as u32,
        "the slot was reused"
    );
    assert_ne!(new, old);

    assert_eq!(wheel.del_timer(old), Err(TimerError::StaleHandle));
    assert_eq!(wheel.mod_timer(old, 5), Err(TimerError::StaleHandle));
    assert_eq!(wheel.add_timer(old, 5), Err(TimerError::StaleHandle));
    assert_eq!(wheel.set_period(old, 5), Err(TimerError::StaleHandle));
    assert_eq!(wheel.timer_pending(old), Err(TimerError::StaleHandle));
    assert_eq!(wheel.timer_info(old), Err(TimerError::StaleHandle));
    assert_eq!(wheel.placement(old), Err(TimerError::StaleHandle));
    assert_eq!(wheel.destroy_timer(old), Err(TimerError::StaleHandle));
    assert_eq!(
        wheel.timer_pending(new),
        Ok(true),
        "the new timer is untouched"
    );
    for raw in [0, 1, u64::MAX, 1 << 32, new.to_raw() + 1] {
        assert_eq!(
            wheel.del_timer(TimerId::from_raw(raw)),
            Err(TimerError::StaleHandle)
        );
    }
    let fired = run(&mut wheel, 100);
    assert_eq!((fired.len(), fired[0].token), (1, 2));
}

#[test]
fn the_wheel_runs_across_the_wrap_of_the_64_bit_counter() {
    let base = u64::MAX - 300;
    let mut wheel = TimerWheel::new(base);
    let expiries = [base + 100, u64::MAX, 0, 500, (1 << 20) + 7, (1 << 32) + 5];
    // Added in reverse so that insertion order is not expiry order.
    let ids: Vec<TimerId> = expiries
        .iter()
        .rev()
        .map(|&expires| timer(&mut wheel, expires, expires))
        .collect();
    assert_eq!(wheel.next_expiry(), Some(base + 100));
    assert_eq!(
        wheel.placement(ids[3]).unwrap(),
        Some(Placement::Vector { tv: 2, slot: 0 }),
        "jiffy 0 is 301 jiffies ahead of the base"
    );
    let mut fired = Vec::new();
    let mut now = base;
    while let Some(next) = wheel.next_expiry() {
        assert!(time_after_eq(next, now));
        now = next;
        let batch = run(&mut wheel, now);
        assert_eq!(batch.len(), 1, "the timer next_expiry named fired");
        for expired in batch {
            assert_eq!((expired.expires, expired.late_by), (now, 0));
            fired.push(expired.token);
        }
    }
    assert_eq!(fired, expiries);
}

#[test]
fn expiries_in_the_past_fire_on_the_next_run_in_expiry_order() {
    let mut wheel = TimerWheel::new(1000);
    let on_time = timer(&mut wheel, 3, 1000);
    let oldest = timer(&mut wheel, 1, 10);
    let older = timer(&mut wheel, 2, 999);
    assert_eq!(
        wheel.placement(oldest).unwrap(),
        wheel.placement(on_time).unwrap()
    );
    assert_eq!(wheel.next_expiry(), Some(10));
    let fired = run(&mut wheel, 1000);
    let order: Vec<(TimerId, u64)> = fired.iter().map(|e| (e.id, e.late_by)).collect();
    assert_eq!(order, [(oldest, 990), (older, 1), (on_time, 0)]);
}

#[test]
fn timers_with_the_same_expiry_fire_in_the_order_added_whatever_level_they_came_from() {
    let mut wheel = TimerWheel::new(0);
    let first = timer(&mut wheel, 1, 300); // tv2
    let moved = timer(&mut wheel, 2, 5000); // tv2, moved below
    assert!(run(&mut wheel, 100).is_empty());
    let second = timer(&mut wheel, 3, 300); // tv1: filed before `first` cascades
    assert_eq!(wheel.mod_timer(moved, 300), Ok(true));
    let fired: Vec<TimerId> = run(&mut wheel, 300).iter().map(|e| e.id).collect();
    assert_eq!(fired, [first, second, moved]);
}

#[test]
fn the_late_by_histogram_counts_power_of_two_buckets() {
    assert_eq!(late_bucket(0), 0);
    assert_eq!(late_bucket(1), 1);
    assert_eq!((late_bucket(2), late_bucket(3)), (2, 2));
    assert_eq!((late_bucket(64), late_bucket(127)), (7, 7));
    assert_eq!(late_bucket(u64::MAX), 64);

    let mut wheel = TimerWheel::new(0);
    for expires in [10, 20, 21, 98, 99, 100] {
        timer(&mut wheel, expires, expires);
    }
    // The server slept through 100 jiffies.
    let fired = run(&mut wheel, 100);
    let late: Vec<u64> = fired.iter().map(|e| e.late_by).collect();
    assert_eq!(late, [90, 80, 79, 2, 1, 0]);
    let mut expected = [0u64; LATE_BUCKETS];
    expected[0] = 1;
    expected[1] = 1;
    expected[2] = 1;
    expected[7] = 3;
    assert_eq!(wheel.late_histogram(), &expected);
    assert_eq!(wheel.expirations(), 6);
}

#[test]
fn pending_counts_per_owner_and_destroying_an_owners_timers() {
    let mut wheel = TimerWheel::new(0);
    for (owner, expires) in [(1, 10), (1, 20), (2, 30), (3, 40), (1, 50)] {
        let id = wheel.init_timer(owner, 0).unwrap();
        wheel.add_timer(id, expires).unwrap();
    }
    let idle = wheel.init_timer(1, 0).unwrap();
    assert_eq!(wheel.pending_count(), 5);
    assert_eq!(
        [1, 2, 3, 4].map(|owner| wheel.pending_for_owner(owner)),
        [3, 1, 1, 0]
    );
    run(&mut wheel, 10);
    assert_eq!(wheel.pending_for_owner(1), 2);
    assert_eq!(
        wheel.destroy_timers_of(1),
        4,
        "two pending, one fired, one idle"
    );
    assert_eq!(wheel.timer_pending(idle), Err(TimerError::StaleHandle));
    assert_eq!(wheel.pending_count(), 2);
    let tokens: Vec<u64> = run(&mut wheel, 1000).iter().map(|e| e.owner).collect();
    assert_eq!(tokens, [2, 3]);
}

/// Garbage in: random handles, expiries, periods and clocks. Nothing may
/// panic and the pending count must stay right.
#[test]
fn random_garbage_never_panics() {
    let mut rng = Rng(42);
    let mut wheel = TimerWheel::new(rng.next());
    let mut ids = Vec::new();
    let mut now = wheel.timer_jiffies();
    for _ in 0..20_000 {
        let id = match rng.below(3) {
            0 if !ids.is_empty() => ids[rng.below(ids.len() as u64) as usize],
            1 => TimerId::from_raw(rng.next()),
            _ => match wheel.init_timer(rng.next(), rng.next()) {
                Ok(id) => {
                    ids.push(id);
                    id
                }
                Err(error) => panic!("{error:?}"),
            },
        };
        let expires = match rng.below(3) {
            0 => rng.next(),
            1 => now.wrapping_add(rng.below(1 << 12)),
            _ => now.wrapping_sub(rng.below(1 << 12)),
        };
        let _ = match rng.below(7) {
            0 => wheel.add_timer(id, expires).map(|_| true),
            1 => wheel.mod_timer(id, expires),
            2 => wheel.del_timer(id),
            3 => wheel.destroy_timer(id),
            4 => wheel
                .set_period(id, rng.next() >> rng.below(64))
                .map(|_| true),
            5 => wheel.timer_pending(id),
            _ => wheel.placement(id).map(|p| p.is_some()),
        };
        if rng.below(50) == 0 {
            now = now.wrapping_add(rng.below(1 << 14));
            wheel.run_timers(now, |expired| {
                assert!(time_after_eq(expired.now, expired.expires) || expired.late_by > 1 << 62);
            });
            let _ = wheel.next_expiry();
        }
        if rng.below(100) == 0 {
            let pending = ids
                .iter()
                .filter(|&&id| wheel.timer_pending(id) == Ok(true))
                .count();
            assert_eq!(wheel.pending_count(), pending);
        }
    }
}
