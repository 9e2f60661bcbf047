//! The request queue: merging, limits, flush barriers, bad bios, the
//! scheduler attribute, statistics.

mod common;

use blk::queue::Queued;
use blk::request::MergeKind;
use blk::{Bio, BlkError, Disk, Op, QueueLimits, Segment};
use common::{bio, disk, run};

#[test]
fn back_and_front_merges() {
    let mut d = disk(1 << 20);
    assert!(matches!(
        d.submit(bio(Op::Write, 100, 8, 1), 0),
        Ok(Queued::New(_))
    ));
    assert_eq!(
        d.submit(bio(Op::Write, 108, 8, 2), 0),
        Ok(Queued::Merged(MergeKind::Back))
    );
    assert_eq!(
        d.submit(bio(Op::Write, 92, 8, 3), 0),
        Ok(Queued::Merged(MergeKind::Front))
    );
    // A read next to it is another request; so is a write elsewhere.
    assert!(matches!(
        d.submit(bio(Op::Read, 116, 8, 4), 0),
        Ok(Queued::New(_))
    ));
    assert!(matches!(
        d.submit(bio(Op::Write, 500, 8, 5), 0),
        Ok(Queued::New(_))
    ));
    let rq = d.dispatch(0).unwrap();
    assert_eq!((rq.op, rq.sector, rq.sectors), (Op::Write, 92, 24));
    let tags: Vec<u64> = rq.bios.iter().map(|b| b.tag).collect();
    assert_eq!(tags, [3, 1, 2], "bios in sector order");
    assert_eq!(d.queued(), 2);
    d.complete(rq.id, d.generation(), Ok(()), 3).unwrap();
    assert!(d
        .stat()
        .starts_with("       0        0        0        0        1        2       24        3"));
}

#[test]
fn merging_stops_at_max_sectors() {
    let limits = QueueLimits {
        max_sectors: 16,
        ..QueueLimits::default()
    };
    let mut d = Disk::new("vda", 253, 0, 1 << 20, limits);
    d.submit(bio(Op::Read, 0, 8, 1), 0).unwrap();
    d.submit(bio(Op::Read, 8, 8, 2), 0).unwrap();
    assert!(matches!(
        d.submit(bio(Op::Read, 16, 8, 3), 0),
        Ok(Queued::New(_))
    ));
    assert_eq!(
        d.submit(bio(Op::Read, 0, 24, 4), 0),
        Err(BlkError::TooLarge)
    );
}

#[test]
fn no_merging_or_reordering_across_a_flush() {
    let mut d = disk(1 << 20);
    d.submit(bio(Op::Write, 0, 8, 1), 0).unwrap();
    d.submit(Bio::new(Op::Flush, 0, vec![], 2), 0).unwrap();
    assert!(
        matches!(d.submit(bio(Op::Write, 8, 8, 3), 0), Ok(Queued::New(_))),
        "not merged with 1"
    );
    assert_eq!(
        d.submit(bio(Op::Write, 16, 8, 4), 0),
        Ok(Queued::Merged(MergeKind::Back))
    );
    d.set_scheduler("deadline", 0).unwrap();
    let first = d.dispatch(0).unwrap();
    assert_eq!(first.bios[0].tag, 1);
    // The flush waits for write 1 to complete.
    assert!(d.dispatch(0).is_none());
    d.complete(first.id, 1, Ok(()), 1).unwrap();
    let flush = d.dispatch(1).unwrap();
    assert_eq!(flush.op, Op::Flush);
    let last = d.dispatch(1).unwrap();
    assert_eq!((last.sector, last.sectors), (8, 16));
}

#[test]
fn bad_bios_get_typed_errors() {
    let mut d = disk(1000);
    let seg = |offset, len| Segment {
        page: 0,
        offset,
        len,
    };
    let cases = [
        (
            Bio::new(Op::Read, 0, vec![seg(0, 100)], 1),
            BlkError::Unaligned,
        ),
        (
            Bio::new(Op::Read, 0, vec![seg(256, 512)], 1),
            BlkError::Unaligned,
        ),
        (
            Bio::new(Op::Read, 0, vec![seg(3584, 1024)], 1),
            BlkError::Unaligned,
        ),
        (
            Bio::new(Op::Read, 0, vec![seg(0, 0)], 1),
            BlkError::Unaligned,
        ),
        (Bio::new(Op::Read, 0, vec![], 1), BlkError::EmptyBio),
        (
            Bio::new(Op::Flush, 0, vec![seg(0, 512)], 1),
            BlkError::EmptyBio,
        ),
        (
            Bio::new(Op::Write, 0, vec![seg(0, 512); 129], 1),
            BlkError::TooManySegments,
        ),
        (bio(Op::Read, 996, 8, 1), BlkError::OutOfRange),
        (bio(Op::Read, u64::MAX - 2, 8, 1), BlkError::OutOfRange),
    ];
    for (b, want) in cases {
        assert_eq!(d.submit(b, 0), Err(want));
    }
    assert_eq!(
        d.submit_to(1, bio(Op::Read, 0, 8, 1), 0),
        Err(BlkError::NoSuchPartition)
    );
    assert_eq!(d.queued(), 0, "refused bios leave no trace");
    assert!(
        d.submit(bio(Op::Read, 992, 8, 1), 0).is_ok(),
        "the last 8 sectors"
    );
}

