//! The server's request logic: decode-step errors, slots, merging of
//! adjacent transfers into one device request, completions per bio, and
//! the stat counters the protocol reports.

use blk::service::{limits, Lent, Service};
use blk::transfer::SLOTS;
use blk::{Disk, Op};
use libsys::proto::blk::{BlkError, Reply};

fn service() -> Service {
    let mut s = Service::new();
    s.add(Disk::new("vda", 254, 0, 2048, limits(4)));
    s.add(Disk::new("ram0", 1, 0, 64, limits(16)));
    s
}

const READ_WINDOW: Option<Lent> = Some(Lent {
    writable: true,
    len: 65536,
});
const WRITE_WINDOW: Option<Lent> = Some(Lent {
    writable: false,
    len: 65536,
});

#[test]
fn a_write_then_a_read_complete_once_each_and_free_their_slots() {
    let mut s = service();
    let w = s.begin("vda", Op::Write, 10, 8, WRITE_WINDOW).unwrap();
    assert_eq!((w.dev, w.bytes, w.slot), (0, 4096, Some(0)));
    s.submit(w.tag, 10, 0).unwrap();
    let rqs = s.dispatch(1);
    assert_eq!(rqs.len(), 1);
    let (dev, rq) = &rqs[0];
    assert_eq!((*dev, rq.sector, rq.sectors, rq.op), (0, 10, 8, Op::Write));
    let done = s.complete(0, rq.id, Ok(()), 2);
    assert_eq!(done.len(), 1);
    assert_eq!((done[0].begun.tag, done[0].result), (w.tag, Ok(())));
    // A second completion of the same request gives nothing.
    assert!(s.complete(0, rq.id, Ok(()), 3).is_empty());
    s.release(&done[0]);
    assert_eq!((s.slots_in_use(), s.pending()), (0, 0));

    let r = s.begin("vda", Op::Read, 10, 8, READ_WINDOW).unwrap();
    s.submit(r.tag, 10, 4).unwrap();
    let (_, rq) = s.dispatch(5).pop().unwrap();
    let done = s.complete(0, rq.id, Err(1), 6);
    assert_eq!(done[0].result, Err(BlkError::Io(1)));
    match s.stat("vda") {
        Reply::Stat(st) => {
            assert_eq!((st.write_ios, st.write_sectors), (1, 8));
            assert_eq!((st.read_ios, st.in_flight), (1, 0));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn bad_requests_get_typed_errors_and_hold_nothing() {
    let mut s = service();
    let e =
        |s: &mut Service, dev, op, sector, count, lent| s.begin(dev, op, sector, count, lent).err();
    assert_eq!(
        e(&mut s, "vdb", Op::Read, 0, 1, READ_WINDOW),
        Some(BlkError::NoSuchDevice)
    );
    assert_eq!(
        e(&mut s, "vda", Op::Read, 0, 0, READ_WINDOW),
        Some(BlkError::BadCount)
    );
    assert_eq!(
        e(&mut s, "vda", Op::Read, 0, 129, READ_WINDOW),
        Some(BlkError::BadCount)
    );
    assert_eq!(
        e(&mut s, "vda", Op::Read, 2047, 2, READ_WINDOW),
        Some(BlkError::OutOfRange)
    );
    assert_eq!(
        e(&mut s, "vda", Op::Read, u64::MAX, 1, READ_WINDOW),
        Some(BlkError::OutOfRange)
    );
    assert_eq!(
        e(&mut s, "vda", Op::Read, 0, 1, None),
        Some(BlkError::NoWindow)
    );
    // A read needs a window the server may write, a write one it may read.
    assert_eq!(
        e(&mut s, "vda", Op::Read, 0, 1, WRITE_WINDOW),
        Some(BlkError::NoWindow)
    );
    assert_eq!(
        e(&mut s, "vda", Op::Write, 0, 1, READ_WINDOW),
        Some(BlkError::NoWindow)
    );
    let short = Some(Lent {
        writable: true,
        len: 511,
    });
    assert_eq!(
        e(&mut s, "vda", Op::Read, 0, 1, short),
        Some(BlkError::NoWindow)
    );
    assert_eq!((s.slots_in_use(), s.pending()), (0, 0));
    assert_eq!(s.info("nope"), Reply::Error(BlkError::NoSuchDevice));
}

#[test]
fn slots_run_out_as_busy_and_an_abort_gives_one_back() {
    let mut s = service();
    let begun: Vec<_> = (0..SLOTS)
        .map(|i| {
            s.begin("ram0", Op::Write, i as u64, 1, WRITE_WINDOW)
                .unwrap()
        })
        .collect();
    assert_eq!(
        s.begin("ram0", Op::Write, 0, 1, WRITE_WINDOW),
        Err(BlkError::Busy)
    );
    // A flush needs no slot.
    assert!(s.begin("ram0", Op::Flush, 0, 0, None).is_ok());
    s.abort(begun[3].tag);
    assert!(s.begin("ram0", Op::Write, 0, 1, WRITE_WINDOW).is_ok());
}

#[test]
fn adjacent_writes_merge_into_one_request_with_a_completion_each() {
    let mut s = service();
    let a = s.begin("vda", Op::Write, 100, 4, WRITE_WINDOW).unwrap();
    let b = s.begin("vda", Op::Write, 104, 4, WRITE_WINDOW).unwrap();
    s.submit(a.tag, 100, 0).unwrap();
    s.submit(b.tag, 104, 0).unwrap();
    let rqs = s.dispatch(1);
    assert_eq!(rqs.len(), 1);
    let rq = &rqs[0].1;
    assert_eq!((rq.sector, rq.sectors, rq.bios.len()), (100, 8, 2));
    let done = s.complete(0, rq.id, Ok(()), 2);
    let tags: Vec<u64> = done.iter().map(|f| f.begun.tag).collect();
    assert_eq!(tags, [a.tag, b.tag]);
    match s.stat("vda") {
        Reply::Stat(st) => assert_eq!((st.write_ios, st.write_merges), (1, 1)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_scheduler_switches_and_names_are_listed() {
    let mut s = service();
    assert_eq!(
        s.scheduler("vda", None, 0),
        Reply::Text("[noop] deadline".try_into().unwrap())
    );
    assert_eq!(
        s.scheduler("vda", Some("deadline"), 0),
        Reply::Text("noop [deadline]".try_into().unwrap())
    );
    assert_eq!(
        s.scheduler("vda", Some("cfq"), 0),
        Reply::Error(BlkError::UnknownScheduler)
    );
    match s.list(0) {
        Reply::Names { names, total } => {
            assert_eq!(total, 2);
            assert_eq!(names[1].as_str(), "ram0");
        }
        other => panic!("{other:?}"),
    }
}

/// The binary's path through a driver's death: the requests it held stay
/// begun (slots and data kept), nothing goes to the dead driver, and the
/// restarted instance gets them first, in order, each finishing once.
#[test]
fn a_dead_drivers_requests_go_to_its_restarted_instance_once() {
    let mut s = service();
    let a = s.begin("vda", Op::Write, 100, 8, WRITE_WINDOW).unwrap();
    s.submit(a.tag, 100, 0).unwrap();
    let b = s.begin("vda", Op::Read, 500, 8, READ_WINDOW).unwrap();
    s.submit(b.tag, 500, 0).unwrap();
    let first = s.dispatch(1);
    assert_eq!(first.len(), 2);
    // One more waits in the queue behind them.
    let c = s.begin("vda", Op::Read, 900, 8, READ_WINDOW).unwrap();
    s.submit(c.tag, 900, 2).unwrap();

    assert!(s.driver_died(0, 3).is_empty());
    assert_eq!((s.pending(), s.slots_in_use()), (3, 3));
    // Nothing for a dead driver; a completion it sent late is refused.
    assert!(s.dispatch(4).is_empty());
    assert!(s.complete(0, first[0].1.id, Ok(()), 4).is_empty());

    s.driver_restarted(0);
    let again = s.dispatch(5);
    let sectors: Vec<u64> = again.iter().map(|(_, rq)| rq.sector).collect();
    assert_eq!(sectors, [100, 500, 900]);
    // Same requests (ids, segments: the same pool pages) as before, one
    // retry counted.
    assert_eq!((again[0].1.id, again[0].1.retries), (first[0].1.id, 1));
    assert_eq!(again[0].1.bios, first[0].1.bios);
    assert_eq!(again[1].1.bios, first[1].1.bios);
    assert_eq!(again[2].1.retries, 0);
    let mut tags = Vec::new();
    for (dev, rq) in &again {
        for f in s.complete(*dev, rq.id, Ok(()), 6) {
            assert_eq!(f.result, Ok(()));
            tags.push(f.begun.tag);
            s.release(&f);
        }
    }
    assert_eq!(tags, [a.tag, b.tag, c.tag]);
    assert_eq!((s.pending(), s.slots_in_use()), (0, 0));
    match s.stat("vda") {
        Reply::Stat(st) => assert_eq!((st.read_ios, st.write_ios, st.in_flight), (2, 1, 0)),
        other => panic!("{other:?}"),
    }
}

/// A request that kills every instance it reaches fails (EIO) after the
/// retries, and its slot can be released; the others are unaffected.
#[test]
fn a_request_outliving_its_retries_finishes_with_an_error() {
    let mut s = service();
    let a = s.begin("vda", Op::Read, 0, 8, READ_WINDOW).unwrap();
    s.submit(a.tag, 0, 0).unwrap();
    let mut failed = Vec::new();
    for now in 0..10 {
        if s.dispatch(now).is_empty() {
            break;
        }
        failed.extend(s.driver_died(0, now));
        s.driver_restarted(0);
    }
    assert_eq!(failed.len(), 1);
    assert_eq!(
        (failed[0].begun.tag, failed[0].result),
        (a.tag, Err(BlkError::Io(-5)))
    );
    s.release(&failed[0]);
    assert_eq!((s.pending(), s.slots_in_use()), (0, 0));
    // The device still works for the next one.
    let b = s.begin("vda", Op::Read, 8, 8, READ_WINDOW).unwrap();
    s.submit(b.tag, 8, 20).unwrap();
    let (_, rq) = s.dispatch(21).pop().unwrap();
    assert_eq!(s.complete(0, rq.id, Ok(()), 22).len(), 1);
}

fn parts() -> Vec<blk::part::Partition> {
    let part = |number, start, sectors| blk::part::Partition {
        number,
        start,
        sectors,
        kind: blk::part::PartKind::Mbr {
            system_id: 0x83,
            bootable: false,
        },
    };
    vec![part(1, 100, 200), part(2, 300, 100), part(5, 1000, 48)]
}

#[test]
fn partitions_are_devices_with_remapped_sectors_and_bounds() {
    let mut s = service();
    s.set_partitions(0, &parts()).unwrap();
    match s.list(0) {
        Reply::Names { names, total } => {
            let names: Vec<&str> = names.iter().map(|n| n.as_str()).collect();
            assert_eq!(names, ["vda", "vda1", "vda2", "vda5", "ram0"]);
            assert_eq!(total, 5);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(s.resolve("vda5"), Some((0, 5)));
    assert_eq!(s.resolve("vda3"), None);
    match s.info("vda5") {
        Reply::Info(i) => assert_eq!(i.sectors, 48),
        other => panic!("{other:?}"),
    }
    // Sector 10 of vda1 is sector 110 of the disk.
    let r = s.begin("vda1", Op::Read, 10, 8, READ_WINDOW).unwrap();
    assert_eq!((r.dev, r.part), (0, 1));
    s.submit(r.tag, 10, 0).unwrap();
    let (_, rq) = s.dispatch(1).pop().unwrap();
    assert_eq!((rq.sector, rq.part), (110, 1));
    let done = s.complete(0, rq.id, Ok(()), 2);
    s.release(&done[0]);
    // The partition's last sectors, and one past its end.
    assert!(s
        .begin("vda5", Op::Read, 40, 8, READ_WINDOW)
        .is_ok_and(|b| {
            s.abort(b.tag);
            true
        }));
    assert_eq!(
        s.begin("vda5", Op::Read, 41, 8, READ_WINDOW),
        Err(BlkError::OutOfRange)
    );
    assert_eq!(
        s.begin("vda2", Op::Write, 100, 1, WRITE_WINDOW),
        Err(BlkError::OutOfRange)
    );
    // Per-partition counters, and the disk's.
    match (s.stat("vda1"), s.stat("vda2"), s.stat("vda")) {
        (Reply::Stat(p1), Reply::Stat(p2), Reply::Stat(d)) => {
            assert_eq!((p1.read_ios, p1.read_sectors), (1, 8));
            assert_eq!(p2.read_ios, 0);
            assert_eq!(d.read_ios, 1);
        }
        other => panic!("{other:?}"),
    }
    assert!(s
        .disk(0)
        .unwrap()
        .diskstats()
        .contains(" 254       1 vda1 1 0 8 "));
}

#[test]
fn nodes_name_the_disk_and_its_partitions_with_linux_numbers() {
    let mut s = Service::new();
    s.add(Disk::new("vda", 254, 0, 2048, limits(4)));
    s.add(Disk::new("vdb", 254, 16, 2048, limits(4)));
    s.add(Disk::new("ram0", 1, 0, 2048, limits(4)).with_minors(1));
    let mut many = parts();
    many.push(blk::part::Partition {
        number: 17,
        ..many[0].clone()
    });
    many.retain(|p| p.number != 1);
    s.set_partitions(1, &many).unwrap();
    s.set_partitions(2, &parts()[..1]).unwrap();
    let show = |nodes: Vec<blk::service::Node>| -> Vec<String> {
        nodes
            .iter()
            .map(|n| {
                format!(
                    "{} {}:{} {} {}",
                    n.name,
                    n.devt.0,
                    n.devt.1,
                    n.devtype,
                    n.parent.as_deref().unwrap_or("-")
                )
            })
            .collect()
    };
    assert_eq!(
        show(s.nodes(0, Some("0000:00:04.0"))),
        ["vda 254:0 disk 0000:00:04.0"]
    );
    assert_eq!(
        show(s.nodes(1, Some("0000:00:05.0"))),
        [
            "vdb 254:16 disk 0000:00:05.0",
            "vdb2 254:18 partition vdb",
            "vdb5 254:21 partition vdb",
            "vdb17 259:273 partition vdb",
        ]
    );
    assert_eq!(
        show(s.nodes(2, None)),
        ["ram0 1:0 disk -", "ram0p1 259:513 partition ram0"]
    );
}

#[test]
fn a_table_is_not_replaced_under_pending_partition_transfers() {
    let mut s = service();
    s.set_partitions(0, &parts()).unwrap();
    let r = s.begin("vda1", Op::Read, 0, 1, READ_WINDOW).unwrap();
    assert_eq!(s.set_partitions(0, &[]), Err(blk::BlkError::QueueFull));
    s.abort(r.tag);
    s.set_partitions(0, &[]).unwrap();
    assert_eq!(s.resolve("vda1"), None);
    assert!(matches!(
        s.info("vda1"),
        Reply::Error(BlkError::NoSuchDevice)
    ));
}
