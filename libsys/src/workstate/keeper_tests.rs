//! Host tests of [`DeadlineKeeper`]: each decision, then a simulated timer
//! thread with a simulated timer server that is killed and restarted at
//! random, checking that every delayed item runs once, never early, and
//! never later than `BACKSTOP_NS` past its deadline.

use super::*;
use alloc::collections::BTreeMap;
use alloc::vec::Vec;

const MS: u64 = 1_000_000;

#[test]
fn no_deadline_waits_until_kicked_and_a_passed_one_is_due() {
    let k = DeadlineKeeper::new();
    assert_eq!(
        k.next(5, None),
        Action::Wait {
            timeout: FOREVER,
            server: false
        }
    );
    assert_eq!(k.next(5, Some(5)), Action::Due);
    assert_eq!(
        k.next(5, Some(6)),
        Action::Connect,
        "the first deadline looks the server up"
    );
}

#[test]
fn arms_once_then_waits_with_the_backstop() {
    let mut k = DeadlineKeeper::new();
    k.connected();
    assert_eq!(k.next(0, Some(100 * MS)), Action::Arm(100 * MS));
    k.armed(100 * MS);
    assert_eq!(
        k.next(10 * MS, Some(100 * MS)),
        Action::Wait {
            timeout: 90 * MS + BACKSTOP_NS,
            server: true
        },
        "a kick with the same deadline makes no call"
    );
    assert_eq!(
        k.next(10 * MS, Some(50 * MS)),
        Action::Arm(50 * MS),
        "an earlier deadline moves the timer"
    );
    k.armed(50 * MS);
    // The 50 ms item was cancelled: the timer fires early, then re-arms.
    assert_eq!(
        k.next(20 * MS, Some(100 * MS)),
        Action::Wait {
            timeout: 80 * MS + BACKSTOP_NS,
            server: true
        }
    );
    k.woke(Woken::Fired, true);
    assert_eq!(k.next(50 * MS, Some(100 * MS)), Action::Arm(100 * MS));
    assert_eq!(k.stats().server_fires, 1);
    assert_eq!(k.stats().server_arms, 2);
}

#[test]
fn a_missed_deadline_makes_the_next_one_call_the_server() {
    let mut k = DeadlineKeeper::new();
    k.connected();
    k.armed(100 * MS);
    k.woke(Woken::TimedOut, true);
    assert_eq!(k.stats().backstops, 1);
    assert_eq!(k.next(120 * MS, Some(300 * MS)), Action::Arm(300 * MS));
    // The call finds the server dead: the kernel keeps the deadline, and
    // the server is looked up again after the retry delay.
    k.lost(120 * MS);
    assert_eq!(
        k.next(120 * MS, Some(300 * MS)),
        Action::Wait {
            timeout: RETRY_NS,
            server: false
        }
    );
    assert_eq!(
        k.next(125 * MS, Some(130 * MS)),
        Action::Wait {
            timeout: 5 * MS,
            server: false
        },
        "never later than the deadline while the server is away"
    );
    assert_eq!(k.next(120 * MS + RETRY_NS, Some(300 * MS)), Action::Connect);
}

#[test]
fn look_ups_back_off_and_reset_when_connected() {
    let mut k = DeadlineKeeper::new();
    let mut delays = Vec::new();
    for _ in 0..10 {
        k.lost(0);
        let Link::Down { retry_at, .. } = k.link() else {
            panic!("down");
        };
        delays.push(retry_at);
    }
    assert_eq!(delays[0], RETRY_NS);
    assert_eq!(delays[1], 2 * RETRY_NS);
    assert_eq!(*delays.last().unwrap(), RETRY_MAX_NS);
    k.connected();
    k.lost(0);
    assert_eq!(
        k.link(),
        Link::Down {
            retry_at: RETRY_NS,
            failures: 1
        }
    );
}

