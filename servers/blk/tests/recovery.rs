//! A block driver that dies with requests in flight: they go to the
//! restarted instance in their order, a late answer from the dead one is
//! refused, and every bio completes exactly once.

mod common;

use std::collections::HashMap;

use blk::{BlkError, Completion, Op};
use common::{bio, disk};

fn count(done: &[Completion]) -> HashMap<u64, usize> {
    let mut m = HashMap::new();
    for c in done {
        *m.entry(c.tag).or_insert(0) += 1;
    }
    m
}

#[test]
fn in_flight_requests_are_resubmitted_in_order() {
    let mut d = disk(1 << 20);
    for t in 0..6u64 {
        d.submit(bio(Op::Write, t * 100, 8, t), 0).unwrap();
    }
    let old_gen = d.generation();
    let first: Vec<_> = (0..4).map(|_| d.dispatch(0).unwrap()).collect();
    let mut done = d.complete(first[0].id, old_gen, Ok(()), 1).unwrap();
    // The driver dies holding 1, 2, 3. Nothing is dispatched meanwhile.
    assert!(d.driver_died(2).is_empty());
    assert_eq!(d.stats().in_flight(), 0);
    assert!(d.dispatch(2).is_none());
    assert_eq!(
        d.complete(first[1].id, old_gen, Ok(()), 2),
        Err(BlkError::StaleDriver)
    );
    d.submit(bio(Op::Write, 900, 8, 6), 3).unwrap();
    let new_gen = d.driver_restarted();
    assert_ne!(new_gen, old_gen);
    // The dead instance's late answer is still refused.
    assert_eq!(
        d.complete(first[2].id, old_gen, Ok(()), 4),
        Err(BlkError::StaleDriver)
    );
    let mut order = Vec::new();
    while let Some(rq) = d.dispatch(5) {
        order.push(rq.bios[0].tag);
        done.extend(d.complete(rq.id, new_gen, Ok(()), 6).unwrap());
        assert_eq!(
            d.complete(rq.id, new_gen, Ok(()), 6),
            Err(BlkError::UnknownRequest)
        );
    }
    assert_eq!(order, [1, 2, 3, 4, 5, 6], "re-submitted first, in order");
    let counts = count(&done);
    assert_eq!(counts.len(), 7);
    assert!(
        counts.values().all(|&n| n == 1),
        "each completed once: {counts:?}"
    );
    assert!(done.iter().all(|c| c.result.is_ok()));
    assert_eq!(d.stats().write_ios(), 7);
    assert_eq!(d.stats().in_flight(), 0);
}

#[test]
fn a_request_that_keeps_killing_its_driver_fails() {
    let mut d = disk(1 << 20);
    d.submit(bio(Op::Read, 0, 8, 42), 0).unwrap();
    d.submit(bio(Op::Read, 800, 8, 43), 0).unwrap();
    let mut failed = Vec::new();
    for _ in 0..4 {
        let rq = d.dispatch(0).unwrap();
        assert_eq!(rq.bios[0].tag, 42);
        failed.extend(d.driver_died(0));
        d.driver_restarted();
    }
    assert_eq!(
        failed,
        [Completion {
            tag: 42,
            result: Err(BlkError::RetriesExhausted)
        }]
    );
    let rq = d.dispatch(0).unwrap();
    assert_eq!(rq.bios[0].tag, 43, "the queue moves on");
    let done = d.complete(rq.id, d.generation(), Err(-5), 1).unwrap();
    assert_eq!(
        done,
        [Completion {
            tag: 43,
            result: Err(BlkError::Io(-5))
        }]
    );
}

#[test]
fn merged_bios_each_complete_once_after_a_restart() {
    let mut d = disk(1 << 20);
    d.submit(bio(Op::Write, 0, 8, 1), 0).unwrap();
    d.submit(bio(Op::Write, 8, 8, 2), 0).unwrap();
    let rq = d.dispatch(0).unwrap();
    assert_eq!(rq.bios.len(), 2);
    d.driver_died(1);
    let g = d.driver_restarted();
    let again = d.dispatch(2).unwrap();
    assert_eq!((again.sector, again.sectors, again.retries), (0, 16, 1));
    let done = d.complete(again.id, g, Ok(()), 3).unwrap();
    assert_eq!(done.iter().map(|c| c.tag).collect::<Vec<_>>(), [1, 2]);
}