#[test]
fn queue_depth_and_nr_requests_are_bounded() {
    let limits = QueueLimits {
        nr_requests: 4,
        queue_depth: 2,
        ..QueueLimits::default()
    };
    let mut d = Disk::new("vda", 253, 0, 1 << 20, limits);
    for i in 0..4 {
        d.submit(bio(Op::Read, i * 100, 8, i), 0).unwrap();
    }
    assert_eq!(
        d.submit(bio(Op::Read, 900, 8, 9), 0),
        Err(BlkError::QueueFull)
    );
    // Merging still works when full.
    assert!(d.submit(bio(Op::Read, 8, 8, 10), 0).is_ok());
    assert!(d.dispatch(0).is_some() && d.dispatch(0).is_some());
    assert!(d.dispatch(0).is_none(), "queue depth 2");
    assert_eq!(d.in_flight(), 2);
}

#[test]
fn scheduler_attribute_switches_at_run_time() {
    let mut d = disk(1 << 20);
    assert_eq!(d.scheduler_attr(), "[noop] deadline\n");
    d.submit(bio(Op::Write, 900, 8, 1), 0).unwrap();
    d.submit(bio(Op::Read, 500, 8, 2), 0).unwrap();
    d.set_scheduler("deadline\n", 0).unwrap();
    assert_eq!(d.scheduler_attr(), "noop [deadline]\n");
    assert_eq!(d.set_scheduler("cfq", 0), Err(BlkError::UnknownScheduler));
    assert_eq!(d.scheduler_attr(), "noop [deadline]\n");
    // The queued requests moved over: deadline serves the read first.
    let (served, done, _) = run(&mut d, 0, 1, vec![]);
    let tags: Vec<u64> = served.iter().map(|s| s.tags[0]).collect();
    assert_eq!(tags, [2, 1]);
    assert_eq!(done.len(), 2);
}

#[test]
fn diskstats_and_partition_stats() {
    let mut d = disk(4096);
    let parts = [blk::part::Partition {
        number: 1,
        start: 2048,
        sectors: 2048,
        kind: blk::part::PartKind::Mbr {
            system_id: 0x83,
            bootable: false,
        },
    }];
    d.set_partitions(&parts).unwrap();
    d.submit_to(1, bio(Op::Read, 0, 8, 1), 0).unwrap();
    d.submit_to(1, bio(Op::Read, 8, 8, 2), 0).unwrap();
    assert_eq!(
        d.submit_to(1, bio(Op::Read, 2044, 8, 3), 0),
        Err(BlkError::OutOfRange)
    );
    let rq = d.dispatch(0).unwrap();
    assert_eq!(rq.sector, 2048, "remapped to the disk");
    d.complete(rq.id, 1, Ok(()), 4).unwrap();
    assert_eq!(
        d.diskstats(),
        " 253       0 vda 1 1 16 4 0 0 0 0 0 4 4 0 0 0 0 0 0\n \
         253       1 vda1 1 1 16 4 0 0 0 0 0 4 4 0 0 0 0 0 0\n"
    );
    assert_eq!(d.part_stat(1).unwrap(), d.stat());
    assert_eq!(d.partitions(), [("vda1".to_string(), 2048, 2048)]);
    let too_big = [blk::part::Partition {
        start: 4000,
        ..parts[0].clone()
    }];
    assert_eq!(d.set_partitions(&too_big), Err(BlkError::OutOfRange));
}

#[test]
fn removed_device_fails_everything_once() {
    let mut d = disk(1 << 20);
    d.submit(bio(Op::Read, 0, 8, 1), 0).unwrap();
    d.submit(bio(Op::Read, 100, 8, 2), 0).unwrap();
    let rq = d.dispatch(0).unwrap();
    let gone = d.remove(1);
    let mut tags: Vec<u64> = gone.iter().map(|c| c.tag).collect();
    tags.sort();
    assert_eq!(tags, [1, 2]);
    assert!(gone
        .iter()
        .all(|c| c.result == Err(BlkError::DeviceRemoved)));
    assert_eq!(
        d.submit(bio(Op::Read, 0, 8, 3), 2),
        Err(BlkError::DeviceRemoved)
    );
    assert_eq!(
        d.complete(rq.id, 1, Ok(()), 2),
        Err(BlkError::UnknownRequest)
    );
    assert!(d.dispatch(2).is_none());
}