#[test]
fn refused_keeps_the_kernel_timeout_for_good() {
    let mut k = DeadlineKeeper::new();
    k.refused();
    assert_eq!(
        k.next(0, Some(7)),
        Action::Wait {
            timeout: 7,
            server: false
        }
    );
    assert_eq!(DeadlineKeeper::off().link(), Link::Off);
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

/// The timer server as the keeper sees it: alive or restarting, its
/// generation (a session of an old one is dead), and our timer on it.
struct Server {
    alive: bool,
    generation: u64,
    restart_at: u64,
    /// When our timer fires (deadline plus up to two ticks of lateness).
    fires_at: Option<u64>,
}

/// Runs the timer thread against a server killed every so often; returns
/// the keeper's counts. Checks every item on the way.
fn simulate(seed: u64, steps: u64) -> ClockStats {
    let mut rng = Rng(seed);
    let mut keeper = DeadlineKeeper::new();
    let mut server = Server {
        alive: true,
        generation: 1,
        restart_at: 0,
        fires_at: None,
    };
    let mut session = 0u64;
    // Pending items by (deadline, id); when each ran.
    let mut pending: BTreeMap<(u64, u64), ()> = BTreeMap::new();
    let mut ran: BTreeMap<u64, (u64, u64)> = BTreeMap::new();
    let mut next_id = 0u64;
    let mut now = 0u64;
    let mut next_event = 0u64;
    for _ in 0..steps {
        // What other threads and init do, up to now.
        while next_event <= now {
            match rng.below(10) {
                0 if server.alive => {
                    server.alive = false;
                    server.fires_at = None;
                    server.restart_at = next_event + 10 * MS + rng.below(300) * MS;
                }
                1 if !pending.is_empty() => {
                    let key = *pending
                        .keys()
                        .nth(rng.below(pending.len() as u64) as usize)
                        .unwrap();
                    pending.remove(&key);
                }
                _ => {
                    pending.insert((next_event + 1 + rng.below(500) * MS, next_id), ());
                    next_id += 1;
                }
            }
            next_event += rng.below(200) * MS;
        }
        if !server.alive && server.restart_at <= now {
            server.alive = true;
            server.generation += 1;
        }
        // The timer thread: run what is due, then ask the keeper.
        while let Some(entry) = pending.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let (deadline, id) = entry.remove_entry().0;
            assert!(
                ran.insert(id, (deadline, now)).is_none(),
                "item {id} ran twice"
            );
            assert!(now >= deadline, "item {id} ran early");
            assert!(
                now <= deadline + BACKSTOP_NS,
                "item {id} ran {} ms late",
                (now - deadline) / MS
            );
        }
        let earliest = pending.keys().next().map(|&(d, _)| d);
        let reachable = server.alive && session == server.generation;
        match keeper.next(now, earliest) {
            Action::Due => {}
            Action::Connect if server.alive => {
                session = server.generation;
                server.fires_at = None;
                keeper.connected();
            }
            Action::Connect => keeper.lost(now),
            Action::Arm(at) if reachable => {
                server.fires_at = Some(at + rng.below(8 * MS));
                keeper.armed(at);
            }
            Action::Arm(_) => keeper.lost(now),
            Action::Wait {
                timeout,
                server: on_server,
            } => {
                let until = now.saturating_add(timeout);
                let fire = server.fires_at.filter(|_| reachable);
                let (at, how) = match fire {
                    Some(f) if f <= until && f <= next_event => (f, Woken::Fired),
                    _ if next_event < until => (next_event, Woken::Kicked),
                    _ => (until, Woken::TimedOut),
                };
                if how == Woken::Fired {
                    server.fires_at = None;
                }
                assert!(at != FOREVER, "waiting for ever with nothing to come");
                now = at.max(now);
                keeper.woke(how, on_server);
            }
        }
    }
    assert!(ran.len() > 100, "only {} items ran", ran.len());
    keeper.stats()
}

#[test]
fn simulated_restarts_lose_nothing_and_late_by_at_most_the_backstop() {
    for seed in 1..=20u64 {
        let stats = simulate(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15), 20_000);
        assert!(
            stats.connects > 1,
            "seed {seed}: never reconnected: {stats:?}"
        );
        assert!(
            stats.server_fires > 0,
            "seed {seed}: the server kept nothing: {stats:?}"
        );
        assert!(stats.losses > 0, "seed {seed}: {stats:?}");
    }
}
