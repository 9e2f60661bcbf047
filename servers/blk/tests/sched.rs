//! noop's FIFO against deadline's sorted batches, read preference,
//! starvation limit and expiry, on a simulated device and clock.

mod common;

use blk::sched::deadline::{Deadline, Tunables};
use blk::sched::Elevator;
use blk::{Op, Request, RequestId};
use common::{bio, disk, run, Served};

/// 32 writes then 64 reads, all at t=0, scattered (no two adjacent).
fn mixed() -> Vec<(u64, blk::Bio)> {
    let mut v = Vec::new();
    for i in 0..32u64 {
        v.push((
            0,
            bio(Op::Write, 100_000 + ((i * 7) % 32) * 64, 8, 1000 + i),
        ));
    }
    for i in 0..64u64 {
        v.push((0, bio(Op::Read, ((i * 13) % 64) * 64, 8, i)));
    }
    v
}

fn pattern(served: &[Served]) -> Vec<(Op, usize)> {
    let mut runs: Vec<(Op, usize)> = Vec::new();
    for s in served {
        match runs.last_mut() {
            Some((op, n)) if *op == s.op => *n += 1,
            _ => runs.push((s.op, 1)),
        }
    }
    runs
}

fn mean_read_latency(served: &[Served], service: u64) -> u64 {
    let reads: Vec<u64> = served
        .iter()
        .filter(|s| s.op == Op::Read)
        .map(|s| s.at + service)
        .collect();
    reads.iter().sum::<u64>() / reads.len() as u64
}

#[test]
fn noop_is_fifo() {
    let mut d = disk(1 << 20);
    let (served, done, _) = run(&mut d, 0, 5, mixed());
    let tags: Vec<u64> = served.iter().map(|s| s.tags[0]).collect();
    let want: Vec<u64> = (1000..1032).chain(0..64).collect();
    assert_eq!(tags, want);
    assert_eq!(pattern(&served), [(Op::Write, 32), (Op::Read, 64)]);
    assert_eq!(done.len(), 96);
}

#[test]
fn deadline_prefers_reads_in_sorted_batches_without_starving_writes() {
    let mut d = disk(1 << 20);
    d.set_scheduler("deadline", 0).unwrap();
    let (served, done, _) = run(&mut d, 0, 5, mixed());
    assert_eq!(done.len(), 96);
    // Two read batches of fifo_batch (16), then writes (writes_starved 2).
    let runs = pattern(&served);
    assert_eq!(runs[..2], [(Op::Read, 32), (Op::Write, 16)]);
    // Later a sweep that runs off the end of the disk ends its batch
    // early, but reads never pass waiting writes for more than two
    // batches.
    assert!(
        runs.iter().all(|&(op, n)| op == Op::Write || n <= 32),
        "{runs:?}"
    );
    // Within a batch, a one-way sweep by sector.
    for batch in [&served[..16], &served[16..32], &served[32..48]] {
        assert!(
            batch.windows(2).all(|w| w[0].sector < w[1].sector),
            "{batch:?}"
        );
    }
    let mut noop = disk(1 << 20);
    let (fifo, _, _) = run(&mut noop, 0, 5, mixed());
    assert!(mean_read_latency(&served, 5) < mean_read_latency(&fifo, 5));
}

/// A reader streams upwards from sector 10 000 faster than the device
/// serves; one read behind the head (sector 0) arrives at t=1. Deadline's
/// sweep would pass it over until the stream ends; its 500 ms expiry
/// brings it in at the first batch boundary after that. Noop serves it in
/// arrival order.
fn stream() -> Vec<(u64, blk::Bio)> {
    let mut v = Vec::new();
    for i in 0..5 {
        v.push((0, bio(Op::Read, 10_000 + i * 16, 8, 100 + i)));
    }
    v.push((1, bio(Op::Read, 0, 8, 1)));
    for i in 0..150u64 {
        v.push((i * 5, bio(Op::Read, 20_000 + i * 16, 8, 1000 + i)));
    }
    v
}

fn served_at(served: &[Served], tag: u64) -> u64 {
    served.iter().find(|s| s.tags.contains(&tag)).unwrap().at
}

#[test]
fn deadline_read_expiry_bounds_the_wait() {
    let mut d = disk(1 << 20);
    d.set_scheduler("deadline", 0).unwrap();
    let (served, _, end) = run(&mut d, 0, 10, stream());
    let at = served_at(&served, 1);
    assert!(at >= 500, "not before it expired: {at}");
    assert!(at <= 500 + 16 * 10, "within a batch of expiring: {at}");
    assert!(at < end - 10 * 20, "long before the stream ends");
    let mut noop = disk(1 << 20);
    let (fifo, _, _) = run(&mut noop, 0, 10, stream());
    assert_eq!(served_at(&fifo, 1), 60, "seventh to arrive");
}

#[test]
fn deadline_write_expiry_at_the_elevator() {
    // Directly on the elevator: a write at a low sector, then reads; once
    // writes get their turn, an expired write is taken from the FIFO head
    // rather than continuing the sweep.
    let t = Tunables {
        writes_starved: 0,
        fifo_batch: 1,
        ..Tunables::default()
    };
    let mut e = Deadline::new(t);
    let rq = |id: u64, op, sector| {
        let mut b = bio(op, sector, 8, id);
        b.part = 0;
        Request::from_bio(RequestId(id), b, 0)
    };
    e.add_request(rq(1, Op::Write, 5000), 0);
    e.add_request(rq(2, Op::Write, 100), 10);
    e.add_request(rq(3, Op::Write, 6000), 20);
    assert_eq!(
        e.dispatch(100).unwrap().id,
        RequestId(1),
        "FIFO head starts"
    );
    // Sweep continues upward (5000 -> 6000) while nothing expired...
    assert_eq!(e.dispatch(200).unwrap().id, RequestId(3));
    // ...and the write behind the head goes last, when the sweep ends.
    assert_eq!(e.dispatch(300).unwrap().id, RequestId(2));
    let mut e = Deadline::new(t);
    e.add_request(rq(1, Op::Write, 5000), 0);
    e.add_request(rq(2, Op::Write, 100), 10);
    e.add_request(rq(3, Op::Write, 6000), 20);
    assert_eq!(e.dispatch(100).unwrap().id, RequestId(1));
    // At 5 s + 10 ms request 2 has expired: it is served before 3.
    assert_eq!(e.dispatch(5010).unwrap().id, RequestId(2));
    assert_eq!(e.dispatch(5020).unwrap().id, RequestId(3));
    assert!(e.dispatch(5030).is_none() && e.is_empty());
}
