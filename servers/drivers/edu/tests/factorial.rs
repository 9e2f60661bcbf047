//! Lab 6, part 2: the factorial unit, answered from its interrupt.

mod common;

use common::{factorial, World, CLIENT};
use libsys::proto::edu::{EduError, Reply, Request, QUEUE_MAX};

#[test]
fn factorials_of_0_to_12_come_from_the_device_by_interrupt() {
    let mut w = World::new();
    for n in 0..=12 {
        assert_eq!(
            w.ask(&Request::Factorial { n }),
            Reply::Value(factorial(n)),
            "{n}!"
        );
    }
    let stats = w.stats();
    assert_eq!((stats.factorials, stats.irqs, stats.spurious), (13, 13, 0));
    assert_eq!(
        w.sim().acks,
        13,
        "each interrupt acknowledged at the kernel"
    );
    assert!(!w.sim().line(), "every cause acknowledged at the device");
    // 13! does not fit 32 bits: the device wraps, and so do we.
    assert_eq!(
        w.ask(&Request::Factorial { n: 13 }),
        Reply::Value(factorial(13))
    );
}

#[test]
fn the_answer_waits_for_the_interrupt() {
    let mut w = World::new();
    let token = w
        .send(&Request::Factorial { n: 10 })
        .expect_err("answered later, not now");
    assert!(w.sim().busy(), "the device computes");
    assert_eq!(w.answer(token), None);
    w.sim().run();
    assert!(
        w.sim().line(),
        "the interrupt was enabled in the status register"
    );
    assert_eq!(w.answer(token), None, "not before the interrupt is taken");
    w.interrupt();
    assert_eq!(w.answer(token), Some(Reply::Value(3_628_800)));
    assert!(!w.sim().line());
}

#[test]
fn requests_queue_and_run_one_at_a_time_in_order() {
    let mut w = World::new();
    let tokens: Vec<_> = (1..=6)
        .map(|n| w.send(&Request::Factorial { n }).unwrap_err())
        .collect();
    // Identify and Stats are answered at once meanwhile.
    assert!(matches!(w.send(&Request::Identify), Ok(Reply::Id(_))));
    w.pump();
    for (n, token) in (1..=6).zip(tokens) {
        assert_eq!(w.answer(token), Some(Reply::Value(factorial(n))));
    }
    assert_eq!(w.sim().ignored_writes, 0, "never written while it computed");
}

#[test]
fn a_full_queue_is_busy_and_an_interrupt_with_no_cause_answers_nothing() {
    let mut w = World::new();
    let running = w.send(&Request::Factorial { n: 5 }).unwrap_err();
    for _ in 0..QUEUE_MAX {
        assert!(w.send(&Request::Factorial { n: 3 }).is_err());
    }
    assert_eq!(
        w.send(&Request::Factorial { n: 3 }),
        Ok(Reply::Error(EduError::Busy))
    );
    // The line is shared: a signal while this device raised nothing.
    w.interrupt();
    assert_eq!(w.answer(running), None);
    assert_eq!(w.stats().spurious, 1);
    w.pump();
    assert_eq!(w.answer(running), Some(Reply::Value(120)));
}

#[test]
fn a_caller_that_goes_away_does_not_stall_the_others() {
    let mut w = World::new();
    let gone = w.send_from(99, &Request::Factorial { n: 4 }).unwrap_err();
    let queued = w.send_from(99, &Request::Factorial { n: 6 }).unwrap_err();
    let mine = w
        .send_from(CLIENT, &Request::Factorial { n: 7 })
        .unwrap_err();
    w.hosted.client_gone(99);
    w.pump();
    assert_eq!(w.answer(gone), None);
    assert_eq!(w.answer(queued), None);
    assert_eq!(w.answer(mine), Some(Reply::Value(5040)));
}
